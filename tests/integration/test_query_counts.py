"""Pages work in SQL: the number of queries a page makes does not grow with the number
of officers (ARCHITECTURE.md, "Scale"). Each test counts one page's statements with 5
officers and again with 50, and asserts the two counts are equal (whatever they are
today), and that the page does show the larger data."""
from datetime import datetime, timedelta, timezone

import pytest

from core import clock
from core.db import db
from core.services import outbox
from tests import factories
from wellness.models import AttentionItem

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def department(app):
    """Grows a department to `n` officers: units, a supervisor, an account for every
    third officer, an open wellness evaluation for each, an appointment for every fifth,
    and one queued email per officer (every other one health-related)."""
    people = []
    clinician = None

    def grow(n):
        nonlocal clinician
        with clock.frozen(MONDAY):
            clinician = clinician or factories.clinician()
            while len(people) < n:
                i = len(people)
                officer = factories.officer(last=f"Counted{i:03d}", unit_name=f"District {i % 3}",
                                            supervisor=people[0] if people else None)
                if i % 3 == 0:
                    factories.user(officer_row=officer)
                evaluation = factories.evaluation(officer_row=officer)
                if i % 5 == 0:
                    factories.appointment(evaluation_row=evaluation, clinician_row=clinician,
                                          starts_at=MONDAY + timedelta(days=1, hours=i))
                elif i % 5 == 1:  # a no-show, on HR's Needs attention list
                    db.session.add(AttentionItem(evaluation_id=evaluation.id, kind="no_show", opened_at=MONDAY))
                    evaluation.attention = "no_show"
                outbox.enqueue(kind="test_note", recipient=officer.email, subject=f"Note {i:03d}", body="b",
                               dedup_key=f"test:{i}", private=i % 2 == 1)
                db.session.commit()
                people.append(officer)
    return grow


def queries_at_5_and_50(department, count_queries, client, path, expected_at_50):
    counts = []
    for n in (5, 50):
        department(n)
        client.get(path)  # the first request of a size warms caches (compiled SQL, templates)
        with clock.frozen(MONDAY), count_queries() as counted:
            response = client.get(path)
        assert response.status_code == 200
        counts.append(len(counted))
    assert expected_at_50 in response.get_data(as_text=True)
    return counts


def test_roster_page_makes_as_many_queries_for_50_officers_as_for_5(department, count_queries, auth, client):
    auth.as_role("hr")
    small, large = queries_at_5_and_50(department, count_queries, client, "/roster/", "Counted049")
    assert small == large > 0


def test_wellness_dashboard_makes_as_many_queries_for_50_officers_as_for_5(department, count_queries, auth,
                                                                           client):
    auth.as_role("hr")
    small, large = queries_at_5_and_50(department, count_queries, client, "/wellness/?all_units=1", "Counted049")
    assert small == large > 0


def test_outbox_page_makes_as_many_queries_for_50_messages_as_for_5(department, count_queries, auth, client):
    auth.as_role("admin")
    small, large = queries_at_5_and_50(department, count_queries, client, "/admin/outbox/", "Note 048")
    assert small == large > 0


def test_count_queries_counts_what_a_block_runs(app, count_queries):
    factories.officer()
    with count_queries() as counted:
        db.session.execute(db.select(factories.Officer)).all()
        db.session.execute(db.select(factories.Unit)).all()
    assert len(counted) == 2 and "officers" in counted.statements[0]


def test_needs_attention_list_makes_as_many_queries_for_50_officers_as_for_5(department, count_queries, auth,
                                                                             client):
    auth.as_role("hr")
    at_5, at_50 = queries_at_5_and_50(department, count_queries, client, "/wellness/attention", "Counted046")
    assert at_5 == at_50


def test_clinicians_page_makes_as_many_queries_for_50_officers_as_for_5(department, count_queries, auth, client):
    """Needs you, today, upcoming and the paged past, each growing with the department."""
    from sqlalchemy import select

    from core.models import Officer
    from wellness.models import Clinician, WellnessEvaluation
    me = auth.as_role("clinician")
    seen = []

    def grow(n):
        department(n)
        clinician = db.session.scalar(select(Clinician).order_by(Clinician.id).limit(1))
        clinician.user_id = me.id
        with clock.frozen(MONDAY):
            for officer in db.session.scalars(select(Officer).where(Officer.last_name.like("Counted%"))
                                              .order_by(Officer.id)).all():
                if officer.id not in seen:  # and a visit last week, attended
                    seen.append(officer.id)
                    evaluation = db.session.scalar(select(WellnessEvaluation)
                                                   .where(WellnessEvaluation.officer_id == officer.id))
                    factories.appointment(evaluation_row=evaluation, clinician_row=clinician, status="attended",
                                          starts_at=MONDAY - timedelta(days=7, hours=len(seen)))
        db.session.commit()

    at_5, at_50 = queries_at_5_and_50(grow, count_queries, client, "/wellness/clinic", "Counted045")
    assert at_5 == at_50 > 0
