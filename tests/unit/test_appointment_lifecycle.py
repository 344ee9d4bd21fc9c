"""The appointment and wellness evaluation state machines, on transient objects.

No database and no Flask app: the models are built in memory and their methods called.
"""
from datetime import date, datetime, timedelta, timezone

import pytest

import core.models  # noqa: F401  (Officer must be known before the wellness mappers configure)
from core.errors import DomainError
from wellness.models import (ACTIVE_APPOINTMENT, Appointment, AppointmentStatus, EvaluationKind,
                             EvaluationStatus, WellnessEvaluation)

S = AppointmentStatus
E = EvaluationStatus
STARTS = datetime(2026, 7, 14, 15, 0, tzinfo=timezone.utc)
BEFORE = STARTS - timedelta(days=2)
AFTER = STARTS + timedelta(minutes=75)
NEW_TIME = datetime(2026, 7, 21, 15, 0, tzinfo=timezone.utc)


def appointment(status: AppointmentStatus, starts_at: datetime = STARTS) -> Appointment:
    return Appointment(status=status, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
                       uid="a1b2c3@beacon.test", sequence=0, decline_reason="",
                       booked_at=starts_at - timedelta(days=7))


def evaluation(status: EvaluationStatus, paused_on: date | None = None) -> WellnessEvaluation:
    return WellnessEvaluation(kind=EvaluationKind.ANNUAL, status=status, due_on=date(2026, 9, 1),
                              opened_on=date(2026, 7, 3), paused_on=paused_on, closed_reason="")


def snapshot(a: Appointment) -> tuple:
    return (a.status, a.confirmed_at, a.closed_at, a.decline_reason, a.proposed_starts_at, a.starts_at, a.ends_at)


# --- the whole matrix ------------------------------------------------------------------

ACTIONS = {
    "confirm": (lambda a: a.confirm(BEFORE), {S.BOOKED}, S.CONFIRMED),
    "decline": (lambda a: a.decline("On leave that week", BEFORE), set(ACTIVE_APPOINTMENT), S.DECLINED),
    "request_reschedule": (lambda a: a.request_reschedule(), {S.BOOKED, S.CONFIRMED}, S.RESCHEDULE_REQUESTED),
    "propose": (lambda a: a.propose(NEW_TIME, NEW_TIME + timedelta(hours=1), BEFORE), set(ACTIVE_APPOINTMENT),
                None),   # status unchanged
    "move": (lambda a: a.move(NEW_TIME, NEW_TIME + timedelta(hours=1), BEFORE, confirmed=False),
             set(ACTIVE_APPOINTMENT), S.BOOKED),
    "cancel": (lambda a: a.cancel(BEFORE), set(ACTIVE_APPOINTMENT), S.CANCELLED),
    "mark_attended": (lambda a: a.mark_attended(AFTER), {S.BOOKED, S.CONFIRMED}, S.ATTENDED),
    "mark_no_show": (lambda a: a.mark_no_show(AFTER), {S.BOOKED, S.CONFIRMED}, S.NO_SHOW),
}


def test_active_statuses_are_booked_confirmed_and_reschedule_requested():
    assert set(ACTIVE_APPOINTMENT) == {S.BOOKED, S.CONFIRMED, S.RESCHEDULE_REQUESTED}


@pytest.mark.parametrize("status", list(S), ids=[s.value for s in S])
def test_is_active_follows_the_status(status):
    assert appointment(status).is_active is (status in ACTIVE_APPOINTMENT)


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("status", list(S), ids=[s.value for s in S])
def test_each_action_succeeds_from_exactly_its_allowed_statuses(status, action):
    run, allowed, result = ACTIONS[action]
    a = appointment(status)
    if status in allowed:
        run(a)
        assert a.status == (result or status)
    else:
        before = snapshot(a)
        with pytest.raises(DomainError, match="cannot be"):
            run(a)
        assert snapshot(a) == before, "a refused move must leave the appointment as it was"


@pytest.mark.parametrize("status", [S.DECLINED, S.CANCELLED, S.ATTENDED, S.NO_SHOW], ids=lambda s: s.value)
def test_closed_appointment_refuses_every_action(status):
    for action, (run, _, _) in ACTIONS.items():
        a = appointment(status)
        with pytest.raises(DomainError):
            run(a)
        assert a.status == status, action


