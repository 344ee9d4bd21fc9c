"""Review pages: HR's cycles, rubrics, metrics and matrix; raters' reviews; reports;
community activities. Handlers are thin: form, one service, render or redirect."""
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from core.department import today
from core.forms import ActionForm
from core.models import Role
from core.services import roster
from core.web import (
    ImportPages,
    actor,
    button,
    choice_arg,
    flag_arg,
    form_status,
    handle,
    int_arg,
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
    if request.method == "POST" and not sheet.editable:
        flash("This review can no longer be changed.", "danger")
        return redirect(url_for("reviews.mine"))
    final = bool(form.submit_review.data)

    def save():
        scores = {c.id: int(getattr(form, f"c{c.id}").data) if getattr(form, f"c{c.id}").data else None
                  for c in criteria}
        reviews.save(actor(), assignment_id, scores, form.comment.data, submit=final)
    return handle(form, save, field=form.comment, success="Review submitted. Thank you." if final else "Draft saved.",
                  redirect_to=url_for("reviews.mine") if final else url_for("reviews.review",
                                                                             assignment_id=assignment_id)) \
        or (render_template("reviews/review.html", sheet=sheet, form=form), form_status())


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
    return handle(form, lambda: cycles.create_cycle(
        actor(), name=form.name.data, rubric_id=form.rubric_id.data, opens_on=form.opens_on.data,
        closes_on=form.closes_on.data, all_units=form.scope.data == "all", unit_ids=form.unit_ids.data or [],
        peers=form.peers.data, threshold=form.threshold.data, anonymous_peers=form.anonymous_peers.data),
        field=form.name, success="Cycle created. Generate its assignments next.",
        redirect_to=lambda cycle: url_for("reviews.cycle_detail", cycle_id=cycle.id)) \
        or (render_template("reviews/cycle_new.html", form=form), form_status())


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
    return handle(form, lambda: rubrics.create_rubric(actor(), form.name.data, form.description.data,
                                                      form.copy_from.data or None),
                  field=form.name, success="Rubric created.",
                  redirect_to=lambda rubric: url_for("reviews.rubric_detail", rubric_id=rubric.id)) \
        or (render_template("reviews/rubrics.html", lines=rubrics.list_rubrics(actor()), form=form), form_status())


@bp.route("/rubrics/<int:rubric_id>", methods=["GET", "POST"])
@roles_required(Role.HR)
def rubric_detail(rubric_id):
    rubric = rubrics.get_rubric(actor(), rubric_id)
    form = CriterionForm()
    return handle(form, lambda: rubrics.add_criterion(actor(), rubric_id, **form.values()), field=form.text,
                  success="Criterion added.", redirect_to=url_for("reviews.rubric_detail", rubric_id=rubric_id)) \
        or (render_template("reviews/rubric.html", rubric=rubric, sections=rubrics.competencies(rubric),
                            frozen=rubrics.is_frozen(rubric_id), form=form, labels=GROUP_LABELS), form_status())


@bp.route("/criteria/<int:criterion_id>", methods=["GET", "POST"])
@roles_required(Role.HR)
def criterion_edit(criterion_id):
    criterion = rubrics.get_criterion(actor(), criterion_id)
    form = CriterionForm(obj=criterion)
    return handle(form, lambda: rubrics.update_criterion(actor(), criterion_id, **form.values()), field=form.text,
                  success="Criterion saved.",
                  redirect_to=url_for("reviews.rubric_detail", rubric_id=criterion.rubric_id)) \
        or (render_template("reviews/criterion.html", criterion=criterion, form=form,
                            frozen=rubrics.is_frozen(criterion.rubric_id)), form_status())


@bp.post("/criteria/<int:criterion_id>/delete")
@roles_required(Role.HR)
def criterion_delete(criterion_id):
    rubric_id = rubrics.get_criterion(actor(), criterion_id).rubric_id
    button(lambda: rubrics.delete_criterion(actor(), criterion_id), "Criterion deleted.")
    return redirect(url_for("reviews.rubric_detail", rubric_id=rubric_id))


# --- HR: community metrics -----------------------------------------------------------------------

METRICS_IMPORT = ImportPages(kind="metrics", form=MetricsImportForm, template="reviews/metrics.html",
                             heading="Metrics import", summary="reviews/metrics_summary.html",
                             done_heading="The metrics were imported:",
                             confirmed="Confirmed: the metrics are being imported.",
                             done_endpoint="reviews.metrics_import", done_label="Back to community metrics",
                             context=lambda: {"periods": metrics.periods(actor())})
METRICS_IMPORT.add_routes(bp, upload="/metrics", job="/metrics/imports/<int:import_id>",
                          endpoints=("metrics_import", "metrics_job", "metrics_status", "metrics_confirm"))


# --- officers: community activities -------------------------------------------------------------

@bp.route("/activities", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def activities():
    form = ActivityForm()
    return handle(form, lambda: metrics.log_activity(actor(), day=form.day.data, kind=form.kind.data,
                                                     hours=form.hours.data, note=form.note.data),
                  field=form.day, success="Activity logged; your supervisor will verify it.",
                  redirect_to=url_for("reviews.activities")) \
        or (render_template("reviews/activities.html", form=form, page=metrics.my_activities(actor(), page_number()),
                            to_verify=metrics.to_verify(actor()), labels=ACTIVITY_LABELS,
                            action_form=ActionForm()), form_status())


@bp.post("/activities/<int:activity_id>/<any(verify, reject):decision>")
@roles_required(Role.OFFICER)
def activity_decide(activity_id, decision):
    button(lambda: metrics.decide(actor(), activity_id, decision == "verify"),
           "Activity verified." if decision == "verify" else "Activity rejected.")
    return redirect(url_for("reviews.activities"))
