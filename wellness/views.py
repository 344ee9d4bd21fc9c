"""Wellness pages: HR's dashboard, incidents and clinicians; booking; the officer's
own page; the clinician's appointments. Handlers are thin: form, one service, redirect."""
from datetime import date, datetime, timezone
from itertools import groupby

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from core import clock
from core.errors import DomainError
from core.forms import ActionForm
from core.models import Role
from core.services import outbox, roster
from core.views.admin import audit_csv, audit_page
from core.web import (
    FieldError,
    actor,
    bounded_int,
    button,
    button_back,
    choice_arg,
    flag_arg,
    form_status,
    handle,
    int_arg,
    page_number,
    roles_required,
    search_arg,
    submit,
)
from wellness.forms import (
    BlockForm,
    ClinicianForm,
    DeclineForm,
    HoursForm,
    IncidentAffectedForm,
    IncidentEditForm,
    IncidentForm,
    IncidentTypeForm,
    IncidentWithdrawForm,
    KeepForm,
    SlotForm,
)
from wellness.services import appointments, attention, clinicians, evaluations, incidents, looked, private_address
from wellness.services.common import linked_clinician, settings

bp = Blueprint("wellness", __name__, url_prefix="/wellness")


def _when(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise DomainError("Choose one of the listed times.") from None


@bp.app_template_filter("slots_by_day")
def _slots_by_day(slots):
    zone = settings().zone
    return [(day, list(items)) for day, items in groupby(slots, key=lambda s: s[0].astimezone(zone).date())]


# The one vocabulary of evaluation and appointment states (wellness.services.evaluations).
@bp.app_template_filter("state_label")
def _state_label(state):
    return evaluations.state_label(state)


@bp.app_template_filter("appointment_label")
def _appointment_label(status):
    return evaluations.appointment_label(status)


# --- HR: dashboard, records ------------------------------------------------------------

def _dashboard_list_args() -> dict:
    """The list's search and order, as the page and its CSV read them (an unknown sort
    key is the default order)."""
    return dict(q=search_arg("q"), sort=choice_arg("sort", evaluations.SORTS),
                descending=request.args.get("dir") == "desc")


@bp.get("/")
@roles_required(Role.HR)
def dashboard():
    state = choice_arg("state", evaluations.STATES)
    unit_id = int_arg("unit")
    board = evaluations.dashboard(actor(), unit_id=unit_id, state=state, page=page_number(),
                                  all_units=flag_arg("all_units"), **_dashboard_list_args())
    return render_template("wellness/dashboard.html", board=board, labels=evaluations.STATE_LABELS,
                           states=evaluations.STATES, basic_states=evaluations.BASIC_STATES,
                           attention_states=evaluations.ATTENTION_STATES,
                           incidents=incidents.list_incidents(actor(), limit=10),
                           expiring=clinicians.expiring_licenses(),
                           self_referrals=appointments.self_referral_months(actor()))


@bp.get("/dashboard.csv")
@roles_required(Role.HR)
def dashboard_csv():
    text = evaluations.dashboard_csv(actor(), unit_id=int_arg("unit"), state=choice_arg("state", evaluations.STATES),
                                     **_dashboard_list_args())
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="beacon-wellness.csv"'})


@bp.get("/officers/<int:officer_id>")
@roles_required(Role.HR)
def officer_record(officer_id):
    result = evaluations.officer_record(actor(), officer_id)
    return render_template("wellness/record.html", record=result, action_form=ActionForm(), hr_view=True,
                           undo=_undoable(result))


def _undoable(record) -> dict:
    """Appointment id -> until when the signed-in person may undo their cancellation of it."""
    me = actor()
    found = {a.id: appointments.undo_until(me, a) for a in (record.appointments if record else [])
             if a.status.value == "cancelled"}
    return {k: v for k, v in found.items() if v}


@bp.get("/audit")
@roles_required(Role.HR)
def audit():
    return audit_page(True, "Wellness audit log",
                      "Who booked, viewed or changed wellness records, incidents and clinicians.")


@bp.get("/audit.csv")
@roles_required(Role.HR)
def audit_download():
    return audit_csv(True, "wellness-audit-log")


# --- HR: the Needs attention list ------------------------------------------------------------

@bp.get("/attention")
@roles_required(Role.HR)
def attention_list():
    kind = choice_arg("kind", tuple(attention.KINDS))
    page = attention.list_open(actor(), kind=kind, page=page_number())
    return render_template("wellness/attention.html", page=page, kind=kind, kinds=attention.KINDS,
                           counts=attention.counts_by_kind(), keep_form=KeepForm())


@bp.post("/attention/<int:item_id>/keep")
@roles_required(Role.HR)
def attention_keep(item_id):
    form = KeepForm()
    submit(form, lambda: attention.keep(actor(), item_id, form.note.data), "Kept as it is; removed from the list.")
    officer_id = bounded_int(request.form.get("officer"))  # kept from the officer's record: back there
    return redirect(url_for("wellness.officer_record", officer_id=officer_id) if officer_id
                    else url_for("wellness.attention_list"))


# --- HR: incidents -------------------------------------------------------------------------

@bp.get("/incidents")
@roles_required(Role.HR)
def incident_list():
    return render_template("wellness/incidents.html", lines=incidents.list_incidents(actor()),
                           types=incidents.types(active_only=False), type_form=IncidentTypeForm())


@bp.post("/incident-types")
@roles_required(Role.HR)
def incident_type_add():
    form = IncidentTypeForm()
    submit(form, lambda: incidents.add_type(actor(), form.name.data, form.window_days.data), "Incident type added.")
    return redirect(url_for("wellness.incident_list"))


def _officers_by_badge(field) -> list[int]:
    """The officers named by badge numbers (separated by commas or spaces) in `field`;
    any not on the roster are refused beside it."""
    officer_ids, unknown = roster.officer_ids_by_badge((field.data or "").replace(",", " ").split())
    if unknown:
        raise FieldError(field, "Not on the roster: " + ", ".join(unknown))
    return officer_ids


@bp.route("/incidents/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def incident_new():
    form = IncidentForm()
    form.type_id.choices = [SelectChoice(t.id, f"{t.name} (within {t.window_days} days)") for t in incidents.types()]
    units = roster.units()
    form.unit_ids.choices = [SelectChoice(u.id, u.name) for u in units]

    def record():
        officer_ids = _officers_by_badge(form.badges)
        return incidents.record_incident(actor(), type_id=form.type_id.data, occurred_on=form.occurred_on.data,
                                         description=form.description.data, officer_ids=officer_ids,
                                         unit_ids=form.unit_ids.data or [])
    return handle(form, record, field=form.description,
                  success=lambda result: f"Incident recorded: {result.created} evaluation(s) opened, "
                                         f"{result.joined} existing one(s) brought forward.",
                  redirect_to=lambda result: url_for("wellness.incident_detail", incident_id=result.incident.id)) \
        or (render_template("wellness/incident_new.html", form=form), form_status())


@bp.get("/incidents/<int:incident_id>")
@roles_required(Role.HR)
def incident_detail(incident_id):
    incident, units, lines = incidents.view_incident(actor(), incident_id)
    return render_template("wellness/incident.html", incident=incident, units=units, lines=lines,
                           states=evaluations.states_of((line.evaluation, line.officer) for line in lines),
                           shortfall=incidents.shortfall(incident),
                           withdrawn_by=incidents.withdrawn_by(incident) if incident.withdrawn_at else "")


# Corrections. This section's imports stay here while other sections of the file are
# being changed by others; fold them into the imports at the top when convenient.


def _correctable(incident_id):
    """The incident to correct, or None after flashing why not (it was withdrawn)."""
    try:
        return incidents.incident_for_change(actor(), incident_id)
    except DomainError as exc:
        flash(str(exc), "warning")
        return None


@bp.route("/incidents/<int:incident_id>/edit", methods=["GET", "POST"])
@roles_required(Role.HR)
def incident_edit(incident_id):
    incident = _correctable(incident_id)
    if incident is None:
        return redirect(url_for("wellness.incident_detail", incident_id=incident_id))
    form = IncidentEditForm(obj=incident)
    form.type_id.choices = [SelectChoice(t.id, f"{t.name} (within {t.window_days} days)")
                            for t in incidents.types(active_only=False) if t.active or t.id == incident.type_id]

    def beside(exc):
        message = str(exc).lower()
        return form.occurred_on if "date" in message else form.type_id if "type" in message else form.description
    return handle(form, lambda: incidents.update_incident(actor(), incident_id, type_id=form.type_id.data,
                                                          occurred_on=form.occurred_on.data,
                                                          description=form.description.data),
                  field=beside,
                  success=lambda result: (f"Incident corrected ({'; '.join(result.changes)}); "
                                          f"{result.moved} due date(s) moved.") if result.changes
                  else "Nothing was changed.",
                  redirect_to=url_for("wellness.incident_detail", incident_id=incident_id)) \
        or (render_template("wellness/incident_edit.html", form=form, incident=incident), form_status())


@bp.route("/incidents/<int:incident_id>/affected", methods=["GET", "POST"])
@roles_required(Role.HR)
def incident_add_affected(incident_id):
    incident = _correctable(incident_id)
    if incident is None:
        return redirect(url_for("wellness.incident_detail", incident_id=incident_id))
    form = IncidentAffectedForm()
    form.unit_ids.choices = [SelectChoice(u.id, u.name) for u in roster.units()]

    def add():
        officer_ids = _officers_by_badge(form.badges)
        return incidents.add_affected(actor(), incident_id, officer_ids=officer_ids, unit_ids=form.unit_ids.data or [])
    return handle(form, add, field=lambda exc: form.unit_ids if "unit" in str(exc) else form.badges,
                  success=lambda result: f"{result.added} officer(s) added: {result.created} evaluation(s) opened, "
                                         f"{result.joined} existing one(s) brought forward"
                                         + (f"; {result.skipped} already affected." if result.skipped else "."),
                  redirect_to=url_for("wellness.incident_detail", incident_id=incident_id)) \
        or (render_template("wellness/incident_affected.html", form=form, incident=incident), form_status())


@bp.route("/incidents/<int:incident_id>/withdraw", methods=["GET", "POST"])
@roles_required(Role.HR)
def incident_withdraw(incident_id):
    incident = _correctable(incident_id)
    if incident is None:
        return redirect(url_for("wellness.incident_detail", incident_id=incident_id))
    form = IncidentWithdrawForm()
    return handle(form, lambda: incidents.withdraw_incident(actor(), incident_id, form.reason.data),
                  field=form.reason,
                  success=lambda w: f"Incident withdrawn: {w.restored} due date(s) restored, {w.closed} evaluation(s) "
                                    f"closed, {w.kept} with a booked appointment kept for you to decide.",
                  redirect_to=url_for("wellness.incident_detail", incident_id=incident_id)) \
        or (render_template("wellness/incident_withdraw.html", form=form, incident=incident), form_status())


# --- HR: clinicians ------------------------------------------------------------------------

@bp.get("/clinicians")
@roles_required(Role.HR)
def clinician_list():
    return render_template("wellness/clinicians.html", clinicians=clinicians.list_clinicians(actor()),
                           bookable={c.id for c in clinicians.bookable_clinicians()})


def _clinician_values(form):
    return {name: getattr(form, name).data for name in clinicians.FIELDS}


@bp.route("/clinicians/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def clinician_new():
    form = ClinicianForm()
    return handle(form, lambda: clinicians.create(actor(), **_clinician_values(form)), field=form.name,
                  success="Clinician added. Publish their hours below.",
                  redirect_to=lambda clinician: url_for("wellness.clinician_detail", clinician_id=clinician.id)) \
        or (render_template("wellness/clinician_form.html", form=form, clinician=None), form_status())


@bp.route("/clinicians/<int:clinician_id>", methods=["GET", "POST"])
@roles_required(Role.HR)
def clinician_detail(clinician_id):
    clinician = clinicians.get(actor(), clinician_id)
    form = ClinicianForm(obj=clinician if request.method == "GET" else None)
    if request.method == "GET":
        form.modality.data = clinician.modality.value
    return handle(form, lambda: clinicians.update(actor(), clinician_id, **_clinician_values(form)),
                  field=form.name, success="Saved.",
                  redirect_to=url_for("wellness.clinician_detail", clinician_id=clinician_id)) \
        or (render_template("wellness/clinician_form.html", form=form, clinician=clinician,
                            hours_form=HoursForm(), block_form=BlockForm(), action_form=ActionForm(),
                            blocks=clinicians.blocks(clinician), back="wellness.clinician_detail"), form_status())


@bp.post("/clinicians/<int:clinician_id>/account")
@roles_required(Role.HR)
def clinician_account(clinician_id):
    button(lambda: clinicians.create_account(actor(), clinician_id),
           "Account created. The clinician role waits for an administrator's approval; the invitation is sent then.")
    return redirect(url_for("wellness.clinician_detail", clinician_id=clinician_id))


def _change_hours(clinician, form, do, success):
    """A change to a clinician's hours or blocked dates (by HR or the clinician), then
    back to the page it was made on: the clinician's own hours, or HR's clinician page."""
    back = url_for("wellness.clinic_hours") if request.form.get("back") == "clinic" \
        else url_for("wellness.clinician_detail", clinician_id=clinician.id)
    submit(form, lambda: do(clinician), success)
    return redirect(back)


@bp.post("/clinicians/<int:clinician_id>/hours")
@roles_required(Role.HR, Role.CLINICIAN)
def hours_add(clinician_id):
    form = HoursForm()
    return _change_hours(clinicians.managed(actor(), clinician_id), form, lambda clinician: clinicians.add_hours(
        actor(), clinician, weekdays=[int(d) for d in form.weekdays.data], starts=form.starts.data,
        ends=form.ends.data, slot_minutes=form.slot_minutes.data, valid_from=form.valid_from.data), "Hours published.")


@bp.post("/hours/<int:hours_id>/delete")
@roles_required(Role.HR, Role.CLINICIAN)
def hours_delete(hours_id):
    return _change_hours(clinicians.managed(actor(), hours_id=hours_id), ActionForm(),
                         lambda _: clinicians.remove_hours(actor(), hours_id), "Hours removed.")


@bp.post("/clinicians/<int:clinician_id>/blocks")
@roles_required(Role.HR, Role.CLINICIAN)
def block_add(clinician_id):
    """Block a date. If it has appointments, the page lists them and asks, for each,
    whether to propose the first free time or cancel it; the block is made only then."""
    me = actor()
    clinician = clinicians.managed(me, clinician_id)
    form = BlockForm()
    back = url_for("wellness.clinic_hours") if request.form.get("back") == "clinic" \
        else url_for("wellness.clinician_detail", clinician_id=clinician.id)
    decisions = {bounded_int(key.removeprefix("decision-")): value for key, value in request.form.items()
                 if key.startswith("decision-")}
    try:
        if submit(form, lambda: appointments.block_day(me, clinician, form.day.data, form.note.data or "",
                                                       decisions or None), "Date blocked."):
            return redirect(back)
    except appointments.DayHasAppointments as exc:
        return render_template("wellness/block_confirm.html", clinician=clinician, form=form,
                               appointments=exc.appointments, back=request.form.get("back", ""), decisions=decisions,
                               proposals=appointments.proposals_for(exc.appointments, form.day.data))
    return redirect(back)


@bp.post("/blocks/<int:block_id>/delete")
@roles_required(Role.HR, Role.CLINICIAN)
def block_delete(block_id):
    return _change_hours(clinicians.managed(actor(), block_id=block_id), ActionForm(),
                         lambda _: clinicians.unblock_day(actor(), block_id), "Date unblocked.")


# --- booking (HR, or the officer for their own evaluation) -------------------------------

def _after_booking(me, officer_id) -> str:
    """HR goes back to the officer's record, the officer to their own page."""
    return url_for("wellness.officer_record", officer_id=officer_id) if me.has_role(Role.HR) \
        else url_for("wellness.mine")


def _late_field(form):
    """Where a booking's refusal is shown: beside the reason when it is about booking
    after the due date; flashed otherwise."""
    return lambda exc: form.late_reason if isinstance(exc, appointments.LateBooking) else None


def _picked_day(form):
    """The local day of the slot chosen (in the query, or in the form posted), or the
    day named by `day`, so a page shown again keeps it selected."""
    zone = settings().zone
    for value in (request.args.get("at"), form.starts_at.data):
        if value:
            try:
                return _when(value).astimezone(zone).date()
            except DomainError:
                pass
    try:
        return date.fromisoformat((request.args.get("day") or "")[:10])
    except ValueError:
        return None


def _booking_page(me, evaluation, form, action, appointment=None, problem=None):
    """The slot picker; for a finished appointment or an evaluation that cannot be
    booked, what happened and what can be done next instead."""
    finished = (appointment is not None and not appointment.is_active) or \
        (appointment is None and evaluation.status.value != "open")
    options = None if finished else appointments.booking_options(
        me, evaluation, int_arg("clinician") or bounded_int(form.clinician_id.data), appointment)
    current = appointments.active_for(evaluation) if finished else None
    undo = appointments.undo_until(me, appointment) if finished and appointment is not None else None
    return render_template("wellness/book.html", evaluation=evaluation, options=options, form=form,
                           action=action, appointment=appointment, hr=me.has_role(Role.HR), finished=finished,
                           current=current, undo_until=undo, day=_picked_day(form), problem=problem,
                           back=_after_booking(me, evaluation.officer_id)), form_status()


def _confirm_page(me, evaluation, form, action, appointment=None):
    """The step between picking a slot and booking it: says what will be booked (or
    moved), with whom, when and where; Confirm posts the booking. A slot no longer
    free goes back to the picker with the clinician and the day kept."""
    try:
        choice = appointments.slot_choice(me, evaluation, int_arg("clinician") or bounded_int(form.clinician_id.data),
                                          _when(request.args.get("at") or form.starts_at.data), appointment)
    except DomainError as exc:
        return _booking_page(me, evaluation, form, action, appointment, problem=str(exc))
    if request.method == "GET":
        form.starts_at.data, form.clinician_id.data = choice.starts_at.isoformat(), str(choice.clinician.id)
    day = choice.starts_at.astimezone(settings().zone).date()
    back = url_for("wellness.move", appointment_id=appointment.id, day=day) if appointment else \
        url_for("wellness.book", evaluation_id=evaluation.id, clinician=choice.clinician.id, day=day)
    return render_template("wellness/book_confirm.html", evaluation=evaluation, appointment=appointment,
                           choice=choice, form=form, action=action, back=f"{back}#day-{day.isoformat()}",
                           hr=me.has_role(Role.HR)), form_status()


def _slot_refused_page(me, evaluation, form, action, appointment=None):
    """A booking refused: the confirmation again when only its reason or confirmation
    of a late time was missing, otherwise the picker (clinician and day kept)."""
    if form.late_reason.errors or form.late_confirmed.errors:
        return _confirm_page(me, evaluation, form, action, appointment)
    return _booking_page(me, evaluation, form, action, appointment)


@bp.route("/evaluations/<int:evaluation_id>/book", methods=["GET", "POST"])
@roles_required(Role.HR, Role.OFFICER)
def book(evaluation_id):
    """GET: the clinicians and their free times; with `at` (a slot picked), the
    confirmation of that slot. POST (the confirmation's button): books it."""
    me = actor()
    evaluation = appointments.evaluation_for_booking(me, evaluation_id)
    form = SlotForm()
    action = url_for("wellness.book", evaluation_id=evaluation_id)
    if request.method == "GET" and "at" in request.args:
        return _confirm_page(me, evaluation, form, action)
    response = handle(form, lambda: appointments.book(me, evaluation, bounded_int(form.clinician_id.data) or 0,
                                                      _when(form.starts_at.data), late_reason=form.late_reason.data,
                                                      late_confirmed=form.late_confirmed.data),
                      success="Booked. The officer and the clinician have been sent an invitation.",
                      redirect_to=_after_booking(me, evaluation.officer_id), field=_late_field(form))
    return response or _slot_refused_page(me, evaluation, form, action)


@bp.route("/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@roles_required(Role.HR, Role.OFFICER)
def move(appointment_id):
    """As `book`, for another time of the same appointment (same clinician)."""
    me = actor()
    appointment = appointments.get_movable(me, appointment_id)
    form = SlotForm()
    action = url_for("wellness.move", appointment_id=appointment_id)
    if request.method == "GET" and "at" in request.args:
        return _confirm_page(me, appointment.evaluation, form, action, appointment)
    response = handle(form, lambda: appointments.reschedule(me, appointment, _when(form.starts_at.data),
                                                            late_reason=form.late_reason.data,
                                                            late_confirmed=form.late_confirmed.data),
                      success="Moved. Updated invitations have been sent.",
                      redirect_to=_after_booking(me, appointment.officer_id), field=_late_field(form))
    return response or _slot_refused_page(me, appointment.evaluation, form, action, appointment)


def _officer_or_hr_button(appointment_id, do, success):
    """A button on an appointment that the officer (their own) or HR presses, then back
    to where they came from: the officer's page or the officer's record."""
    me = actor()
    appointment = appointments.get_for_officer_or_hr(me, appointment_id)
    button(lambda: do(me, appointment), success)
    return redirect(_after_booking(me, appointment.officer_id))


@bp.post("/appointments/<int:appointment_id>/accept")
@roles_required(Role.HR, Role.OFFICER)
def accept_proposal(appointment_id):
    return _officer_or_hr_button(appointment_id, appointments.accept_proposal,
                                 "Accepted: the appointment is confirmed at the proposed time.")


@bp.post("/appointments/<int:appointment_id>/refuse")
@roles_required(Role.HR, Role.OFFICER)
def refuse_proposal(appointment_id):
    return _officer_or_hr_button(appointment_id, appointments.refuse_proposal,
                                 "The clinician has been told you cannot make that time. "
                                 "The appointment keeps its time.")


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@roles_required(Role.HR, Role.OFFICER)
def cancel(appointment_id):
    """GET: what cancelling would do, with Confirm and Back. POST: cancels; whoever
    cancelled may undo it for CANCEL_UNDO_MINUTES (the button is on the appointment)."""
    me = actor()
    appointment = appointments.get_for_officer_or_hr(me, appointment_id)
    back = _after_booking(me, appointment.officer_id)
    if request.method == "POST":
        try:  # no undo once the cancel closes the evaluation (every incident behind it withdrawn)
            preview = appointments.cancel_preview(me, appointment)
        except DomainError:
            preview = None  # not cancellable: `cancel` below says why
        minutes = preview.undo_minutes if preview and not preview.closes_evaluation else 0
        button(lambda: appointments.cancel(me, appointment),
               f"Cancelled. {appointment.clinician.name} has been told."
               + (f" Changed your mind? Undo it within {minutes} minutes with the Undo button beside the "
                  "appointment." if minutes else ""))
        return redirect(back)
    try:
        preview = appointments.cancel_preview(me, appointment)
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(back)
    return render_template("wellness/cancel_confirm.html", preview=preview, appointment=appointment,
                           form=ActionForm(), back=back, hr=me.has_role(Role.HR))


@bp.post("/appointments/<int:appointment_id>/undo-cancel")
@roles_required(Role.HR, Role.OFFICER)
def undo_cancel(appointment_id):
    """Whoever cancelled takes the cancellation back, within the undo window."""
    return _officer_or_hr_button(appointment_id, appointments.undo_cancel,
                                 "Cancellation undone: the appointment stands at the same time, and the "
                                 "clinician has been told.")


@bp.get("/appointments/<int:appointment_id>/calendar.ics")
@roles_required(Role.HR, Role.OFFICER, Role.CLINICIAN)
def appointment_calendar(appointment_id):
    """The appointment as a calendar file, titled for whoever downloads it."""
    name, text = appointments.calendar_file(actor(), appointment_id)
    return Response(text, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


# --- the officer's own page ---------------------------------------------------------------

@bp.get("/me")
@roles_required(Role.OFFICER)
def mine():
    record = evaluations.my_record(actor())
    return render_template("wellness/record.html", record=record, action_form=ActionForm(),
                           hr_view=False, undo=_undoable(record))


@bp.get("/self-referral")
@roles_required(Role.OFFICER)
def self_referral():
    """Book a confidential visit on one's own (no id of anyone in the address)."""
    options = appointments.self_referral_options(actor(), int_arg("clinician"))
    return render_template("wellness/self_referral.html", options=options, form=ActionForm())


@bp.post("/self-referral")
@roles_required(Role.OFFICER)
def self_referral_book():
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("wellness.self_referral"))
    try:
        starts_at = datetime.fromisoformat(request.form.get("at", ""))
        clinician_id = int(request.form.get("clinician", ""))
    except ValueError:
        flash("Choose a time from the list.", "danger")
        return redirect(url_for("wellness.self_referral"))
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=timezone.utc)
    if not 2000 <= starts_at.year <= 2100:  # nothing a slot button sends; a time zone shift must not overflow
        flash("Choose a time from the list.", "danger")
        return redirect(url_for("wellness.self_referral"))
    try:
        booked = appointments.book_self_referral(actor(), clinician_id, starts_at)
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("wellness.self_referral", clinician=clinician_id))
    flash(f"Booked with {booked.clinician.name}. The clinician will confirm it; HR is not told.", "success")
    return redirect(url_for("wellness.mine"))


@bp.get("/looked")
@roles_required(Role.OFFICER)
def looked_at_me():
    """Who has looked at my wellness record (the signed-in officer's own; no id in the address)."""
    return render_template("wellness/looked.html", seen=looked.mine(actor(), page=page_number()))


@bp.post("/appointments/<int:appointment_id>/request-reschedule")
@roles_required(Role.OFFICER)
def request_reschedule(appointment_id):
    button(lambda: appointments.request_reschedule(actor(), appointment_id),
           "Your request was sent. You can also choose a new time yourself.")
    return redirect(url_for("wellness.mine"))


# --- the clinician's pages -----------------------------------------------------------------

@bp.get("/clinic")
@roles_required(Role.CLINICIAN)
def clinic():
    """The clinician's appointments: what needs them, today, upcoming, past (paged)."""
    if linked_clinician(actor()) is None:
        return render_template("wellness/clinic_unlinked.html")
    clinic_page = appointments.clinic_page(actor(), page_number())
    return render_template("wellness/clinic.html", clinic=clinic_page, clinician=clinic_page.sections.clinician,
                           now=clock.now())


@bp.get("/clinic/appointments/<int:appointment_id>")
@roles_required(Role.CLINICIAN)
def clinic_appointment(appointment_id):
    appointment, linked = appointments.view_for_clinician(actor(), appointment_id)
    slots = _slots_by_day(appointments.proposable(appointment)) \
        if appointment.is_active else []
    return render_template("wellness/clinic_appointment.html", appointment=appointment, incidents=linked,
                           action_form=ActionForm(), decline_form=DeclineForm(), slot_form=SlotForm(), slots=slots,
                           now=clock.now(), hold_hours=appointments.PROPOSAL_HOURS)


def _appointment_page(appointment_id):
    """Back to the appointment's page, or to the list when the button was pressed there."""
    if request.values.get("back") == "clinic":
        return url_for("wellness.clinic")
    return url_for("wellness.clinic_appointment", appointment_id=appointment_id)


@bp.post("/appointments/<int:appointment_id>/confirm")
@roles_required(Role.CLINICIAN)
def confirm(appointment_id):
    return button_back(lambda: appointments.confirm(actor(), appointment_id), "Confirmed.",
                       _appointment_page(appointment_id))


@bp.post("/appointments/<int:appointment_id>/decline")
@roles_required(Role.CLINICIAN)
def decline(appointment_id):
    appointment = appointments.get_for_clinician(actor(), appointment_id)
    form = DeclineForm()
    if submit(form, lambda: appointments.decline(actor(), appointment, form.reason.data),
              "Done: HR has your reason and will book another time; the officer has been told."):
        return redirect(url_for("wellness.clinic"))
    return redirect(_appointment_page(appointment_id))


@bp.post("/appointments/<int:appointment_id>/propose")
@roles_required(Role.CLINICIAN)
def propose(appointment_id):
    appointment = appointments.get_for_clinician(actor(), appointment_id)
    form = SlotForm()
    submit(form, lambda: appointments.propose(actor(), appointment, _when(form.starts_at.data)),
           "Another time was proposed to the officer and HR.")
    return redirect(_appointment_page(appointment_id))


@bp.post("/appointments/<int:appointment_id>/attended")
@roles_required(Role.CLINICIAN)
def attended(appointment_id):
    return button_back(lambda: appointments.record_attendance(actor(), appointment_id, True),
                       "Recorded: attended.", _appointment_page(appointment_id))


@bp.route("/appointments/<int:appointment_id>/no-show", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN)
def no_show(appointment_id):
    """A confirmation step: what recording "did not attend" does (HR told by name, the
    officer's note, the evaluation open again), then the POST records it. Refused, with
    the reason, before the appointment has begun or once it has ended."""
    me = actor()
    if request.method == "POST":
        return button_back(lambda: (appointments.no_show_preview(me, appointment_id),
                                    appointments.record_attendance(me, appointment_id, False)),
                           "Recorded: did not attend. HR will arrange a new booking.",
                           _appointment_page(appointment_id))
    try:
        preview = appointments.no_show_preview(me, appointment_id)
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("wellness.clinic_appointment", appointment_id=appointment_id))
    return render_template("wellness/clinic_no_show.html", preview=preview, form=ActionForm(),
                           back="clinic" if request.args.get("back") == "clinic" else "")


@bp.get("/clinic/hours")
@roles_required(Role.CLINICIAN)
def clinic_hours():
    clinician = linked_clinician(actor())
    if clinician is None:
        return render_template("wellness/clinic_unlinked.html")
    return render_template("wellness/clinic_hours.html", clinician=clinician, hours_form=HoursForm(),
                           block_form=BlockForm(), action_form=ActionForm(), blocks=clinicians.blocks(clinician))


REMINDER_STATES = ("pending", "sent", "dropped", "expired")


@roles_required(Role.HR)
def reminders():
    """HR's reminders page: every reminder queued (of the kinds declared as reminders)."""
    state = choice_arg("state", REMINDER_STATES)
    recipient = search_arg("recipient")
    kind = search_arg("kind")
    page = outbox.list_reminders(actor(), state=state, recipient=recipient, kind=kind, page=page_number())
    # An officer's personal address is theirs: HR sees that a reminder went there, not the address.
    personal = private_address.personal_among([m.recipient for m in page.items])
    return render_template("wellness/reminders.html", page=page, state=state, recipient=recipient, kind=kind,
                           personal=personal,
                           kinds=outbox.reminder_kinds(), kind_label=lambda name: outbox.declared(name).label)


# The page keeps the address it has always had, beside the outbox and outside this
# blueprint's /wellness prefix, so it is added to the app directly (as "wellness.reminders").
bp.record(lambda state: state.app.add_url_rule("/admin/outbox/reminders", "wellness.reminders", reminders,
                                               methods=["GET"]))
