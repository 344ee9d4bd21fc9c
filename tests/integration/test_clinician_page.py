"""The clinician's page built around what they must do next: each appointment in one
section (needs you, today, upcoming soonest first, past newest first and paged) with only
the actions valid for its state and time; "Did not attend" behind a confirmation step
that says what will happen; home counts that link to their lists. On SQLite and
PostgreSQL."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.db import db
from core.models import OutboxMessage
from tests import factories
from wellness.models import Appointment, AppointmentStatus, EvaluationStatus, WellnessEvaluation

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)   # 09:00 in Chicago (CST)
SECTIONS = ("needs-you", "today", "upcoming", "past")


@pytest.fixture
def now():
    with clock.frozen(MONDAY):
        yield MONDAY


@pytest.fixture
def clinic(app, now):
    user = factories.user(roles=["clinician"], email="dr.okafor@clinic.test", name="Dr. Ngozi Okafor")
    clinician = factories.clinician(name="Dr. Ngozi Okafor", user_row=user, email="dr.okafor@clinic.test")
    return user, clinician


def visit(clinician, last, starts_at, status, minutes=60):
    """An appointment with `clinician` for a new officer named `last`."""
    officer = factories.officer(first="Nicole", last=last)
    appointment = factories.appointment(factories.evaluation(officer), clinician, starts_at, status=status)
    if minutes != 60:
        appointment.ends_at = starts_at + timedelta(minutes=minutes)
        db.session.commit()
    return appointment


def sections(html):
    """{section: [(appointment id, its row's html)]}, in page order."""
    found = {}
    for name, following in zip(SECTIONS, SECTIONS[1:] + (None,), strict=True):
        start = html.index(f'id="{name}"')
        end = html.index(f'id="{following}"') if following else len(html)
        found[name] = [(int(m.group(1)), m.group(2))
                       for m in re.finditer(r'data-appointment="(\d+)">(.*?)</li>', html[start:end], re.S)]
    return found


def ids(rows):
    return [appointment_id for appointment_id, _ in rows]


def actions(row):
    """The buttons and action links of a row, by their words."""
    return re.findall(r'class="btn btn-sm[^"]*"[^>]*>([^<]+)</', row)


def test_each_appointment_is_in_one_section_in_time_order_with_only_its_valid_actions(auth, client, clinic):
    user, clinician = clinic
    unrecorded = visit(clinician, "Sunday", MONDAY - timedelta(days=1), "confirmed")
    unconfirmed_past = visit(clinician, "Early", MONDAY - timedelta(minutes=30), "booked", minutes=45)
    to_confirm = visit(clinician, "Thursday", MONDAY + timedelta(days=3), "booked")
    to_move = visit(clinician, "Friday", MONDAY + timedelta(days=4), "reschedule_requested")
    later_today = visit(clinician, "Noon", MONDAY + timedelta(hours=3), "confirmed")
    next_week = visit(clinician, "Later", MONDAY + timedelta(days=8), "confirmed")
    tomorrow = visit(clinician, "Tomorrow", MONDAY + timedelta(days=1), "confirmed")
    attended = visit(clinician, "Attended", MONDAY - timedelta(days=7), "attended")
    declined = visit(clinician, "Declined", MONDAY + timedelta(days=2), "declined")
    lapsed = visit(clinician, "Lapsed", MONDAY - timedelta(days=2), "reschedule_requested")
    other = visit(factories.clinician(name="Dr. Someone Else"), "Elsewhere", MONDAY + timedelta(days=1), "booked")

    auth.login(user.email)
    response = client.get("/wellness/clinic")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = sections(html)
    assert ids(found["needs-you"]) == [unrecorded.id, unconfirmed_past.id, to_confirm.id, to_move.id]
    assert ids(found["today"]) == [later_today.id]
    assert ids(found["upcoming"]) == [tomorrow.id, next_week.id]          # soonest first
    assert ids(found["past"]) == [declined.id, lapsed.id, attended.id]    # newest first
    assert other.id not in {i for rows in found.values() for i in ids(rows)}

    rows = {i: row for section in found.values() for i, row in section}
    # A visit that has begun, confirmed or not: attendance only, never Confirm/Decline.
    assert actions(rows[unrecorded.id]) == ["Attended", "Did not attend"]
    assert actions(rows[unconfirmed_past.id]) == ["Attended", "Did not attend"]
    assert "Record attendance" in rows[unconfirmed_past.id]
    # One to come: confirm or decline, never attendance.
    assert actions(rows[to_confirm.id]) == ["Confirm", "Decline"]
    assert actions(rows[to_move.id]) == ["Propose another time"]
    for quiet in (later_today, tomorrow, next_week, attended, declined, lapsed):
        assert actions(rows[quiet.id]) == [], quiet.officer.full_name
    # Times come with the slot's length.
    assert "Mon 02 Mar 2026 08:30 CST</a>" in rows[unconfirmed_past.id] and "· 45 min" in rows[unconfirmed_past.id]
    assert "· 60 min" in rows[tomorrow.id]
    # The no-show link leads to the confirmation step, not straight to a change.
    assert f'href="/wellness/appointments/{unrecorded.id}/no-show?back=clinic"' in rows[unrecorded.id]
    # The reminders are folded away.
    assert '<details class="small mb-3" id="clinic-reminders">' in html


def test_the_past_is_paged_newest_first(auth, client, clinic):
    user, clinician = clinic
    officer = factories.officer(last="Often")
    evaluation = factories.evaluation(officer)
    past = [factories.appointment(evaluation, clinician, MONDAY - timedelta(days=day), status="attended")
            for day in range(1, 26)]
    auth.login(user.email)
    first = sections(client.get("/wellness/clinic").get_data(as_text=True))["past"]
    second_page = client.get("/wellness/clinic?page=2").get_data(as_text=True)
    second = sections(second_page)["past"]
    assert ids(first) == [a.id for a in past[:20]]
    assert ids(second) == [a.id for a in past[20:]]
    assert "Page 2 of 2" in second_page


def test_the_appointment_page_shows_attendance_only_once_begun_and_not_for_a_lapsed_request(auth, client, clinic):
    user, clinician = clinic
    coming = visit(clinician, "Coming", MONDAY + timedelta(days=1), "booked")
    begun = visit(clinician, "Begun", MONDAY - timedelta(hours=1), "booked")
    lapsed = visit(clinician, "Lapsed", MONDAY - timedelta(days=1), "reschedule_requested")
    auth.login(user.email)
    page = client.get(f"/wellness/clinic/appointments/{coming.id}").get_data(as_text=True)
    assert ">Confirm</button>" in page and "Attended" not in page and "Did not attend" not in page
    assert 'id="slot-length">60 min, until 10:00 CST<' in page
    page = client.get(f"/wellness/clinic/appointments/{begun.id}").get_data(as_text=True)
    assert ">Attended</button>" in page and ">Confirm</button>" not in page and "Decline" not in page
    assert f'href="/wellness/appointments/{begun.id}/no-show">Did not attend</a>' in page
    page = client.get(f"/wellness/clinic/appointments/{lapsed.id}").get_data(as_text=True)
    assert "Attended" not in page and "Did not attend" not in page


# --- "Did not attend": a confirmation step -------------------------------------------------

def outbox_count():
    return db.session.scalar(select(db.func.count()).select_from(OutboxMessage))


def test_did_not_attend_asks_first_saying_what_will_happen_and_changes_nothing(auth, client, clinic):
    user, clinician = clinic
    factories.user(roles=["hr"], email="hr.one@pd.test")
    factories.user(roles=["hr"], email="hr.two@pd.test")
    missed = visit(clinician, "Brown", MONDAY - timedelta(hours=2), "confirmed")
    due = missed.evaluation.due_on
    auth.login(user.email)
    before = outbox_count()
    response = client.get(f"/wellness/appointments/{missed.id}/no-show")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1 class=\"h3\">Record that Nicole Brown did not attend?</h1>" in page
    assert "Monday 02 March 2026 at 07:00 CST (60 min)" in page
    assert "HR is told, by name, that Nicole Brown did not attend" in page
    assert "2 HR accounts get an email" in page
    assert f"still due by {due:%d %B %Y}" in page
    assert "Nicole Brown gets a short email" in page
    assert 'name="csrf_token"' in page and f'action="/wellness/appointments/{missed.id}/no-show"' in page
    assert db.session.get(Appointment, missed.id).status == AppointmentStatus.CONFIRMED
    assert outbox_count() == before


def test_confirming_records_the_no_show_and_goes_back_where_it_was_asked(auth, client, clinic):
    user, clinician = clinic
    factories.user(roles=["hr"], email="hr.one@pd.test")
    missed = visit(clinician, "Brown", MONDAY - timedelta(hours=2), "confirmed")
    auth.login(user.email)
    confirm_page = f"/wellness/appointments/{missed.id}/no-show?back=clinic"
    assert 'name="back" value="clinic"' in client.get(confirm_page).get_data(as_text=True)
    response = auth.post(f"/wellness/appointments/{missed.id}/no-show", {"back": "clinic"}, form_page=confirm_page)
    assert response.status_code == 302 and response.headers["Location"].endswith("/wellness/clinic")
    db.session.expire_all()
    assert db.session.get(Appointment, missed.id).status == AppointmentStatus.NO_SHOW
    assert db.session.get(WellnessEvaluation, missed.evaluation_id).status == EvaluationStatus.OPEN
    assert "Recorded: did not attend." in client.get("/wellness/clinic").get_data(as_text=True)


def test_without_the_token_nothing_is_recorded(auth, client, clinic):
    user, clinician = clinic
    missed = visit(clinician, "Brown", MONDAY - timedelta(hours=2), "confirmed")
    auth.login(user.email)
    response = client.post(f"/wellness/appointments/{missed.id}/no-show", data={})
    assert response.status_code in (302, 400)
    db.session.expire_all()
    assert db.session.get(Appointment, missed.id).status == AppointmentStatus.CONFIRMED


def test_a_no_show_is_refused_before_the_appointment_begins_on_the_page_and_on_post(auth, client, clinic):
    user, clinician = clinic
    coming = visit(clinician, "Coming", MONDAY + timedelta(hours=2), "confirmed")
    auth.login(user.email)
    before = outbox_count()
    response = client.get(f"/wellness/appointments/{coming.id}/no-show")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/wellness/clinic/appointments/{coming.id}")
    refusal = "A no-show can be recorded only once the appointment time has come."
    assert refusal in client.get(response.headers["Location"]).get_data(as_text=True)
    response = auth.post(f"/wellness/appointments/{coming.id}/no-show", {},
                         form_page=f"/wellness/clinic/appointments/{coming.id}")
    assert response.status_code == 302
    assert refusal in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Appointment, coming.id).status == AppointmentStatus.CONFIRMED
    assert outbox_count() == before


def test_a_no_show_is_refused_once_the_appointment_has_ended(auth, client, clinic):
    user, clinician = clinic
    done = visit(clinician, "Done", MONDAY - timedelta(days=1), "attended")
    auth.login(user.email)
    response = client.get(f"/wellness/appointments/{done.id}/no-show")
    assert response.status_code == 302
    assert "This appointment is attended; it cannot be marked as a no-show." in \
        client.get(response.headers["Location"]).get_data(as_text=True)


def test_another_clinicians_appointment_has_no_confirmation_page(auth, client, clinic):
    user, _ = clinic
    theirs = visit(factories.clinician(name="Dr. Other"), "Theirs", MONDAY - timedelta(hours=2), "confirmed")
    auth.login(user.email)
    assert client.get(f"/wellness/appointments/{theirs.id}/no-show").status_code == 404


# --- home counts are links ---------------------------------------------------------------

def test_the_clinicians_home_counts_link_to_what_needs_them_in_the_singular_when_one(auth, client, clinic):
    user, clinician = clinic
    visit(clinician, "Sunday", MONDAY - timedelta(days=1), "confirmed")
    visit(clinician, "Thursday", MONDAY + timedelta(days=3), "booked")
    visit(clinician, "Friday", MONDAY + timedelta(days=4), "booked")
    auth.login(user.email)
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/wellness/clinic#needs-you" id="home-to-record"><strong>1</strong> attendance record to make</a>' \
        in home
    assert '<a href="/wellness/clinic#needs-you" id="home-to-confirm"><strong>2</strong> bookings to confirm</a>' \
        in home
    assert "(s)" not in home


def test_the_supervisors_home_links_to_their_upward_feedback_and_activities_to_verify(auth, client, app):
    from evaluations.models import Activity
    from core.audit import Actor
    from evaluations.services import cycles
    team = factories.team(reports=3)
    cycle = factories.review_cycle(threshold=2)
    cycles.move(Actor.system("test"), cycle.id, "close")
    for member in team.members[:2]:
        db.session.add(Activity(officer_id=member.id, day=clock.now().date(), kind="meeting", hours=1, note="",
                                status="pending", created_at=clock.now()))
    db.session.commit()
    auth.login(team.users[team.sergeant.id].email)
    home = client.get("/").get_data(as_text=True)
    assert ('<a href="/reviews/activities#to-verify" id="home-to-verify"><strong>2</strong> community activities '
            'to verify</a>') in home
    assert f'<a href="/reviews/cycles/{cycle.id}/upward" id="home-upward">Your upward feedback from {cycle.name}</a>' \
        in home
    assert client.get(f"/reviews/cycles/{cycle.id}/upward").status_code == 200
    # An officer who supervises nobody sees neither.
    client.get("/")
    auth.logout()
    auth.login(team.users[team.members[0].id].email)
    home = client.get("/").get_data(as_text=True)
    assert "home-to-verify" not in home and "home-upward" not in home


def test_hr_and_admin_home_counts_are_links(auth, client, app):
    factories.officer(status="leave")
    factories.officer()
    auth.as_role("hr")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'<a href="/roster/\?status=leave" id="home-roster-leave">\d+ on leave</a>', home)
    assert re.search(r'<a href="/roster/accounts" id="home-without-account">\d+ officers? without an account</a>',
                     home)
    auth.logout()
    locked = factories.user(roles=["officer"], name="Lee Locked")
    locked.locked_until = clock.now() + timedelta(hours=1)
    db.session.commit()
    auth.as_role("admin")
    home = client.get("/").get_data(as_text=True)
    assert f'<a href="/admin/accounts/{locked.id}" id="home-locked"><strong>1 locked account</strong></a>' in home
    assert re.search(r'<a href="/admin/accounts" id="home-accounts">\d+ accounts</a>', home)
    assert "(s)" not in home.split('id="admin-todo"')[1].split("</section>")[0]
