"""HR's roster: browse by unit, an officer's chain of command, import, accounts."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from flask_login import current_user

from core.forms import ActionForm, RosterImportForm
from core.models import OfficerStatus, Role
from core.services import imports, roster
from core.web import (
    actor,
    bounded_int,
    button,
    choice_arg,
    deny,
    import_submit,
    int_arg,
    large_upload,
    page_number,
    roles_required,
    search_arg,
)
from core.web import import_status as import_job_status

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
                           statuses=list(OfficerStatus), action_form=ActionForm())


@bp.get("/<int:officer_id>")
@roles_required(Role.HR, Role.ADMIN)
def officer(officer_id):
    officer = roster.get_officer(actor(), officer_id)
    return render_template("roster/officer.html", officer=officer,
                           chain=roster.chain_of_command(officer), reports=roster.direct_reports(officer),
                           account=roster.account_for(officer), action_form=ActionForm())


def _job_url(job_id):
    return url_for("roster.import_job", job_id=job_id)


def _import_page(form, status=200):
    return render_template("roster/import.html", form=form, jobs=imports.recent(actor(), "roster"),
                           job_url=_job_url), status


def _too_large(message):
    if not current_user.has_role(Role.HR):
        deny()
    form = RosterImportForm(formdata=None)
    form.file.errors = [message]
    return _import_page(form, 413)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.HR)
@large_upload(_too_large)
def import_file():
    form = RosterImportForm()
    if form.validate_on_submit():
        return import_submit(form, "roster", _job_url, "roster.csv")
    return _import_page(form)


@bp.get("/import/<int:job_id>")
@roles_required(Role.HR)
def import_job(job_id):
    job = imports.get(actor(), "roster", job_id)
    return render_template("imports/job.html", job=job, heading="Roster import",
                           summary="roster/import_summary.html", done_heading="The roster was imported:",
                           status_url=url_for("roster.import_status", job_id=job.id),
                           confirm_form=ActionForm(), confirm_url=url_for("roster.import_confirm", job_id=job.id),
                           upload_url=url_for("roster.import_file"), done_url=url_for("roster.index"),
                           done_label="Go to the roster")


@bp.get("/import/<int:job_id>/status")
@roles_required(Role.HR)
def import_status(job_id):
    return import_job_status(imports.get(actor(), "roster", job_id))


@bp.post("/import/<int:job_id>/confirm")
@roles_required(Role.HR)
def import_confirm(job_id):
    button(lambda: imports.confirm(actor(), "roster", job_id), "Confirmed: the roster is being imported.")
    return redirect(url_for("roster.import_job", job_id=job_id))


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
