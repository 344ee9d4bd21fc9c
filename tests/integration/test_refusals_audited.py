"""Every refusal leaves a trace: a 403, or a 404 for a record id (raised by a service's
ownership check or by a route with an id in its path), is written to the audit log
with who, what and which id, in a transaction of its own. Wellness refusals go to HR's
wellness log only. Repeated refusals within a few minutes add one "repeated" entry."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.audit import DENIED, NOT_FOUND, REPEATED
from core.db import db
from core.errors import NotFound
from core.models import AuditEntry, Unit
from evaluations.models import ReviewAssignment
from tests import factories
from tests.conftest import CSRF_RE

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


def refusals(**where):
    query = select(AuditEntry).where(AuditEntry.action.in_((DENIED, NOT_FOUND, REPEATED))).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return db.session.scalars(query).all()


@pytest.fixture
def two_officers(app):
    """Two officers with accounts; the second has an evaluation and an appointment."""
    with clock.frozen(MONDAY):
        prober = factories.user(roles=["officer"])
        victim = factories.user(roles=["officer"])
        evaluation = factories.evaluation(officer_row=db.session.get(factories.Officer, victim.officer_id))
        appointment = factories.appointment(evaluation_row=evaluation)
        return prober, victim, evaluation.id, appointment.id


def page_without_token(response) -> str:
    return CSRF_RE.sub('name="csrf_token" value="…"', response.get_data(as_text=True))


def test_an_officer_probing_another_officers_appointment_is_logged_privately(two_officers, auth, client):
    prober, _, _, appointment_id = two_officers
    with clock.frozen(MONDAY):
        auth.login(prober.email)
        unknown = client.get("/wellness/appointments/999999/move")
        response = client.get(f"/wellness/appointments/{appointment_id}/move")
    assert response.status_code == 404
    # The page is the one for an id that does not exist: nothing tells the two apart
    # (but the CSRF token of the sign-out form, which carries the second it was made).
    assert page_without_token(response) == page_without_token(unknown)
    entry = refusals(detail=f"GET wellness.move appointment_id={appointment_id}")[0]
    assert (entry.action, entry.outcome, entry.private) == (NOT_FOUND, "not found", True)
    assert entry.actor_id == prober.id and entry.actor_label == prober.email and entry.ip == "127.0.0.1"
    assert entry.target == "/wellness/appointments/<int:appointment_id>/move"
    assert entry.at == MONDAY


def test_an_officer_probing_another_officers_evaluation_is_logged_privately(two_officers, auth, client):
    prober, _, evaluation_id, _ = two_officers
    auth.login(prober.email)
    assert client.get(f"/wellness/evaluations/{evaluation_id}/book").status_code == 404
    [entry] = refusals()
    assert entry.actor_id == prober.id and entry.private
    assert entry.target == "/wellness/evaluations/<int:evaluation_id>/book"
    assert entry.detail == f"GET wellness.book evaluation_id={evaluation_id}"


def test_an_officer_probing_another_officers_review_assignment_is_logged_in_the_general_log(app, auth, client):
    team = factories.team(reports=2)
    cycle = factories.review_cycle()
    theirs = db.session.scalars(select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id,
                                                               ReviewAssignment.rater_id == team.members[0].id)).first()
    prober = team.users[team.members[1].id]
    auth.login(prober.email)
    assert client.get(f"/reviews/assignments/{theirs.id}").status_code == 404
    [entry] = refusals()
    assert (entry.action, entry.actor_id, entry.private) == (NOT_FOUND, prober.id, False)
    assert entry.target == "/reviews/assignments/<int:assignment_id>"
    assert entry.detail == f"GET reviews.review assignment_id={theirs.id}"


def test_a_clinician_probing_another_clinicians_appointment_is_logged_privately(app, auth, client):
    with clock.frozen(MONDAY):
        mine, other = factories.user(roles=["clinician"]), factories.user(roles=["clinician"])
        factories.clinician(user_row=mine)
        appointment = factories.appointment(clinician_row=factories.clinician(user_row=other))
        auth.login(mine.email)
        assert client.get(f"/wellness/clinic/appointments/{appointment.id}").status_code == 404
    [entry] = refusals()
    assert (entry.action, entry.actor_id, entry.private) == (NOT_FOUND, mine.id, True)
    assert entry.target == "/wellness/clinic/appointments/<int:appointment_id>"
    assert f"appointment_id={appointment.id}" in entry.detail


def test_hr_refused_an_admin_page_is_logged_once_in_the_general_log(app, auth, client):
    hr = auth.as_role("hr")
    target = factories.user(roles=["officer"])
    assert client.get(f"/admin/accounts/{target.id}").status_code == 403
    [entry] = refusals()
    assert (entry.action, entry.outcome, entry.actor_id, entry.private) == (DENIED, "denied", hr.id, False)
    assert entry.target == "/admin/accounts/<int:user_id>"
    assert entry.detail == f"GET admin.account_detail user_id={target.id}"


def test_an_address_that_is_no_page_is_not_logged_but_a_missing_record_is(app, auth, client):
    auth.as_role("hr")
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/static/no-such-file.css").status_code == 404
    assert refusals() == []
    assert client.get("/roster/999999").status_code == 404
    [entry] = refusals()
    assert entry.target == "/roster/<int:officer_id>" and entry.detail == "GET roster.officer officer_id=999999"


def test_ten_refusals_in_a_row_write_one_repeated_entry(two_officers, auth, client, frozen_clock):
    prober, _, _, appointment_id = two_officers
    auth.login(prober.email)
    for n in range(12):
        client.get(f"/wellness/appointments/{appointment_id + n}/move")
    assert len(refusals(action=NOT_FOUND)) == 12
    [alert] = refusals(action=REPEATED)
    assert alert.actor_id == prober.id and alert.private
    assert alert.detail == "repeated refusals: 10 in 10 minutes"
    # Written once for the window: the 10th refusal raised it, the 11th and 12th did not.
    tenth = refusals(action=NOT_FOUND)[9]
    assert tenth.id < alert.id < refusals(action=NOT_FOUND)[10].id
    # Refusals spread over more than the window do not add up to probing.
    frozen_clock.advance(timedelta(minutes=11))
    for n in range(9):
        client.get(f"/wellness/appointments/{appointment_id + n}/move")
    assert len(refusals(action=REPEATED)) == 1
    client.get(f"/wellness/appointments/{appointment_id}/move")
    assert len(refusals(action=REPEATED)) == 2


@pytest.mark.parametrize("app_config", [{"REFUSAL_ALERT_COUNT": 3, "REFUSAL_ALERT_MINUTES": 2}])
def test_the_probing_rule_follows_its_settings(auth, client, frozen_clock):
    hr = auth.as_role("hr")
    for _ in range(3):
        client.get("/admin/accounts")
    [alert] = refusals(action=REPEATED)
    assert alert.actor_id == hr.id and not alert.private and alert.detail == "repeated refusals: 3 in 2 minutes"


def test_administrators_do_not_see_wellness_refusals_hr_finds_them_by_the_refused_filter(two_officers, auth, client):
    prober, _, _, appointment_id = two_officers
    auth.login(prober.email)
    client.get(f"/wellness/appointments/{appointment_id}/move")
    client.get("/admin/audit")
    auth.logout()
    auth.as_role("admin")
    general = client.get("/admin/audit?action=refused").get_data(as_text=True)
    rows = general.split("<tbody>")[1]
    assert "/admin/audit" in rows and "/wellness/" not in rows and "appointment_id" not in rows
    auth.logout()
    auth.as_role("hr")
    wellness_log = client.get("/wellness/audit?action=refused").get_data(as_text=True)
    rows = wellness_log.split("<tbody>")[1]
    assert f"appointment_id={appointment_id}" in rows and prober.email in rows and "/admin/audit" not in rows
    assert 'value="refused"' in wellness_log   # the filter offers it


def test_the_refusal_entry_survives_although_the_request_rolled_back(app, auth, client):
    def half_done(thing_id):
        db.session.add(Unit(name="Written by a refused request"))
        db.session.flush()
        raise NotFound("Not found.")

    app.add_url_rule("/test-only/<int:thing_id>", "test_only_half_done", half_done)
    user = auth.as_role("officer")
    assert client.get("/test-only/7").status_code == 404
    assert db.session.scalar(select(Unit).where(Unit.name == "Written by a refused request")) is None
    [entry] = refusals()
    assert entry.actor_id == user.id and entry.detail == "GET test_only_half_done thing_id=7"


def test_a_refusal_on_a_route_with_a_secret_in_its_path_withholds_it(app, auth, client):
    def with_token(token, thing_id):
        raise NotFound("Not found.")

    app.add_url_rule("/test-only/<token>/<int:thing_id>", "test_only_token", with_token)
    auth.as_role("officer")
    assert client.get("/test-only/s3cret-t0ken/3").status_code == 404
    [entry] = refusals()
    assert entry.detail == "GET test_only_token token=(withheld) thing_id=3" and "s3cret" not in entry.target