def test_refusal_names_the_status_in_words():
    with pytest.raises(DomainError, match="This appointment is reschedule requested; it cannot be confirmed"):
        appointment(S.RESCHEDULE_REQUESTED).confirm(BEFORE)
    with pytest.raises(DomainError, match="This appointment is no show; it cannot be cancelled"):
        appointment(S.NO_SHOW).cancel(BEFORE)


# --- confirm ---------------------------------------------------------------------------

def test_clinician_confirms_a_booked_appointment_and_the_time_is_kept():
    a = appointment(S.BOOKED)
    a.confirm(BEFORE)
    assert a.status == S.CONFIRMED
    assert a.confirmed_at == BEFORE
    assert a.closed_at is None and a.is_active


def test_confirming_twice_is_refused():
    a = appointment(S.BOOKED)
    a.confirm(BEFORE)
    with pytest.raises(DomainError):
        a.confirm(BEFORE + timedelta(hours=1))
    assert a.confirmed_at == BEFORE


# --- decline ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [S.BOOKED, S.RESCHEDULE_REQUESTED], ids=lambda s: s.value)
def test_decline_records_the_reason_and_closes(status):
    a = appointment(status)
    a.decline("  Not available that day  ", BEFORE)
    assert a.status == S.DECLINED
    assert a.decline_reason == "Not available that day"
    assert a.closed_at == BEFORE
    assert not a.is_active


@pytest.mark.parametrize("reason", ["", " ", "   ", "\t", "\n", " \t\n "])
@pytest.mark.parametrize("status", [S.BOOKED, S.RESCHEDULE_REQUESTED], ids=lambda s: s.value)
def test_decline_needs_a_non_blank_reason(status, reason):
    a = appointment(status)
    with pytest.raises(DomainError, match="reason"):
        a.decline(reason, BEFORE)
    assert a.status == status
    assert a.closed_at is None and a.decline_reason == ""


def test_decline_reason_is_cut_to_five_hundred_characters():
    a = appointment(S.BOOKED)
    a.decline("x" * 600, BEFORE)
    assert a.decline_reason == "x" * 500


@pytest.mark.parametrize("status", [S.DECLINED, S.CANCELLED, S.ATTENDED, S.NO_SHOW],
                         ids=lambda s: s.value)
def test_decline_is_refused_once_the_appointment_has_ended(status):
    a = appointment(status)
    with pytest.raises(DomainError, match="cannot be declined"):
        a.decline("Not available", BEFORE)
    assert a.status == status and a.decline_reason == ""


def test_status_is_checked_before_the_reason():
    with pytest.raises(DomainError, match="cannot be declined"):
        appointment(S.ATTENDED).decline("", BEFORE)


def test_a_clinician_may_cancel_a_confirmed_appointment_with_a_reason():
    a = appointment(S.CONFIRMED)
    with pytest.raises(DomainError, match="reason"):
        a.decline("  ", BEFORE)
    a.decline("Ill this week", BEFORE)
    assert (a.status, a.decline_reason, a.closed_at) == (S.DECLINED, "Ill this week", BEFORE)


def test_moving_to_the_clinicians_own_proposal_confirms_it_and_ends_the_hold():
    a = appointment(S.BOOKED)
    a.propose(NEW_TIME, NEW_TIME + timedelta(hours=1), BEFORE)
    a.move(NEW_TIME, NEW_TIME + timedelta(hours=1), BEFORE + timedelta(hours=1), confirmed=True)
    assert (a.status, a.starts_at, a.proposed_starts_at, a.proposed_at, a.sequence) == (
        S.CONFIRMED, NEW_TIME, None, None, 1)
    assert a.booked_at == a.confirmed_at == BEFORE + timedelta(hours=1)


# --- request_reschedule / propose ------------------------------------------------------

@pytest.mark.parametrize("status", [S.BOOKED, S.CONFIRMED], ids=lambda s: s.value)
def test_officer_may_ask_to_reschedule_a_booked_or_confirmed_appointment(status):
    a = appointment(status)
    a.request_reschedule()
    assert a.status == S.RESCHEDULE_REQUESTED
    assert a.is_active and a.closed_at is None


def test_asking_to_reschedule_twice_is_refused():
    a = appointment(S.BOOKED)
    a.request_reschedule()
    with pytest.raises(DomainError, match="cannot be rescheduled"):
        a.request_reschedule()


