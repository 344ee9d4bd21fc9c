"""Correcting a recorded incident through HR's pages: its date, type and description,
officers and units added later, and withdrawal; appointments after a due date that moved
earlier; and the warning when the clinicians have too little time for everyone."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import AuditEntry, OfficerStatus
from tests import factories
from wellness.models import (
    Appointment,
    AppointmentStatus,
    AttentionItem,
    CriticalIncident,
    EvaluationStatus,
    IncidentType,
    IncidentUnit,
    WeeklyHours,
    WellnessEvaluation,
)
from wellness.services import incidents

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)        # 09:00 in Chicago (CST)
TUESDAY_10_LOCAL = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)
TUESDAY_10_MARCH_LOCAL = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)  # 10:00 CDT


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


@pytest.fixture
def now():
    with clock.frozen(MONDAY):
        yield MONDAY


@pytest.fixture
def hr(auth, now):
    """HR signed in (hr.desk@pd.test), as an Actor for setting up through the services."""
    return Actor.for_user(auth.as_role("hr", email="hr.desk@pd.test"))


def incident_type(days):
    return db.session.scalar(select(IncidentType).where(IncidentType.window_days == days))


def record(hr, days, occurred_on, officers=(), units=()):
    return incidents.record_incident(hr, type_id=incident_type(days).id, occurred_on=occurred_on,
                                     description="Recorded for the test.", officer_ids=[o.id for o in officers],
                                     unit_ids=[u.id for u in units]).incident


def evaluation_of(officer):
    db.session.expire_all()
    return db.session.scalars(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id)
                              .order_by(WellnessEvaluation.id.desc())).first()


def audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def open_items(evaluation, kind):
    return db.session.scalars(select(AttentionItem).where(AttentionItem.evaluation_id == evaluation.id,
                                                          AttentionItem.kind == kind,
                                                          AttentionItem.resolved_at.is_(None))).all()


def edit(auth, incident, **values):
    data = {"type_id": incident.type_id, "occurred_on": incident.occurred_on.isoformat(),
            "description": incident.description, **values}
    page = f"/wellness/incidents/{incident.id}/edit"
    return auth.post(page, data, form_page=page)


def error_beside(html, name, message):
    """The message appears right after the field named `name` (before the next field)."""
    start = html.index(f'name="{name}"')
    following = html.find(' name="', start + 1)
    return message in html[start:following if following > 0 else None]


def deliver(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


def plenty_of_clinician_time():
    factories.clinician(name="Dr. Always Free")


# --- editing -------------------------------------------------------------------------------

def test_editing_the_date_earlier_brings_due_dates_forward_and_is_audited_old_and_new(hr, auth, client):
    plenty_of_clinician_time()
    newcomer = factories.officer(badge="4101")
    annual_officer = factories.officer(badge="4102")
    annual = factories.evaluation(annual_officer, due_on=date(2026, 4, 20))
    incident = record(hr, 14, date(2026, 3, 1), [newcomer, annual_officer])
    assert evaluation_of(newcomer).due_on == date(2026, 3, 15)
    assert evaluation_of(annual_officer).due_on == date(2026, 3, 15)
    assert db.session.get(WellnessEvaluation, annual.id).base_due_on == date(2026, 4, 20)

    form = client.get(f"/wellness/incidents/{incident.id}/edit").get_data(as_text=True)
    assert 'value="2026-03-01"' in form and "Recorded for the test." in form
    response = edit(auth, incident, occurred_on="2026-02-27", description="Recorded for the test, corrected.")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert evaluation_of(newcomer).due_on == date(2026, 3, 13)
    assert evaluation_of(annual_officer).due_on == date(2026, 3, 13)
    [entry] = audit("incident.updated")
    assert "date: 2026-03-01 → 2026-02-27" in entry.detail and "2 due date(s) moved" in entry.detail
    assert "description: 22 → 33 characters" in entry.detail and "corrected" not in entry.detail
    assert entry.private and entry.target == f"incident {incident.id}"
    page = client.get(f"/wellness/incidents/{incident.id}").get_data(as_text=True)
    assert "27 February 2026" in page and "2026-03-13" in page and "last corrected" in page


def test_editing_to_a_later_date_or_longer_window_moves_due_back_but_never_past_the_annual_date(hr, auth):
    plenty_of_clinician_time()
    opened_by_it = factories.officer()
    annual_officer = factories.officer()
    factories.evaluation(annual_officer, due_on=date(2026, 3, 20))
    incident = record(hr, 3, date(2026, 3, 1), [opened_by_it, annual_officer])
    assert evaluation_of(annual_officer).due_on == date(2026, 3, 4)

    assert edit(auth, incident, type_id=incident_type(14).id).status_code == 302
    assert evaluation_of(opened_by_it).due_on == date(2026, 3, 15)
    assert evaluation_of(annual_officer).due_on == date(2026, 3, 15)

    longer = incidents.add_type(hr, "Prolonged hostage situation", 30)
    assert edit(auth, incident, type_id=longer.id).status_code == 302
    assert evaluation_of(opened_by_it).due_on == date(2026, 3, 31)
    assert evaluation_of(annual_officer).due_on == date(2026, 3, 20)  # its annual date, not later
    [first, second] = audit("incident.updated")
    assert "type: Officer-involved shooting / firearm discharge on duty → Death of a unit member" in first.detail
    assert "type: Death of a unit member → Prolonged hostage situation" in second.detail


def test_another_incident_still_counts_when_one_is_corrected(hr, auth):
    plenty_of_clinician_time()
    officer = factories.officer()
    first = record(hr, 14, date(2026, 2, 25), [officer])          # due 11 March
    second = record(hr, 7, date(2026, 3, 1), [officer])           # due 8 March: joins
    assert evaluation_of(officer).due_on == date(2026, 3, 8)
    assert edit(auth, second, type_id=incident_type(14).id).status_code == 302
    assert evaluation_of(officer).due_on == date(2026, 3, 11)     # the first incident's date now wins
    assert first.id != second.id


# --- adding officers and units -------------------------------------------------------------

def test_an_officer_added_later_gets_an_evaluation_due_no_earlier_than_the_day_added(hr, auth, client):
    plenty_of_clinician_time()
    there = factories.officer(badge="4201")
    incident = record(hr, 3, date(2026, 3, 1), [there])            # due 4 March
    forgotten = factories.officer(badge="4202", first="Fay", last="Forgotten")
    with_annual = factories.officer(badge="4203")
    annual = factories.evaluation(with_annual, due_on=date(2026, 4, 20))
    clock.advance(timedelta(days=4))                               # Friday 6 March
    auth.login("hr.desk@pd.test")                                  # the session has lapsed meanwhile
    page = f"/wellness/incidents/{incident.id}/affected"
    response = auth.post(page, {"badges": "4201, 4202 4203"}, form_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)
    added = evaluation_of(forgotten)
    assert added.due_on == date(2026, 3, 6) and added.status == EvaluationStatus.OPEN
    assert added.incident_links[0].added_on == date(2026, 3, 6) and added.incident_links[0].opened_evaluation
    joined = db.session.get(WellnessEvaluation, annual.id)
    assert joined.due_on == date(2026, 3, 6) and joined.base_due_on == date(2026, 4, 20)
    assert evaluation_of(there).due_on == date(2026, 3, 4)         # unchanged
    [entry] = audit("incident.officers_added")
    assert "officers: 1 → 3 (added 4202, 4203)" in entry.detail and "1 already affected" in entry.detail
    shown = client.get(f"/wellness/incidents/{incident.id}").get_data(as_text=True)
    assert "Forgotten, Fay" in shown and "added 06 Mar 2026" in shown

    again = auth.post(page, {"badges": "4202"}, form_page=page)
    assert again.status_code == 422
    assert error_beside(again.get_data(as_text=True), "badges", "already affected by this incident")


def test_adding_a_unit_records_it_and_adds_its_active_members(hr, auth, client):
    plenty_of_clinician_time()
    first = factories.officer(unit_name="Alpha")
    incident = record(hr, 14, date(2026, 3, 1), [first])
    members = [factories.officer(unit_name="Squad 7") for _ in range(2)]
    gone = factories.officer(unit_name="Squad 7", status=OfficerStatus.SEPARATED)
    page = f"/wellness/incidents/{incident.id}/affected"
    response = auth.post(page, {"unit_ids": [members[0].unit_id], "badges": ""}, form_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.scalars(select(IncidentUnit.unit_id).where(IncidentUnit.incident_id == incident.id)).all() \
        == [members[0].unit_id]
    for officer in members:
        assert evaluation_of(officer).due_on == date(2026, 3, 15)
    assert evaluation_of(gone) is None
    shown = client.get(f"/wellness/incidents/{incident.id}").get_data(as_text=True)
    assert "Whole units affected: Squad 7" in shown and shown.count("unit<") == 2

    separated = auth.post(page, {"badges": gone.badge_number}, form_page=page)
    assert separated.status_code == 422 and "is separated" in separated.get_data(as_text=True)


# --- withdrawing ---------------------------------------------------------------------------

def test_withdrawing_closes_what_only_it_needed_restores_annual_dates_and_keeps_booked_appointments(
        hr, auth, client, runner, smtp_server):
    clinician = factories.clinician(name="Dr. Iris Vale")
    unbooked = factories.officer(first="Una", last="Booked")
    annual_officer = factories.officer()
    annual = factories.evaluation(annual_officer, due_on=date(2026, 4, 20))
    booked = factories.officer(first="Bea", last="Booked")
    finished = factories.officer()
    twice = factories.officer()
    earlier = record(hr, 14, date(2026, 2, 27), [twice])                      # due 13 March
    incident = record(hr, 3, date(2026, 3, 1), [unbooked, annual_officer, booked, finished, twice])
    booked_evaluation = evaluation_of(booked)
    appointment = factories.appointment(booked_evaluation, clinician, TUESDAY_10_LOCAL)
    done = evaluation_of(finished)
    done.status, done.completed_on = EvaluationStatus.COMPLETED, date(2026, 3, 2)
    db.session.commit()
    assert evaluation_of(twice).due_on == date(2026, 3, 4)

    page = f"/wellness/incidents/{incident.id}/withdraw"
    assert "I understand its evaluations return to what they were" in client.get(page).get_data(as_text=True)
    response = auth.post(page, {"reason": "Recorded against the wrong shift.", "confirm": "y"}, form_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)

    closed = evaluation_of(unbooked)
    assert closed.status == EvaluationStatus.CLOSED and closed.closed_reason == "incident withdrawn"
    restored = db.session.get(WellnessEvaluation, annual.id)
    assert restored.status == EvaluationStatus.OPEN and restored.due_on == date(2026, 4, 20)
    assert evaluation_of(twice).due_on == date(2026, 3, 13)                   # the earlier incident still counts
    kept = db.session.get(WellnessEvaluation, booked_evaluation.id)
    assert kept.status == EvaluationStatus.SCHEDULED
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.BOOKED
    [item] = open_items(kept, "incident_withdrawn")
    assert item.appointment_id == appointment.id and kept.attention == "incident_withdrawn"
    assert evaluation_of(finished).status == EvaluationStatus.COMPLETED
    assert earlier.withdrawn_at is None
    withdrawn = db.session.get(CriticalIncident, incident.id)
    assert withdrawn.withdrawn_at == MONDAY and withdrawn.withdrawn_reason == "Recorded against the wrong shift."
    [entry] = audit("incident.withdrawn")
    assert entry.detail == ("reason: Recorded against the wrong shift.; 2 due date(s) restored, "
                            "1 evaluation(s) closed, 1 booked and kept for HR to decide, "
                            "1 finished left as they were")

    shown = client.get(f"/wellness/incidents/{incident.id}").get_data(as_text=True)
    assert "Withdrawn on 02 March 2026 at 09:00 CST by" in shown and "Recorded against the wrong shift." in shown
    assert f"/wellness/incidents/{incident.id}/edit" not in shown
    listing = client.get("/wellness/incidents").get_data(as_text=True)
    assert listing.count(">withdrawn</span>") == 1
    deliver(runner)
    subjects = [m["Subject"] for m in smtp_server.to("hr.desk@pd.test")]
    assert any("Incident withdrawn: Bea Booked" in s for s in subjects), subjects


def test_a_withdrawn_incident_can_no_longer_be_edited_and_counts_for_no_due_date(hr, auth, client):
    plenty_of_clinician_time()
    officer = factories.officer()
    incident = record(hr, 3, date(2026, 3, 1), [officer])
    incidents.withdraw_incident(hr, incident.id, "Recorded twice.")
    for path in ("edit", "affected", "withdraw"):
        response = client.get(f"/wellness/incidents/{incident.id}/{path}")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/incidents/{incident.id}")
    response = auth.post(f"/wellness/incidents/{incident.id}/edit",
                         {"type_id": incident_type(14).id, "occurred_on": "2026-02-20", "description": "Changed"})
    assert response.status_code == 302
    assert "can no longer be changed" in client.get(response.headers["Location"]).get_data(as_text=True)
    with pytest.raises(DomainError, match="withdrawn"):
        incidents.update_incident(hr, incident.id, type_id=incident_type(14).id, occurred_on=date(2026, 2, 20),
                                  description="Changed")
    with pytest.raises(DomainError, match="withdrawn"):
        incidents.withdraw_incident(hr, incident.id, "Again")
    db.session.expire_all()
    unchanged = db.session.get(CriticalIncident, incident.id)
    assert unchanged.occurred_on == date(2026, 3, 1) and unchanged.description == "Recorded for the test."
    assert audit("incident.updated") == []
    # A later incident for the same officer is not pulled earlier by the withdrawn one.
    later = record(hr, 14, date(2026, 3, 2), [officer])
    assert evaluation_of(officer).due_on == date(2026, 3, 16) and later.id != incident.id


# --- due dates that move before a booked appointment ----------------------------------------

def test_an_incident_making_an_evaluation_due_before_its_appointment_flags_it_and_tells_hr_by_name(
        hr, auth, runner, smtp_server):
    clinician = factories.clinician(name="Dr. Iris Vale", email="dr.vale@clinic.test")
    maria = factories.officer(badge="5150", first="Maria", last="King", email="maria.king@pd.test")
    annual = factories.evaluation(maria, due_on=date(2026, 4, 20))
    appointment = factories.appointment(annual, clinician, TUESDAY_10_MARCH_LOCAL)
    response = auth.post("/wellness/incidents/new", {
        "type_id": incident_type(3).id, "occurred_on": "2026-03-01", "badges": "5150",
        "description": "Discharge of a firearm on duty."}, form_page="/wellness/incidents/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    evaluation = db.session.get(WellnessEvaluation, annual.id)
    assert evaluation.due_on == date(2026, 3, 4) and evaluation.base_due_on == date(2026, 4, 20)
    [item] = open_items(evaluation, "deadline_moved")
    assert item.appointment_id == appointment.id
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.BOOKED   # nothing cancelled
    deliver(runner)
    [to_hr] = [m for m in smtp_server.to("hr.desk@pd.test") if "Maria King" in m["Subject"]]
    assert to_hr["Subject"].strip().startswith("Move earlier: Maria King (5150)")
    assert smtp_server.to("maria.king@pd.test") and smtp_server.to("dr.vale@clinic.test")


def test_correcting_the_date_flags_an_appointment_now_late_and_clears_it_when_corrected_back(hr, auth):
    clinician = factories.clinician()
    officer = factories.officer(first="Maria", last="King")
    incident = record(hr, 14, date(2026, 3, 1), [officer])                   # due 15 March
    evaluation = evaluation_of(officer)
    factories.appointment(evaluation, clinician, TUESDAY_10_MARCH_LOCAL)
    assert open_items(evaluation, "deadline_moved") == []
    assert edit(auth, incident, type_id=incident_type(3).id).status_code == 302   # due 4 March
    evaluation = evaluation_of(officer)
    assert evaluation.due_on == date(2026, 3, 4) and len(open_items(evaluation, "deadline_moved")) == 1
    assert edit(auth, incident, type_id=incident_type(14).id).status_code == 302
    evaluation = evaluation_of(officer)
    assert evaluation.due_on == date(2026, 3, 15) and open_items(evaluation, "deadline_moved") == []


# --- not enough clinician time -------------------------------------------------------------

def test_too_few_free_slots_before_the_due_date_is_shown_and_emailed_to_hr(hr, auth, client, runner, smtp_server):
    scarce = factories.clinician(name="Dr. Scarce", hours=False)
    db.session.add(WeeklyHours(clinician_id=scarce.id, weekday=1, starts=time(9), ends=time(11), slot_minutes=60,
                               valid_from=date(2020, 1, 1)))   # Tuesdays 9-11: two slots before Thursday
    db.session.commit()
    officers = [factories.officer(unit_name="Squad 3") for _ in range(3)]
    response = auth.post("/wellness/incidents/new", {
        "type_id": incident_type(3).id, "occurred_on": "2026-03-02", "unit_ids": [officers[0].unit_id],
        "description": "Shots fired at the squad."}, form_page="/wellness/incidents/new")
    assert response.status_code == 302
    page = " ".join(client.get(response.headers["Location"]).get_data(as_text=True).split())
    assert "Not enough clinician time." in page
    assert "3 officers still to be booked are due by 05 March 2026" in page and "2 free slots until then" in page
    deliver(runner)
    [warning] = [m for m in smtp_server.to("hr.desk@pd.test") if "Not enough" in m["Subject"]]
    assert warning["Subject"].strip() == "Not enough clinician time: 3 officers due by 5 March, 2 free slots"
    body = smtp_server.text(warning)
    assert "1 short" in body and "http://beacon.test/wellness/incidents/" in body
    [entry] = audit("incident.shortfall")
    assert entry.detail == "3 due by 2026-03-05, 2 free slots; HR emailed" and entry.private
    # Once booked, the officers no longer need the time: the warning goes.
    incident_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for officer in officers:
        evaluation = evaluation_of(officer)
        evaluation.status = EvaluationStatus.SCHEDULED
    db.session.commit()
    assert "Not enough clinician time" not in client.get(f"/wellness/incidents/{incident_id}").get_data(as_text=True)


def test_no_warning_when_the_clinicians_have_time_and_none_for_dates_already_past(hr, client):
    plenty_of_clinician_time()
    overdue = factories.officer()
    factories.evaluation(overdue, due_on=date(2026, 2, 1))   # no slot can be before it: not a shortfall
    incident = record(hr, 3, date(2026, 3, 2), [overdue] + [factories.officer() for _ in range(3)])
    assert evaluation_of(overdue).due_on == date(2026, 2, 1)
    assert incidents.shortfall(incident) is None
    assert "Not enough clinician time" not in client.get(f"/wellness/incidents/{incident.id}").get_data(as_text=True)


# --- who may, and refusals -----------------------------------------------------------------

@pytest.mark.parametrize("role", ["officer", "clinician", "admin"])
def test_only_hr_reaches_the_correction_pages(role, auth, client, now):
    hr_actor = Actor.for_user(factories.user(roles=["hr"]))
    officer = factories.officer()
    incident = record(hr_actor, 3, date(2026, 3, 1), [officer])
    auth.as_role(role)
    for path in ("edit", "affected", "withdraw"):
        url = f"/wellness/incidents/{incident.id}/{path}"
        assert client.get(url).status_code in (403, 404)
        assert auth.post(url, {"reason": "x", "confirm": "y", "badges": officer.badge_number}).status_code \
            in (403, 404)
    db.session.expire_all()
    assert db.session.get(CriticalIncident, incident.id).withdrawn_at is None


def test_a_bad_date_or_a_blank_reason_is_refused_beside_its_field_and_changes_nothing(hr, auth):
    plenty_of_clinician_time()
    officer = factories.officer()
    incident = record(hr, 3, date(2026, 3, 1), [officer])
    for value, message in (("2026-02-30", "Not a valid date value"), ("2026-04-01", "cannot be in the future")):
        response = edit(auth, incident, occurred_on=value)
        assert response.status_code == 422
        assert error_beside(response.get_data(as_text=True), "occurred_on", message), value
    blank = edit(auth, incident, description="   ")
    assert blank.status_code == 422 and error_beside(blank.get_data(as_text=True), "description", "required")

    page = f"/wellness/incidents/{incident.id}/withdraw"
    no_reason = auth.post(page, {"reason": "  ", "confirm": "y"}, form_page=page)
    assert no_reason.status_code == 422
    assert error_beside(no_reason.get_data(as_text=True), "reason", "Say why the incident is withdrawn.")
    unconfirmed = auth.post(page, {"reason": "Recorded twice."}, form_page=page)
    assert unconfirmed.status_code == 422
    assert error_beside(unconfirmed.get_data(as_text=True), "confirm", "Tick the box to confirm.")
    nobody = auth.post(f"/wellness/incidents/{incident.id}/affected", {"badges": "NOSUCH"},
                       form_page=f"/wellness/incidents/{incident.id}/affected")
    assert nobody.status_code == 422
    assert error_beside(nobody.get_data(as_text=True), "badges", "Not on the roster: NOSUCH")

    db.session.expire_all()
    same = db.session.get(CriticalIncident, incident.id)
    assert same.occurred_on == date(2026, 3, 1) and same.withdrawn_at is None and same.updated_at is None
    assert evaluation_of(officer).due_on == date(2026, 3, 4) and evaluation_of(officer).is_open
    assert audit("incident.updated") == audit("incident.withdrawn") == audit("incident.officers_added") == []
