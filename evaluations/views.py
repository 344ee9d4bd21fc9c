"""Review pages: HR's cycles, rubrics, metrics and matrix; raters' reviews; reports;
community activities. Handlers are thin: form, one service, render or redirect."""
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from core.errors import DomainError
from core.forms import ActionForm
from core.models import Role
from core.services import imports, roster
from core.web import (
    actor,
    button,
    choice_arg,
    deny,
    flag_arg,
    import_status,
    import_submit,
    int_arg,
    large_upload,
    page_number,
    roles_required,
    safe_next,
    search_arg,
    submit,
)
from evaluations import pdf
from evaluations.forms import (
    ActivityForm,
    AssignmentForm,
    CriterionForm,
    CycleForm,
    CycleSettingsForm,
    MetricsImportForm,
    RubricForm,
    review_form,
)
from evaluations.models import ACTIVITY_LABELS, GROUP_LABELS, CycleStatus
from evaluations.services import cycles, metrics, reports, reviews, rubrics
from evaluations.services.common import today

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


# --- raters -------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(Role.OFFICER)
def mine():
    return render_template("reviews/mine.html", assignments=reviews.my_assignments(actor()),
                           reports=reports.readable_reports(actor()), upward=reports.upward_cycles(actor()),
                           labels=GROUP_LABELS)


