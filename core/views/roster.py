"""HR's roster: browse by unit, an officer's chain of command, import, accounts."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from core.forms import ActionForm, RosterConfirmForm, RosterImportForm
from core.models import OfficerStatus, Role
from core.services import roster
from core.web import actor, bounded_int, import_confirmed, import_upload, page_number, roles_required

bp = Blueprint("roster", __name__, url_prefix="/roster")
PER_PAGE = 50


@bp.get("/")
@roles_required(Role.HR, Role.ADMIN)
def index():
    q = request.args.get("q", "").strip()
    unit_id = bounded_int(request.args.get("unit"))
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in OfficerStatus]):
        status = None
    page = roster.list_officers(actor(), q=q, unit_id=unit_id, status=status, page=page_number(), per_page=PER_PAGE)
    return render_template("roster/index.html", page=page,
                           q=q, unit_id=unit_id, status=status, units=roster.units(),
                           statuses=list(OfficerStatus), action_form=ActionForm())


@bp.get("/<int:officer_id>")
@roles_required(Role.HR, Role.ADMIN)
def officer(officer_id):
    officer = roster.get_officer(actor(), officer_id)
    return render_template("roster/officer.html", officer=officer,
                           chain=roster.chain_of_command(officer), reports=roster.direct_reports(officer),
                           account=roster.account_for(officer), action_form=ActionForm())


def _import(raw, filename, dry_run):
    return roster.import_roster(actor(), raw, dry_run=dry_run, filename=filename)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.HR)
def import_file():
    form = RosterImportForm()
    if form.validate_on_submit():
        return import_upload(form, _import, RosterConfirmForm, "roster/import_result.html", "roster.csv")
    return render_template("roster/import.html", form=form)


@bp.post("/import/confirm")
@roles_required(Role.HR)
def import_confirm():
    return import_confirmed(RosterConfirmForm(), _import, "roster/import_result.html", "roster.csv",
                            "roster.import_file")


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
    target = request.form.get("back")
    if target and target.isdigit():
        return redirect(url_for("roster.officer", officer_id=int(target)))
    return redirect(url_for("roster.index"))
