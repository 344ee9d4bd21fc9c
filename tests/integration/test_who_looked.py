"""An officer sees who looked at their wellness record and opened their 360 report
(issue 16, item 3): who, in what role, when, what; never another officer's entries, never
an entry's detail."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.services import roster
from tests import factories
from wellness.models import WellnessEvaluation
from wellness.services import appointments, evaluations, incidents

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
TUESDAY_10_LOCAL = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)
SECRET = "Partner killed on Elm Street"


@pytest.fixture
def world(app):
    with clock.frozen(MONDAY):
        officer = factories.officer(first="Olly", last="Report", unit_name="Bravo")
        other = factories.officer(first="Otto", last="Otherby", unit_name="Bravo")
        me = factories.user(roles=["officer"], officer_row=officer)
        factories.user(roles=["officer"], officer_row=other)
        hr_user = factories.user(roles=["hr"], name="Harriet Human")
        clinician_user = factories.user(roles=["clinician"], name="Dr. Cleo Linic")
        clinician = factories.clinician(name="Dr. Cleo Linic", user_row=clinician_user)
        hr = Actor.for_user(hr_user)
        kind = incidents.types()[1]
        incidents.record_incident(hr, type_id=kind.id, occurred_on=date(2026, 3, 1), description=SECRET,
                                  officer_ids=[officer.id, other.id], unit_ids=[])
        evaluation = db.session.scalar(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id))
        appointment = appointments.book(hr, evaluation.id, clinician.id, TUESDAY_10_LOCAL)
        appointments.confirm(Actor.for_user(clinician_user), appointment.id)
        evaluations.officer_record(hr, other.id)  # another officer's record: never on Olly's list
    return {"me": me, "officer": officer, "hr": hr, "hr_user": hr_user}


def test_the_officer_sees_who_opened_and_changed_their_record(app, auth, client, world):
    with clock.frozen(MONDAY):
        evaluations.officer_record(world["hr"], world["officer"].id)
    auth.login(world["me"].email)
    page = client.get("/wellness/looked").get_data(as_text=True)
    assert "Harriet Human" in page and "Opened your wellness record" in page
    assert "Booked an appointment for you" in page and "Recorded an incident that lists you" in page
    assert "Dr. Cleo Linic" in page and "Confirmed your appointment" in page and ">Clinician<" in page
    assert ">HR<" in page and "CST" in page
    assert SECRET not in page and "Otherby" not in page
    assert page.count("Opened your wellness record") == 1  # Otto's record view is not Olly's


def test_the_officers_own_pages_link_to_the_list(app, auth, client, world):
    auth.login(world["me"].email)
    assert 'href="/wellness/looked"' in client.get("/wellness/me").get_data(as_text=True)
    assert 'href="/reviews/looked"' in client.get("/reviews/").get_data(as_text=True)


def test_who_opened_the_360_report_is_listed_for_its_subject(app, auth, client):
    from evaluations.services import cycles, reports
    supervisor = factories.officer(first="Sue", last="Pervisor")
    subject = factories.officer(first="Sid", last="Subject", supervisor=supervisor)
    sup_user = factories.user(roles=["officer"], officer_row=supervisor, name="Sue Pervisor")
    me = factories.user(roles=["officer"], officer_row=subject)
    cycle = factories.review_cycle(threshold=2)
    system = Actor.system("test")
    cycles.move(system, cycle.id, "close")
    cycles.move(system, cycle.id, "publish", period="none")
    reports.subject_report(Actor.for_user(sup_user), cycle.id, subject.id)
    db.session.commit()
    auth.login(me.email)
    page = client.get("/reviews/looked").get_data(as_text=True)
    assert "Sue Pervisor" in page and "Opened your 360 report" in page
    assert "supervisor" in page


def test_no_one_else_reaches_an_officers_list(app, auth, client, world):
    auth.as_role("hr")
    assert client.get("/wellness/looked").status_code == 403
    assert client.get("/reviews/looked").status_code == 403


def test_the_list_takes_the_same_queries_for_three_entries_or_thirty(app, auth, client, world, count_queries):
    auth.login(world["me"].email)
    counts = []
    for n in (3, 30):
        with clock.frozen(MONDAY):
            for _ in range(n):
                evaluations.officer_record(world["hr"], world["officer"].id)
        client.get("/wellness/looked")
        with count_queries() as queries:
            assert client.get("/wellness/looked").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert roster  # the roster's officers are the list's subjects
