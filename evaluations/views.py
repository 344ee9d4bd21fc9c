"""Review pages: HR's cycles, rubrics, metrics and matrix; raters' reviews; reports;
community activities. Handlers are thin: form, one service, render or redirect."""
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from core.department import today
from core.errors import DomainError
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
    CloseCycleForm,
    CorrectResultsForm,
    MetricsPeriodForm,
    CriterionForm,
    CycleForm,
    CycleSettingsForm,
    DeclineNominationForm,
    PickOfficerForm,
    MetricsImportForm,
    RubricForm,
    ResponseForm,
    review_form,
)
from evaluations.models import ACTIVITY_LABELS, GROUP_LABELS, CycleStatus
from evaluations.services import (cycles, looked, metrics, nominations, pools, reports, responses, results, reviews,
                                  rubrics)

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


# --- raters -------------------------------------------------------------------------------------

@bp.get("/looked")
@roles_required(Role.OFFICER)
def looked_at_me():
    """Who has opened my 360 report (the signed-in officer's own; no id in the address)."""
    return render_template("reviews/looked.html", seen=looked.mine(actor(), page=page_number()))


@bp.get("/")
@roles_required(Role.OFFICER)
def mine():
    return render_template("reviews/mine.html", assignments=reviews.my_assignments(actor()),
                           reports=reports.readable_reports(actor()), upward=reports.upward_cycles(actor()),
                           labels=GROUP_LABELS, standing=responses.awaiting(actor()),
                           nominating=nominations.cycles_for(actor()))


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
    report = reports.subject_report(actor(), cycle_id, officer_id, version=int_arg("version"))
    return _report_page(report)


def _report_page(report, response_form=None):
    """The report with its subject's acknowledgement and response (for the subject: the
    button and the form)."""
    standing = responses.for_report(report.cycle.id, report.subject.id)
    return render_template("reviews/report.html", report=report, labels=GROUP_LABELS,
                           metric_lines=pdf.METRIC_LINES, hide_nav=flag_arg("print"), standing=standing,
                           action_form=ActionForm(), response_form=response_form or ResponseForm(
                               data={"response": standing.response}))


def _my_report_url(cycle_id):
    me = current_user.officer_id
    return url_for("reviews.subject_report", cycle_id=cycle_id, officer_id=me) if me else url_for("reviews.mine")


@bp.post("/cycles/<int:cycle_id>/my-report/acknowledge")
@roles_required(Role.OFFICER)
def report_acknowledge(cycle_id):
    button(lambda: responses.acknowledge(actor(), cycle_id),
           "Recorded: you have read this report. Acknowledging does not mean you agree with it.")
    return redirect(_my_report_url(cycle_id))


@bp.post("/cycles/<int:cycle_id>/my-report/response")
@roles_required(Role.OFFICER)
def report_respond(cycle_id):
    form = ResponseForm()
    return handle(form, lambda: responses.respond(actor(), cycle_id, form.response.data), field=form.response,
                  success=lambda row: "Your response is saved with your report." if row.response
                  else "Your response is withdrawn.", redirect_to=_my_report_url(cycle_id)) \
        or (_report_page(reports.subject_report(actor(), cycle_id, current_user.officer_id or 0), form),
            form_status())


@bp.get("/cycles/<int:cycle_id>/acknowledgements")
@roles_required(Role.HR)
def acknowledgements(cycle_id):
    q, state = search_arg("q"), choice_arg("state", responses.STATES)
    result = responses.acknowledgements(actor(), cycle_id, q=q, state=state, page=page_number())
    return render_template("reviews/acknowledgements.html", a=result, q=q, state=state, states=responses.STATES)


@bp.get("/cycles/<int:cycle_id>/subjects/<int:officer_id>.pdf")
@roles_required(Role.OFFICER, Role.HR)
def subject_report_pdf(cycle_id, officer_id):
    report = reports.subject_report(actor(), cycle_id, officer_id, fmt="pdf", version=int_arg("version"))
    report.standing = responses.for_report(cycle_id, officer_id)
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
    unit, rank_title = search_arg("unit") or None, search_arg("rank") or None
    result = reports.matrix(actor(), cycle_id, unit=unit, rank_title=rank_title, page=page_number(),
                            version=int_arg("version"))
    return render_template("reviews/matrix.html", m=result, unit=unit, rank_title=rank_title,
                           version_period=results.version_period,
                           correct_form=CorrectResultsForm(), action_form=ActionForm())