@bp.route("/assignments/<int:assignment_id>", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def review(assignment_id):
    sheet = reviews.sheet(actor(), assignment_id)
    criteria = [c for _, items in sheet.sections for c in items]
    form = review_form(criteria, data=None if request.method == "POST" else
                       {f"c{cid}": str(score) for cid, score in sheet.scores.items()} | {"comment": sheet.comment})
    if request.method == "POST" and sheet.editable and form.validate_on_submit():
        scores = {c.id: int(getattr(form, f"c{c.id}").data) if getattr(form, f"c{c.id}").data else None
                  for c in criteria}
        final = bool(form.submit_review.data)
        try:
            reviews.save(actor(), assignment_id, scores, form.comment.data, submit=final)
        except DomainError as exc:
            form.comment.errors = [*form.comment.errors, str(exc)]
        else:
            flash("Review submitted. Thank you." if final else "Draft saved.", "success")
            return redirect(url_for("reviews.mine") if final else url_for("reviews.review", assignment_id=assignment_id))
    elif request.method == "POST" and not sheet.editable:
        flash("This review can no longer be changed.", "danger")
        return redirect(url_for("reviews.mine"))
    status = 422 if request.method == "POST" else 200
    return render_template("reviews/review.html", sheet=sheet, form=form), status


# --- reports ------------------------------------------------------------------------------------

@bp.get("/cycles/<int:cycle_id>/subjects/<int:officer_id>")
@roles_required(Role.OFFICER, Role.HR)
def subject_report(cycle_id, officer_id):
    report = reports.subject_report(actor(), cycle_id, officer_id)
    return render_template("reviews/report.html", report=report, labels=GROUP_LABELS,
                           metric_lines=pdf.METRIC_LINES, hide_nav=flag_arg("print"))


@bp.get("/cycles/<int:cycle_id>/subjects/<int:officer_id>.pdf")
@roles_required(Role.OFFICER, Role.HR)
def subject_report_pdf(cycle_id, officer_id):
    report = reports.subject_report(actor(), cycle_id, officer_id, fmt="pdf")
    return Response(pdf.subject_report_pdf(report), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="review-{cycle_id}-{report.subject.badge_number}.pdf"'})


@bp.get("/cycles/<int:cycle_id>/upward")
@roles_required(Role.OFFICER)
def my_upward(cycle_id):
    return render_template("reviews/upward.html", report=reports.upward_report(actor(), cycle_id))


@bp.get("/cycles/<int:cycle_id>/upward/<int:officer_id>")
@roles_required(Role.HR)
def upward(cycle_id, officer_id):
    return render_template("reviews/upward.html", report=reports.upward_report(actor(), cycle_id, officer_id))


@bp.get("/cycles/<int:cycle_id>/matrix")
@roles_required(Role.HR)
def matrix(cycle_id):
    unit_id, rank_title = int_arg("unit"), search_arg("rank") or None
    result = reports.matrix(actor(), cycle_id, unit_id=unit_id, rank_title=rank_title, page=page_number())
    return render_template("reviews/matrix.html", m=result, unit_id=unit_id, rank_title=rank_title)


@bp.get("/cycles/<int:cycle_id>/matrix.csv")
@roles_required(Role.HR)
def matrix_csv(cycle_id):
    text = reports.matrix_csv(actor(), cycle_id, unit_id=int_arg("unit"), rank_title=search_arg("rank") or None)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="beacon-matrix-{cycle_id}.csv"'})


# --- HR: cycles -----------------------------------------------------------------------------

@bp.get("/cycles")
@roles_required(Role.HR)
def cycle_list():
    return render_template("reviews/cycles.html", lines=cycles.list_cycles(actor()))


@bp.route("/cycles/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def cycle_new():
    form = CycleForm()
    form.rubric_id.choices = [SelectChoice(i, n) for i, n in rubrics.choices()]
    form.unit_ids.choices = [SelectChoice(u.id, u.name) for u in roster.units()]
    if request.method == "GET":
        form.peers.data, form.threshold.data = cycles.defaults()
    if form.validate_on_submit():
        try:
            cycle = cycles.create_cycle(actor(), name=form.name.data, rubric_id=form.rubric_id.data,
                                        opens_on=form.opens_on.data, closes_on=form.closes_on.data,
                                        all_units=form.scope.data == "all", unit_ids=form.unit_ids.data or [],
                                        peers=form.peers.data, threshold=form.threshold.data,
                                        anonymous_peers=form.anonymous_peers.data)
        except DomainError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash("Cycle created. Generate its assignments next.", "success")
            return redirect(url_for("reviews.cycle_detail", cycle_id=cycle.id))
    return render_template("reviews/cycle_new.html", form=form), 422 if form.errors else 200


@bp.get("/cycles/<int:cycle_id>")
@roles_required(Role.HR)
def cycle_detail(cycle_id):
    cycle = cycles.cycle_for_hr(actor(), cycle_id)
    group = choice_arg("group", GROUP_LABELS)
    page = cycles.assignments_page(actor(), cycle_id, q=search_arg("q"), group=group, page=page_number())
    settings = CycleSettingsForm(obj=cycle)
    return render_template("reviews/cycle.html", cycle=cycle, page=page, progress=cycles.progress(cycle_id),
                           settings=settings, add_form=AssignmentForm(), labels=GROUP_LABELS,
                           action_form=ActionForm(), statuses=CycleStatus, today=today())


@bp.post("/cycles/<int:cycle_id>/settings")
@roles_required(Role.HR)
def cycle_settings(cycle_id):
    form = CycleSettingsForm()
    submit(form, lambda: cycles.update_cycle(actor(), cycle_id, opens_on=form.opens_on.data,
                                             closes_on=form.closes_on.data, threshold=form.threshold.data),
           "Cycle settings saved.")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


@bp.post("/cycles/<int:cycle_id>/generate")
@roles_required(Role.HR)
def cycle_generate(cycle_id):
    button(lambda: cycles.generate(actor(), cycle_id), "Assignments generated from the roster.")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


@bp.post("/cycles/<int:cycle_id>/assignments")
@roles_required(Role.HR)
def assignment_add(cycle_id):
    form = AssignmentForm()
    submit(form, lambda: cycles.add_assignment(actor(), cycle_id, form.subject_badge.data, form.rater_badge.data,
                                               form.group.data), "Assignment added.")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


@bp.post("/cycles/<int:cycle_id>/assignments/<int:assignment_id>/delete")
@roles_required(Role.HR)
def assignment_remove(cycle_id, assignment_id):
    button(lambda: cycles.remove_assignment(actor(), cycle_id, assignment_id), "Assignment removed.")
    return redirect(safe_next(request.form.get("back"), prefix="/reviews/",
                              default=url_for("reviews.cycle_detail", cycle_id=cycle_id)))


@bp.post("/cycles/<int:cycle_id>/<any(open, close, publish):step>")
@roles_required(Role.HR)
def cycle_move(cycle_id, step):
    done = {"open": "The cycle is open: raters can start.", "close": "The cycle is closed.",
            "publish": "The cycle is published: subjects can read their reports."}[step]
    button(lambda: cycles.move(actor(), cycle_id, step), done)
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


@bp.post("/cycles/<int:cycle_id>/delete")
@roles_required(Role.HR)
def cycle_delete(cycle_id):
    if button(lambda: cycles.delete_cycle(actor(), cycle_id), "Draft cycle deleted."):
        return redirect(url_for("reviews.cycle_list"))
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


# --- HR: rubrics ----------------------------------------------------------------------------

@bp.route("/rubrics", methods=["GET", "POST"])
@roles_required(Role.HR)
def rubric_list():
    form = RubricForm()
    form.copy_from.choices = [SelectChoice(0, "An empty rubric")] + [SelectChoice(i, f"A copy of {n}")
                                                                       for i, n in rubrics.choices()]
    if form.validate_on_submit():
        try:
            rubric = rubrics.create_rubric(actor(), form.name.data, form.description.data, form.copy_from.data or None)
        except DomainError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash("Rubric created.", "success")
            return redirect(url_for("reviews.rubric_detail", rubric_id=rubric.id))
    return render_template("reviews/rubrics.html", lines=rubrics.list_rubrics(actor()), form=form), \
        422 if form.errors else 200


@bp.route("/rubrics/<int:rubric_id>", methods=["GET", "POST"])
@roles_required(Role.HR)
def rubric_detail(rubric_id):
    rubric = rubrics.get_rubric(actor(), rubric_id)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            rubrics.add_criterion(actor(), rubric_id, **form.values())
        except DomainError as exc:
            form.text.errors = [*form.text.errors, str(exc)]
        else:
            flash("Criterion added.", "success")
            return redirect(url_for("reviews.rubric_detail", rubric_id=rubric_id))
    return render_template("reviews/rubric.html", rubric=rubric, sections=rubrics.competencies(rubric),
                           frozen=rubrics.is_frozen(rubric_id), form=form, labels=GROUP_LABELS), \
        422 if form.errors else 200


@bp.route("/criteria/<int:criterion_id>", methods=["GET", "POST"])
@roles_required(Role.HR)
def criterion_edit(criterion_id):
    criterion = rubrics.get_criterion(actor(), criterion_id)
    form = CriterionForm(obj=criterion)
    if form.validate_on_submit():
        try:
            rubrics.update_criterion(actor(), criterion_id, **form.values())
        except DomainError as exc:
            form.text.errors = [*form.text.errors, str(exc)]
        else:
            flash("Criterion saved.", "success")
            return redirect(url_for("reviews.rubric_detail", rubric_id=criterion.rubric_id))
    return render_template("reviews/criterion.html", criterion=criterion, form=form,
                           frozen=rubrics.is_frozen(criterion.rubric_id)), 422 if form.errors else 200


@bp.post("/criteria/<int:criterion_id>/delete")
@roles_required(Role.HR)
def criterion_delete(criterion_id):
    rubric_id = rubrics.get_criterion(actor(), criterion_id).rubric_id
    button(lambda: rubrics.delete_criterion(actor(), criterion_id), "Criterion deleted.")
    return redirect(url_for("reviews.rubric_detail", rubric_id=rubric_id))


# --- HR: community metrics -----------------------------------------------------------------------

def _job_url(import_id):
    return url_for("reviews.metrics_job", import_id=import_id)


def _metrics_page(form, status=200):
    return render_template("reviews/metrics.html", form=form, periods=metrics.periods(actor()),
                           jobs=imports.recent(actor(), "metrics"), job_url=_job_url), status


def _too_large(message):
    if not current_user.has_role(Role.HR):
        deny()
    form = MetricsImportForm(formdata=None)
    form.file.errors = [message]
    return _metrics_page(form, 413)


@bp.route("/metrics", methods=["GET", "POST"])
@roles_required(Role.HR)
@large_upload(_too_large)
def metrics_import():
    form = MetricsImportForm()
    if form.validate_on_submit():
        return import_submit(form, "metrics", _job_url, "metrics.csv")
    return _metrics_page(form)


@bp.get("/metrics/imports/<int:import_id>")
@roles_required(Role.HR)
def metrics_job(import_id):
    job = imports.get(actor(), "metrics", import_id)
    return render_template("imports/job.html", job=job, heading="Metrics import",
                           summary="reviews/metrics_summary.html", done_heading="The metrics were imported:",
                           status_url=url_for("reviews.metrics_status", import_id=job.id),
                           confirm_form=ActionForm(), confirm_url=url_for("reviews.metrics_confirm", import_id=job.id),
                           upload_url=url_for("reviews.metrics_import"), done_url=url_for("reviews.metrics_import"),
                           done_label="Back to community metrics")


@bp.get("/metrics/imports/<int:import_id>/status")
@roles_required(Role.HR)
def metrics_status(import_id):
    return import_status(imports.get(actor(), "metrics", import_id))


@bp.post("/metrics/imports/<int:import_id>/confirm")
@roles_required(Role.HR)
def metrics_confirm(import_id):
    button(lambda: imports.confirm(actor(), "metrics", import_id), "Confirmed: the metrics are being imported.")
    return redirect(_job_url(import_id))


# --- officers: community activities -------------------------------------------------------------

@bp.route("/activities", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def activities():
    form = ActivityForm()
    if form.validate_on_submit():
        try:
            metrics.log_activity(actor(), day=form.day.data, kind=form.kind.data, hours=form.hours.data,
                                 note=form.note.data)
        except DomainError as exc:
            form.day.errors = [*form.day.errors, str(exc)]
        else:
            flash("Activity logged; your supervisor will verify it.", "success")
            return redirect(url_for("reviews.activities"))
    return render_template("reviews/activities.html", form=form, page=metrics.my_activities(actor(), page_number()),
                           to_verify=metrics.to_verify(actor()), labels=ACTIVITY_LABELS,
                           action_form=ActionForm()), 422 if form.errors else 200


@bp.post("/activities/<int:activity_id>/<any(verify, reject):decision>")
@roles_required(Role.OFFICER)
def activity_decide(activity_id, decision):
    button(lambda: metrics.decide(actor(), activity_id, decision == "verify"),
           "Activity verified." if decision == "verify" else "Activity rejected.")
    return redirect(url_for("reviews.activities"))
