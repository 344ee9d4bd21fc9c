"""HR's roster: browse by unit, an officer's chain of command, import, accounts."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from core import clock
from core.csvsafe import cell
from core.db import db
from core.forms import ActionForm, RosterImportForm
from core.models import OfficerStatus, Role
from core.services import audit_log, roster
from core.views.admin import csv_response
from core.web import ImportPages, actor, bounded_int, choice_arg, int_arg, page_number, roles_required, search_arg

bp = Blueprint("roster", __name__, url_prefix="/roster")
PER_PAGE = 50


@bp.get("/")
@roles_required(Role.HR, Role.ADMIN)
def index():
    q = search_arg("q")
    unit_id = int_arg("unit")
    status = choice_arg("status", [s.value for s in OfficerStatus])
    page = roster.list_officers(actor(), q=q, unit_id=unit_id, status=status, page=page_number(), per_page=PER_PAGE)
    return render_template("roster/index.html", page=page,
                           q=q, unit_id=unit_id, status=status, units=roster.units(),
                           statuses=list(OfficerStatus), action_form=ActionForm(),
                           download=url_for("roster.export", **{k: v for k, v in (("q", q), ("unit", unit_id),
                                                                                    ("status", status)) if v}))


# The roster import's columns, so that the file can be edited and imported back. Nothing health-related.
CSV_HEADER = ["badge_number", "first_name", "last_name", "email", "unit", "rank", "supervisor_badge", "hire_date",
              "status"]


@bp.get("/export.csv")
@roles_required(Role.HR, Role.ADMIN)
def export():
    """The roster page's officers (same search and filters, every page) as CSV in the import's format."""
    q = search_arg("q")
    unit_id = int_arg("unit")
    status = choice_arg("status", [s.value for s in OfficerStatus])
    me = actor()
    me.require(Role.HR, Role.ADMIN)
    asked = [f"{name} {value}" for name, value in (("search", q), ("unit", unit_id), ("status", status)) if value]
    audit_log.read(me, "roster.exported", detail="CSV of " + (", ".join(asked) or "the whole roster"))
    query = roster.officers_query(q=q, unit_id=unit_id, status=status).execution_options(yield_per=1000)

    def rows():
        for officer, _name, supervisor_badge, _account in db.session.execute(query):
            yield [cell(officer.badge_number), cell(officer.first_name), cell(officer.last_name), cell(officer.email),
                   cell(officer.unit.name), cell(officer.rank), cell(supervisor_badge or ""),
                   officer.hire_date.isoformat(), officer.status.value]
    return csv_response(CSV_HEADER, rows(), f"beacon-roster-{clock.now():%Y-%m-%d}.csv")


@bp.get("/<int:officer_id>")
@roles_required(Role.HR, Role.ADMIN)
def officer(officer_id):
    officer = roster.get_officer(actor(), officer_id)
    audit_log.read(actor(), "roster.officer_viewed", target=f"badge {officer.badge_number}")
    return render_template("roster/officer.html", officer=officer,
                           chain=roster.chain_of_command(officer), reports=roster.direct_reports(officer),
                           account=roster.account_for(officer), action_form=ActionForm())


IMPORT = ImportPages(kind="roster", form=RosterImportForm, template="roster/import.html",
                     heading="Roster import", summary="roster/import_summary.html",
                     done_heading="The roster was imported:", confirmed="Confirmed: the roster is being imported.",
                     done_endpoint="roster.index", done_label="Go to the roster")
IMPORT.add_routes(bp, upload="/import", job="/import/<int:job_id>",
                  endpoints=("import_file", "import_job", "import_status", "import_confirm"))


@bp.post("/accounts")
@roles_required(Role.HR, Role.ADMIN)
def create_accounts():
    form = ActionForm()
    if form.validate_on_submit():
        ids = [i for i in map(bounded_int, request.form.getlist("officer_id")) if i is not None] or None
        report = roster.create_officer_accounts(actor(), ids)
        flash(f"{len(report.created)} account(s) created and invited.", "success")
        for line in report.skipped[:20]:
            flash(f"Skipped {line}.", "warning")
    officer_id = bounded_int(request.form.get("back"))  # the officer page it came from, if any
    if officer_id is not None:
        return redirect(url_for("roster.officer", officer_id=officer_id))
    return redirect(url_for("roster.index"))