@bp.get("/cycles/<int:cycle_id>/matrix.csv")
@roles_required(Role.HR)
def matrix_csv(cycle_id):
    text = reports.matrix_csv(actor(), cycle_id, unit=search_arg("unit") or None,
                              rank_title=search_arg("rank") or None, version=int_arg("version"))
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
        peers=form.peers.data, threshold=form.threshold.data, anonymous_peers=form.anonymous_peers.data,
        nominations=form.nominations.data,
        supervisor_share=25 if form.supervisor_share.data is None else form.supervisor_share.data),
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
    published = cycle.status == CycleStatus.PUBLISHED
    if published:
        results.current(cycle)   # a cycle published before results were kept gets its version 1
    return render_template("reviews/cycle.html", cycle=cycle, page=page, progress=cycles.progress(cycle_id),
                           settings=settings, add_form=AssignmentForm(), labels=GROUP_LABELS,
                           action_form=ActionForm(), statuses=CycleStatus, today=today(),
                           nominations=nominations.for_cycle(actor(), cycle_id), decline_form=DeclineNominationForm(),
                           period_form=_period_form(MetricsPeriodForm, cycle),
                           correct_form=_period_form(CorrectResultsForm, cycle),
                           small=pools.under_threshold(cycle) if cycle.status == CycleStatus.OPEN else [],
                           pooled=pools.pooled_units(cycle.id),
                           versions=results.versions(cycle.id) if published else [],
                           version_period=results.version_period,
                           acknowledged=responses.counts(actor(), cycle_id) if published else None)


@bp.post("/cycles/<int:cycle_id>/settings")
@roles_required(Role.HR)
def cycle_settings(cycle_id):
    form = CycleSettingsForm()
    submit(form, lambda: cycles.update_cycle(actor(), cycle_id, opens_on=form.opens_on.data,
                                             closes_on=form.closes_on.data, threshold=form.threshold.data),
           "Cycle settings saved.")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


@bp.route("/cycles/<int:cycle_id>/generate", methods=["GET", "POST"])
@roles_required(Role.HR)
def cycle_generate(cycle_id):
    """GET: the confirmation step of regenerating a draft cycle's assignments (a dry
    run: what is removed and what is made, in counts); POST: generate them."""
    back = url_for("reviews.cycle_detail", cycle_id=cycle_id)
    if request.method == "POST":
        button(lambda: cycles.generate(actor(), cycle_id), "Assignments generated from the roster.")
        return redirect(back)
    cycle = cycles.cycle_for_hr(actor(), cycle_id)
    if cycle.status != CycleStatus.DRAFT:
        flash("Assignments can change only while the cycle is a draft.", "danger")
        return redirect(back)
    f = cycles.generate_forecast(actor(), cycle_id)

    def groups(counts):
        return ", ".join(f"{label.lower()} {counts[g]:,}" for g, label in GROUP_LABELS.items() if counts[g])
    consequences = [
        f"Removes all {f.removed_total:,} current assignment{'s' if f.removed_total != 1 else ''}"
        + (f" ({groups(f.removed)})" if f.removed_total else "") + ".",
        f"Makes {f.added_total:,} new assignment{'s' if f.added_total != 1 else ''} from the roster for "
        f"{f.subjects:,} officer{'s' if f.subjects != 1 else ''}" + (f" ({groups(f.added)})" if f.added_total else "")
        + "." + (" Peers are drawn at random again, so the peers named may differ from today's."
                 if f.added["peer"] else ""),
        (f"{f.by_hand:,} assignment{'s' if f.by_hand != 1 else ''} added or swapped in by hand "
         f"{'are' if f.by_hand != 1 else 'is'} lost: add {'them' if f.by_hand != 1 else 'it'} again afterwards."
         if f.by_hand else "No assignment was added or swapped in by hand: nothing made by hand is lost."),
        (f"{f.started:,} review{'s' if f.started != 1 else ''} already started or sent would be lost."
         if f.started else "No review has been started (the cycle is a draft): no review is lost."),
    ]
    return render_template(
        "confirm.html", title=f"Regenerate the assignments of {cycle.name}?", consequences=consequences,
        form=ActionForm(), action=url_for("reviews.cycle_generate", cycle_id=cycle_id),
        confirm_label=f"Replace {f.removed_total:,} assignment{'s' if f.removed_total != 1 else ''} with "
                      f"{f.added_total:,}", confirm_style="warning",
        back_url=back, back_label="Keep these assignments")


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


@bp.route("/cycles/<int:cycle_id>/assignments/<int:assignment_id>/swap", methods=["GET", "POST"])
@roles_required(Role.HR)
def assignment_swap(cycle_id, assignment_id):
    """HR chooses another eligible peer in place of one (the list holds only eligible
    officers; the service checks again)."""
    form = PickOfficerForm()
    if request.method == "POST":
        if submit(form, lambda: cycles.swap_peer(actor(), cycle_id, assignment_id, form.officer_id.data),
                  "Peer swapped."):
            return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))
        return redirect(url_for("reviews.assignment_swap", cycle_id=cycle_id, assignment_id=assignment_id))
    q = search_arg("q")
    try:
        assignment, candidates = cycles.swap_choices(actor(), cycle_id, assignment_id, q)
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))
    return render_template("reviews/swap.html", assignment=assignment, candidates=candidates, q=q,
                           action_form=ActionForm())


