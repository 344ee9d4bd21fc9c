"""HR's roster: browse by unit, an officer's chain of command, import, accounts."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from core import clock
from core.csvsafe import cell
from core.db import db
from core.forms import ActionForm, RosterImportForm
from core.models import OfficerStatus, Role
from core.services import accounts, audit_log, roster
from core.views.admin import csv_response
from core.web import ImportPages, actor, bounded_int, choice_arg, int_arg, page_number, roles_required, search_arg

bp = Blueprint("roster", __name__, url_prefix="/roster")
PER_PAGE = 50


def _filters() -> dict:
    """The roster's search, filters and order from the address, checked; the page and
    its CSV read them the same way."""
    return {"q": search_arg("q"), "unit_id": int_arg("unit"),
            "status": choice_arg("status", [s.value for s in OfficerStatus]),
            "sort": choice_arg("sort", roster.SORTS), "descending": request.args.get("dir") == "desc"}


@bp.get("/")
@roles_required(Role.HR, Role.ADMIN)
def index():
    f = _filters()
    page = roster.list_officers(actor(), **f, page=page_number(), per_page=PER_PAGE)
    return render_template("roster/index.html", page=page,
                           q=f["q"], unit_id=f["unit_id"], status=f["status"], units=roster.units(),
                           statuses=list(OfficerStatus), action_form=ActionForm(),
                           sort=f["sort"] or "unit", descending=f["descending"],
                           download=url_for("roster.export", **{k: v for k, v in (
                               ("q", f["q"]), ("unit", f["unit_id"]), ("status", f["status"]), ("sort", f["sort"]),
                               ("dir", "desc" if f["descending"] else None)) if v}))


# The roster import's columns, so that the file can be edited and imported back. Nothing health-related.
CSV_HEADER = ["badge_number", "first_name", "last_name", "email", "unit", "rank", "supervisor_badge", "hire_date",
              "status"]


@bp.get("/export.csv")
@roles_required(Role.HR, Role.ADMIN)
def export():
    """The roster page's officers (same search and filters, every page) as CSV in the import's format."""
    f = _filters()
    me = actor()
    me.require(Role.HR, Role.ADMIN)
    asked = [f"{name} {f[key]}" for name, key in (("search", "q"), ("unit", "unit_id"), ("status", "status"))
             if f[key]]
    audit_log.read(me, "roster.exported", detail="CSV of " + (", ".join(asked) or "the whole roster"))
    query = roster.officers_query(**f).execution_options(yield_per=1000)

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


def counted(n: int, noun: str) -> str:
    """ "1 account", "12 accounts", "1,204 accounts"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@bp.get("/accounts")
@roles_required(Role.HR, Role.ADMIN)
def create_accounts_confirm():
    """The confirmation step of "Create accounts for all officers without one": who gets
    an account and an invitation, who is skipped and why. Changes nothing."""
    forecast = accounts.officer_accounts_forecast(actor())
    listed = [f"{o.badge_number} {o.full_name} — {o.email}" for o in forecast.to_create]
    skipped = [f"{o.badge_number} {o.full_name}: {o.email} is already another account's email"
               for o in forecast.to_skip]
    consequences = [f"Creates {counted(forecast.create, 'officer account')} and sends "
                    f"{counted(forecast.create, 'invitation')} by email: each link lets the officer choose a "
                    "password."]
    if forecast.taken:
        consequences.append(f"Skips {counted(forecast.taken, 'officer')} whose email another account already "
                            "uses (correct the roster or that account first).")
    if forecast.separated:
        consequences.append(f"Leaves out {counted(forecast.separated, 'separated officer')}: a separated "
                            "officer cannot have an account.")
    consequences.append("Officers who already have an account are not changed.")
    lists = [dict(id="accounts-to-create", heading=f"Who gets an account ({forecast.create:,})", items=listed,
                  more=forecast.create - len(listed))] if listed else []
    if skipped:
        lists.append(dict(id="accounts-skipped", heading=f"Skipped ({forecast.taken:,})", items=skipped,
                          more=forecast.taken - len(skipped)))
    return render_template(
        "confirm.html", title="Create accounts for all officers without one?", consequences=consequences,
        lists=lists, form=ActionForm(), action=url_for("roster.create_accounts"),
        hidden={"expected": forecast.create},
        confirm_label=f"Create {counted(forecast.create, 'account')} and send the invitations",
        confirm_style="primary",
        refusal=None if forecast.create else "Every officer who can have an account has one: there is nothing to do.",
        back_url=url_for("roster.index"), back_label="Back to the roster")


@bp.post("/accounts")
@roles_required(Role.HR, Role.ADMIN)
def create_accounts():
    """Creates the accounts: the chosen officers' (`officer_id`, the officer page's
    button) or all officers' without one, after the confirmation step. When the
    confirmation's count (`expected`) no longer matches the roster, nothing is done
    and the confirmation is shown again with the new numbers."""
    form = ActionForm()
    if form.validate_on_submit():
        ids = [i for i in map(bounded_int, request.form.getlist("officer_id")) if i is not None] or None
        expected = bounded_int(request.form.get("expected"))
        if ids is None and expected is not None \
                and accounts.officer_accounts_forecast(actor(), shown=0).create != expected:
            flash("The roster has changed since this page was shown: check the new numbers and confirm again.",
                  "warning")
            return redirect(url_for("roster.create_accounts_confirm"))
        report = roster.create_officer_accounts(actor(), ids)
        flash(f"{len(report.created)} account(s) created and invited.", "success")
        for line in report.skipped[:20]:
            flash(f"Skipped {line}.", "warning")
    officer_id = bounded_int(request.form.get("back"))  # the officer page it came from, if any
    if officer_id is not None:
        return redirect(url_for("roster.officer", officer_id=officer_id))
    return redirect(url_for("roster.index"))