@pytest.mark.parametrize("status", list(ACTIVE_APPOINTMENT), ids=lambda s: s.value)
def test_clinician_may_propose_another_time_for_any_active_appointment(status):
    a = appointment(status)
    a.propose(NEW_TIME, NEW_TIME + timedelta(hours=1), BEFORE)
    assert a.proposed_starts_at == NEW_TIME
    assert a.status == status
    assert a.starts_at == STARTS, "a proposal does not move the appointment"


@pytest.mark.parametrize("status", [S.DECLINED, S.CANCELLED, S.ATTENDED, S.NO_SHOW], ids=lambda s: s.value)
def test_proposing_for_a_closed_appointment_is_refused(status):
    a = appointment(status)
    with pytest.raises(DomainError, match="given another time"):
        a.propose(NEW_TIME, NEW_TIME + timedelta(hours=1), BEFORE)
    assert a.proposed_starts_at is None


# --- cancel ----------------------------------------------------------------------------

@pytest.mark.parametrize("status", list(ACTIVE_APPOINTMENT), ids=lambda s: s.value)
def test_cancel_closes_an_active_appointment(status):
    a = appointment(status)
    a.cancel(BEFORE)
    assert a.status == S.CANCELLED
    assert a.closed_at == BEFORE
    assert not a.is_active


@pytest.mark.parametrize("status", [S.DECLINED, S.CANCELLED, S.ATTENDED, S.NO_SHOW], ids=lambda s: s.value)
def test_cancel_is_refused_once_closed(status):
    a = appointment(status)
    a.closed_at = BEFORE
    with pytest.raises(DomainError, match="cannot be cancelled"):
        a.cancel(AFTER)
    assert a.status == status and a.closed_at == BEFORE


# --- mark_attended / mark_no_show ------------------------------------------------------

OUTCOMES = {"mark_attended": S.ATTENDED, "mark_no_show": S.NO_SHOW}


@pytest.mark.parametrize("method", list(OUTCOMES))
@pytest.mark.parametrize("status", [S.BOOKED, S.CONFIRMED], ids=lambda s: s.value)
@pytest.mark.parametrize("now", [STARTS, STARTS + timedelta(seconds=1), AFTER, STARTS + timedelta(days=3)],
                         ids=["at-start", "a-second-after", "after-the-end", "days-later"])
def test_outcome_is_recorded_once_the_appointment_has_begun(method, status, now):
    a = appointment(status)
    getattr(a, method)(now)
    assert a.status == OUTCOMES[method]
    assert a.closed_at == now
    assert not a.is_active


@pytest.mark.parametrize("method", list(OUTCOMES))
@pytest.mark.parametrize("status", [S.BOOKED, S.CONFIRMED], ids=lambda s: s.value)
@pytest.mark.parametrize("now", [STARTS - timedelta(seconds=1), STARTS - timedelta(minutes=30), BEFORE],
                         ids=["a-second-before", "half-an-hour-before", "days-before"])
def test_outcome_is_refused_before_the_start_time(method, status, now):
    a = appointment(status)
    with pytest.raises(DomainError, match="once the appointment"):
        getattr(a, method)(now)
    assert a.status == status and a.closed_at is None


@pytest.mark.parametrize("method", list(OUTCOMES))
@pytest.mark.parametrize("status", [S.RESCHEDULE_REQUESTED, S.DECLINED, S.CANCELLED, S.ATTENDED, S.NO_SHOW],
                         ids=lambda s: s.value)
def test_outcome_is_refused_outside_booked_and_confirmed_even_after_the_start(method, status):
    a = appointment(status)
    with pytest.raises(DomainError, match="cannot be marked"):
        getattr(a, method)(AFTER)
    assert a.status == status


def test_attended_appointment_cannot_then_be_a_no_show():
    a = appointment(S.CONFIRMED)
    a.mark_attended(AFTER)
    with pytest.raises(DomainError):
        a.mark_no_show(AFTER + timedelta(minutes=5))
    assert a.status == S.ATTENDED and a.closed_at == AFTER


def test_whole_happy_path_booked_confirmed_rescheduled_declined():
    a = appointment(S.BOOKED)
    a.confirm(BEFORE)
    a.request_reschedule()
    a.propose(NEW_TIME, NEW_TIME + timedelta(hours=1), BEFORE)
    a.decline("Cannot make the new week either", BEFORE + timedelta(hours=2))
    assert (a.status, a.proposed_starts_at, a.closed_at) == (S.DECLINED, NEW_TIME, BEFORE + timedelta(hours=2))