@bp.post("/cycles/<int:cycle_id>/nominations/<int:nomination_id>/approve")
@roles_required(Role.HR)
def nomination_approve(cycle_id, nomination_id):
    if ActionForm().validate_on_submit():
        try:
            flash(nominations.approve(actor(), cycle_id, nomination_id), "success")   # says whom it replaced
        except DomainError as exc:
            flash(str(exc), "danger")
    else:
        flash("The form could not be accepted; reload the page and try again.", "danger")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id) + "#nominations")


@bp.post("/cycles/<int:cycle_id>/nominations/<int:nomination_id>/decline")
@roles_required(Role.HR)
def nomination_decline(cycle_id, nomination_id):
    form = DeclineNominationForm()
    submit(form, lambda: nominations.decline(actor(), cycle_id, nomination_id, form.reason.data),
           "The nomination is declined; the officer sees it on their reviews page.")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id) + "#nominations")


@bp.route("/cycles/<int:cycle_id>/nominations", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def my_nominations(cycle_id):
    """An officer the cycle reviews nominates peers for themselves."""
    if request.method == "POST":
        nominations.my_cycle(actor(), cycle_id)   # 404 before anything for a cycle that is not theirs
        form = PickOfficerForm()
        submit(form, lambda: nominations.nominate(actor(), cycle_id, form.officer_id.data),
               "Nomination sent to HR, who will approve or decline it.")
        return redirect(url_for("reviews.my_nominations", cycle_id=cycle_id))
    q = search_arg("q")
    return render_template("reviews/nominations.html", mine=nominations.my_page(actor(), cycle_id, q), q=q,
                           action_form=ActionForm())


@bp.post("/cycles/<int:cycle_id>/nominations/<int:nomination_id>/withdraw")
@roles_required(Role.OFFICER)
def nomination_withdraw(cycle_id, nomination_id):
    button(lambda: nominations.withdraw(actor(), cycle_id, nomination_id), "Nomination withdrawn.")
    return redirect(url_for("reviews.my_nominations", cycle_id=cycle_id))


@bp.post("/cycles/<int:cycle_id>/<any(open, publish):step>")
@roles_required(Role.HR)
def cycle_move(cycle_id, step):
    done = {"open": "The cycle is open: raters can start.",
            "publish": "The cycle is published: its results are fixed and subjects can read their reports."}[step]
    button(lambda: cycles.move(actor(), cycle_id, step), done)
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


def _period_form(form_class, cycle):
    form = form_class()
    form.period.choices = [SelectChoice(v, label) for v, label in results.period_choices()]
    if request.method == "GET" and cycle.metrics_chosen:
        form.period.data = results.period_value(cycle.metrics_start, cycle.metrics_end)
    return form


@bp.route("/cycles/<int:cycle_id>/close", methods=["GET", "POST"])
@roles_required(Role.HR)
def cycle_close(cycle_id):
    """A confirmation step: what closing now does (released, pooled, deleted, in counts),
    the anonymous groups still under the threshold, and the metrics period to use."""
    cycle = cycles.cycle_for_hr(actor(), cycle_id)
    form = _period_form(CloseCycleForm, cycle)
    closed = handle(form, lambda: cycles.move(actor(), cycle_id, "close", period=form.period.data),
                    field=form.period, redirect_to=url_for("reviews.cycle_detail", cycle_id=cycle_id),
                    success=lambda c: f"The cycle is closed: {c.pooled_count} upward review(s) pooled into unit "
                                      f"results, {c.discarded_count} deleted unread (too few to show, even pooled).")
    if closed:
        return closed
    if cycle.status != CycleStatus.OPEN:
        flash("Only an open cycle can be closed.", "danger")
        return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))
    return render_template("reviews/cycle_close.html", cycle=cycle, form=form, forecast=pools.forecast(cycle),
                           small=pools.under_threshold(cycle), labels=GROUP_LABELS), form_status()


@bp.post("/cycles/<int:cycle_id>/metrics-period")
@roles_required(Role.HR)
def cycle_metrics_period(cycle_id):
    cycle = cycles.cycle_for_hr(actor(), cycle_id)
    form = _period_form(MetricsPeriodForm, cycle)
    submit(form, lambda: cycles.set_metrics_period(actor(), cycle_id, form.period.data),
           "The cycle's community-metrics period is saved.")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id))


@bp.post("/cycles/<int:cycle_id>/results/correct")
@roles_required(Role.HR)
def results_correct(cycle_id):
    cycle = cycles.cycle_for_hr(actor(), cycle_id)
    form = _period_form(CorrectResultsForm, cycle)
    submit(form, lambda: results.correct(actor(), cycle_id, form.reason.data, form.period.data),
           "A corrected version of the results is made; every report now shows it, with your reason.")
    return redirect(url_for("reviews.cycle_detail", cycle_id=cycle_id) + "#results")


@bp.get("/cycles/<int:cycle_id>/units/<int:unit_id>/upward")
@roles_required(Role.OFFICER, Role.HR)
def unit_pool(cycle_id, unit_id):
    return render_template("reviews/unit_pool.html", pool=pools.unit_pool(actor(), cycle_id, unit_id))


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
