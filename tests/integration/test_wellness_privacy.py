"""Who sees what of wellness evaluations: never broken.

Officers see only their own; clinicians only the officers booked with them (and, for
an incident evaluation, the incident); HR statuses and dates; supervisors and anyone
else nothing, not even that an evaluation exists. Every HR or clinician view of a
wellness record or an incident is audited. Emails and exports stay neutral."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.models import AuditEntry
from core.models import OutboxMessage
from tests import factories
from wellness.models import Appointment, WellnessEvaluation
from wellness.services import appointments, incidents

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
TUESDAY_10_LOCAL = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)
SECRET = "Partner killed in an ambush on Elm Street"


@pytest.fixture
def world(app):
    """A sergeant and the officer who reports to them; the officer has an incident
    evaluation booked with one clinician; another clinician has nothing to do with it."""
    with clock.frozen(MONDAY):
        sergeant = factories.officer(first="Sam", last="Sergeant", rank="Sergeant", unit_name="Bravo")
        officer = factories.officer(first="Olly", last="Report", supervisor=sergeant, unit_name="Bravo")
        peer = factories.officer(first="Pia", last="Peer", supervisor=sergeant, unit_name="Bravo")
        users = {
            "sergeant": factories.user(roles=["officer"], officer_row=sergeant),
            "officer": factories.user(roles=["officer"], officer_row=officer),
            "peer": factories.user(roles=["officer"], officer_row=peer),
            "hr": factories.user(roles=["hr"]),
            "admin": factories.user(roles=["admin"]),
            "clinician": factories.user(roles=["clinician"]),
            "other_clinician": factories.user(roles=["clinician"]),
        }
        clinician = factories.clinician(name="Dr. Booked", user_row=users["clinician"])
        factories.clinician(name="Dr. Elsewhere", user_row=users["other_clinician"])
        hr = Actor.for_user(users["hr"])
        kind = incidents.types()[1]  # death of a partner
        result = incidents.record_incident(hr, type_id=kind.id, occurred_on=date(2026, 3, 1), description=SECRET,
                                           officer_ids=[officer.id], unit_ids=[])
        evaluation = db.session.scalar(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id))
        appointment = appointments.book(hr, evaluation.id, clinician.id, TUESDAY_10_LOCAL)
        return {"users": users, "officer": officer, "sergeant": sergeant, "evaluation": evaluation.id,
                "appointment": appointment.id, "incident": result.incident.id, "clinician": clinician}


def pages_about(world):
    o, e, a, i = world["officer"].id, world["evaluation"], world["appointment"], world["incident"]
    return [f"/wellness/officers/{o}", f"/wellness/evaluations/{e}/book", f"/wellness/appointments/{a}/move",
            f"/wellness/clinic/appointments/{a}", f"/wellness/incidents/{i}", "/wellness/", "/wellness/dashboard.csv",
            "/wellness/incidents", f"/roster/{o}"]


@pytest.mark.parametrize("who", ["sergeant", "peer", "other_clinician", "admin"])
def test_nobody_else_learns_anything_of_an_officers_evaluation(world, auth, client, who):
    with clock.frozen(MONDAY):
        auth.login(world["users"][who].email)
        for path in pages_about(world):
            response = client.get(path)
            text = response.get_data(as_text=True)
            if response.status_code == 200:
                # Only the admin reaches the roster page, which says nothing of wellness.
                assert (who, path) == ("admin", f"/roster/{world['officer'].id}"), path
                assert "Dr. Booked" not in text and "appointment" not in text.lower()
            else:
                assert response.status_code in (403, 404), (path, response.status_code)
        for path in ("/", "/wellness/me", "/wellness/clinic"):
            text = client.get(path).get_data(as_text=True)
            assert "Report" not in text and SECRET not in text and "Olly" not in text


def test_the_officer_sees_their_own_appointment_and_nothing_of_the_incident(world, auth, client):
    with clock.frozen(MONDAY):
        auth.login(world["users"]["officer"].email)
        mine = client.get("/wellness/me").get_data(as_text=True)
        assert "Dr. Booked" in mine and "Tue 03 Mar 2026 10:00 CST" in mine
        assert SECRET not in mine and "partner" not in mine.lower()
        assert client.get(f"/wellness/officers/{world['officer'].id}").status_code == 403
        assert client.get(f"/wellness/clinic/appointments/{world['appointment']}").status_code == 403


def test_the_clinician_sees_the_incident_for_their_own_patient_only(world, auth, client):
    with clock.frozen(MONDAY):
        auth.login(world["users"]["clinician"].email)
        page = client.get(f"/wellness/clinic/appointments/{world['appointment']}").get_data(as_text=True)
        assert "Olly Report" in page and SECRET in page and "Death of a partner" in page
        listing = client.get("/wellness/clinic").get_data(as_text=True)
        assert "Olly Report" in listing and "Pia Peer" not in listing
        for path in ("/wellness/", f"/wellness/officers/{world['officer'].id}", "/roster/", "/admin/audit"):
            assert client.get(path).status_code == 403


def test_hr_sees_statuses_and_dates_but_no_clinical_field_exists(world, auth, client):
    with clock.frozen(MONDAY):
        auth.login(world["users"]["hr"].email)
        record = client.get(f"/wellness/officers/{world['officer'].id}").get_data(as_text=True)
        assert "Due by" in record and "booked" in record
        columns = ({c.name for c in WellnessEvaluation.__table__.columns}
                   | {c.name for c in Appointment.__table__.columns})
        assert not [c for c in columns if any(w in c for w in ("note", "diagnos", "finding", "clinical", "result"))]


def test_every_hr_and_clinician_view_is_audited(world, auth, client):
    with clock.frozen(MONDAY):
        auth.login(world["users"]["hr"].email)
        client.get(f"/wellness/officers/{world['officer'].id}")
        client.get(f"/wellness/incidents/{world['incident']}")
        client.get("/wellness/dashboard.csv")
        auth.logout()
        auth.login(world["users"]["clinician"].email)
        client.get(f"/wellness/clinic/appointments/{world['appointment']}")
    entries = {(e.action, e.actor_id) for e in db.session.scalars(select(AuditEntry))}
    hr_id, clinician_id = world["users"]["hr"].id, world["users"]["clinician"].id
    assert ("wellness.record_viewed", hr_id) in entries
    assert ("incident.viewed", hr_id) in entries
    assert ("wellness.exported", hr_id) in entries
    assert ("appointment.viewed", clinician_id) in entries
    details = " ".join(e.detail + e.target for e in db.session.scalars(select(AuditEntry)))
    assert SECRET not in details


def test_no_message_says_why_and_the_csv_has_no_reason(world, auth, client):
    with clock.frozen(MONDAY):
        hr = Actor.for_user(world["users"]["hr"])
        appointments.cancel(hr, world["appointment"])
        auth.login(world["users"]["hr"].email)
        csv_text = client.get("/wellness/dashboard.csv").get_data(as_text=True)
    bodies = db.session.scalars(select(OutboxMessage)).all()
    assert bodies, "booking and cancelling sent messages"
    for message in bodies:
        text = " ".join([message.subject, message.body, message.ics or ""]).lower()
        for word in ("mental", "health", "incident", "partner", "trauma", "ambush", "evaluation", "psych"):
            assert word not in text, (message.kind, word)
    assert SECRET not in csv_text and "partner" not in csv_text.lower()
    assert csv_text.splitlines()[0] == \
        "badge_number,last_name,first_name,unit,kind,status,state,due_on,appointment,completed_on"