# --- WellnessEvaluation ----------------------------------------------------------------

EVALUATION_ACTIONS = {
    "mark_scheduled": (lambda e: e.mark_scheduled(), {E.OPEN}, E.SCHEDULED),
    "reopen": (lambda e: e.reopen(), {E.SCHEDULED}, E.OPEN),
    "complete": (lambda e: e.complete(date(2026, 7, 14)), {E.SCHEDULED}, E.COMPLETED),
    "close": (lambda e: e.close("Officer separated"), {E.OPEN, E.SCHEDULED}, E.CLOSED),
}


@pytest.mark.parametrize("action", list(EVALUATION_ACTIONS))
@pytest.mark.parametrize("status", list(E), ids=[s.value for s in E])
def test_each_evaluation_action_succeeds_from_exactly_its_allowed_statuses(status, action):
    run, allowed, result = EVALUATION_ACTIONS[action]
    e = evaluation(status)
    if status in allowed:
        run(e)
        assert e.status == result
    else:
        with pytest.raises(DomainError):
            run(e)
        assert e.status == status
        assert e.completed_on is None and e.closed_reason == ""


@pytest.mark.parametrize("status, is_open", [(E.OPEN, True), (E.SCHEDULED, True), (E.COMPLETED, False),
                                             (E.CLOSED, False)])
def test_evaluation_is_open_while_open_or_scheduled(status, is_open):
    assert evaluation(status).is_open is is_open


def test_booking_marks_an_open_evaluation_scheduled():
    e = evaluation(E.OPEN)
    e.mark_scheduled()
    assert e.status == E.SCHEDULED and e.is_open


@pytest.mark.parametrize("status", [E.SCHEDULED, E.COMPLETED, E.CLOSED], ids=lambda s: s.value)
def test_only_an_open_evaluation_can_be_booked(status):
    with pytest.raises(DomainError, match="Only an open evaluation can be booked"):
        evaluation(status).mark_scheduled()


def test_reopen_returns_a_scheduled_evaluation_to_open():
    e = evaluation(E.SCHEDULED)
    e.reopen()
    assert e.status == E.OPEN and e.is_open


@pytest.mark.parametrize("status", [E.OPEN, E.COMPLETED, E.CLOSED], ids=lambda s: s.value)
def test_only_a_scheduled_evaluation_can_be_reopened(status):
    with pytest.raises(DomainError, match="Only a scheduled evaluation can be reopened"):
        evaluation(status).reopen()


def test_complete_records_the_day_and_clears_the_pause():
    e = evaluation(E.SCHEDULED, paused_on=date(2026, 6, 1))
    e.complete(date(2026, 7, 14))
    assert e.status == E.COMPLETED
    assert e.completed_on == date(2026, 7, 14)
    assert e.paused_on is None
    assert not e.is_open


@pytest.mark.parametrize("status", [E.OPEN, E.COMPLETED, E.CLOSED], ids=lambda s: s.value)
def test_only_a_scheduled_evaluation_can_be_completed(status):
    e = evaluation(status, paused_on=date(2026, 6, 1))
    with pytest.raises(DomainError, match="Only a scheduled evaluation can be completed"):
        e.complete(date(2026, 7, 14))
    assert e.completed_on is None and e.paused_on == date(2026, 6, 1)


@pytest.mark.parametrize("status", [E.OPEN, E.SCHEDULED], ids=lambda s: s.value)
def test_close_ends_an_evaluation_in_progress_with_its_reason(status):
    e = evaluation(status)
    e.close("Officer separated")
    assert e.status == E.CLOSED
    assert e.closed_reason == "Officer separated"
    assert not e.is_open


@pytest.mark.parametrize("status", [E.COMPLETED, E.CLOSED], ids=lambda s: s.value)
def test_only_an_evaluation_in_progress_can_be_closed(status):
    e = evaluation(status)
    with pytest.raises(DomainError, match="Only an evaluation in progress can be closed"):
        e.close("Officer separated")
    assert e.status == status and e.closed_reason == ""


def test_evaluation_round_trip_booked_reopened_booked_completed():
    e = evaluation(E.OPEN)
    e.mark_scheduled()
    e.reopen()
    e.mark_scheduled()
    e.complete(date(2026, 7, 14))
    assert (e.status, e.completed_on) == (E.COMPLETED, date(2026, 7, 14))
    with pytest.raises(DomainError):
        e.reopen()
