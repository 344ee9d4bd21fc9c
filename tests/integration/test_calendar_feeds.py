"""Private calendar feeds: a clinician or an officer makes a secret address on their feed
page (shown once), a calendar app fetches it without signing in, and gets that person's
own appointments titled for them, private, the same events (UID, SEQUENCE) as the
invitations and downloads. Replacing or revoking the address, disabling the account or
untying it from its clinician record or roster row ends it (404, nothing more). Fetches
are rate-limited; making and revoking are in the wellness audit log, never the secret.
One test reads the feed with khal, a real calendar client."""
import hashlib
import re
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.models import AccountStatus, AuditEntry, User
from core.services import accounts
from tests import factories
from tests.integration.test_appointment_ics import HEALTH_WORDS, khal_list
from wellness.models import CalendarFeed, Clinician

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)   # Monday 09:00 in Chicago
PAGE = "/wellness/calendar-feed"
ADDRESS_RE = re.compile(r'id="feed-address" type="text" readonly value="([^"]+)"')
OKAFOR = "Dr. Ngozi Okafor"


@pytest.fixture
def people(client):
    """Dr. Okafor sees Officer Nicole Brown (confirmed, Tuesday 10:00) and Sam Cole
    (booked, Wednesday 14:00); Nicole also had one called off 10 days ago and one
    attended 200 days ago (too old for the feed). Another clinician sees Lee Park."""
    with clock.frozen(NOW):
        nicole = factories.officer(first="Nicole", last="Brown", rank="Officer")
        sam = factories.officer(first="Sam", last="Cole")
        lee = factories.officer(first="Lee", last="Park")
        okafor_user = factories.user(roles=["clinician"], email="okafor@clinic.test", name=OKAFOR)
        okafor = factories.clinician(name=OKAFOR, user_row=okafor_user, email="okafor@clinic.test")
        other = factories.clinician(name="Dr. Other Person")
        users = {"nicole": factories.user(officer_row=nicole), "sam": factories.user(officer_row=sam),
                 "lee": factories.user(officer_row=lee), "okafor": okafor_user}
        old = past(nicole, okafor, NOW - timedelta(days=200), "attended", "completed")
        called_off = past(nicole, okafor, NOW - timedelta(days=10), "cancelled", "closed")
        mine = factories.appointment(factories.evaluation(nicole), okafor, starts_at=NOW + timedelta(days=1, hours=1),
                                     status="confirmed")
        sams = factories.appointment(factories.evaluation(sam), okafor, starts_at=NOW + timedelta(days=2, hours=5))
        lees = factories.appointment(factories.evaluation(lee), other, starts_at=NOW + timedelta(days=1, hours=1))
        return {**users, "appointments": {"old": old.id, "called_off": called_off.id, "mine": mine.id,
                                          "sams": sams.id, "lees": lees.id},
                "uids": {"old": old.uid, "called_off": called_off.uid, "mine": mine.uid, "sams": sams.uid,
                         "lees": lees.uid}}


def past(officer, clinician, starts_at, status, evaluation_status):
    """An appointment that is over, its evaluation no longer open."""
    appointment = factories.appointment(factories.evaluation(officer), clinician, starts_at=starts_at, status=status)
    appointment.evaluation.status = evaluation_status
    db.session.commit()
    return appointment


def make_feed(auth, client, user) -> str:
    """Sign in as `user`, make a feed, return the address shown (and sign out)."""
    auth.login(user.email)
    response = auth.post(f"{PAGE}/new", form_page=PAGE)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Cache-Control"] == "no-store"
    match = ADDRESS_RE.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    auth.logout()
    return match.group(1)


def fetch(app, address, ip="198.51.100.7"):
    """As a calendar app: no cookies, no session."""
    path = address.removeprefix("http://beacon.test")
    return app.test_client().get(path, environ_base={"REMOTE_ADDR": ip})


def events_of(response) -> dict:
    calendar = Calendar.from_ical(response.get_data())
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_each_reader_gets_their_own_appointments_titled_for_them(app, auth, client, people):
    with clock.frozen(NOW):
        clinician_address = make_feed(auth, client, people["okafor"])
        officer_address = make_feed(auth, client, people["nicole"])
        assert re.fullmatch(r"http://beacon\.test/calendar/[A-Za-z0-9_-]{43}\.ics", clinician_address)
        for_clinician, for_officer = fetch(app, clinician_address), fetch(app, officer_address)
    for response in (for_clinician, for_officer):
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert str(Calendar.from_ical(response.get_data())["METHOD"]) == "PUBLISH"
        text = response.get_data(as_text=True)
        assert not [word for word in HEALTH_WORDS if word in text.lower()]
        assert "ATTENDEE" not in text
    uids = people["uids"]
    clinician_events = events_of(for_clinician)
    assert set(clinician_events) == {uids["called_off"], uids["mine"], uids["sams"]}   # not Lee's, not 200 days old
    assert str(clinician_events[uids["mine"]]["SUMMARY"]) == "Evaluation: Officer Nicole Brown"
    assert str(clinician_events[uids["sams"]]["SUMMARY"]) == "Evaluation: Police Officer Sam Cole"
    officer_events = events_of(for_officer)
    assert set(officer_events) == {uids["called_off"], uids["mine"]}
    assert str(officer_events[uids["mine"]]["SUMMARY"]) == f"Appointment with {OKAFOR}"
    for events in (clinician_events, officer_events):
        assert {str(e["CLASS"]) for e in events.values()} == {"PRIVATE"}
        assert str(events[uids["called_off"]]["STATUS"]) == "CANCELLED"
        assert str(events[uids["mine"]]["STATUS"]) == "CONFIRMED"
        start = events[uids["mine"]].decoded("DTSTART")
        assert str(start.tzinfo) == "America/Chicago" and (start.hour, start.minute) == (10, 0)
    assert str(clinician_events[uids["sams"]]["STATUS"]) == "TENTATIVE"


def test_the_feed_has_the_same_events_as_the_downloads(app, auth, client, people):
    with clock.frozen(NOW):
        for who in ("okafor", "nicole"):
            address = make_feed(auth, client, people[who])
            feed_event = events_of(fetch(app, address))[people["uids"]["mine"]]
            auth.login(people[who].email)
            download = client.get(f"/wellness/appointments/{people['appointments']['mine']}/calendar.ics")
            auth.logout()
            [download_event] = Calendar.from_ical(download.get_data()).walk("VEVENT")
            for name in ("UID", "SEQUENCE", "SUMMARY", "DTSTART", "DTEND", "LOCATION", "STATUS", "CLASS",
                         "DESCRIPTION"):
                assert feed_event[name] == download_event[name], (who, name)


def test_a_moved_appointment_comes_with_its_next_sequence(app, auth, client, people):
    from wellness.models import Appointment
    with clock.frozen(NOW):
        address = make_feed(auth, client, people["okafor"])
        appointment = db.session.get(Appointment, people["appointments"]["mine"])
        appointment.move(NOW + timedelta(days=3), NOW + timedelta(days=3, hours=1), NOW, confirmed=True)
        db.session.commit()
        event = events_of(fetch(app, address))[people["uids"]["mine"]]
    assert event["SEQUENCE"] == 1 and event.decoded("DTSTART") == NOW + timedelta(days=3)


def test_the_address_is_shown_once_then_only_its_dates(app, auth, client, people):
    with clock.frozen(NOW):
        address = make_feed(auth, client, people["nicole"])
        token = address.rsplit("/", 1)[1].removesuffix(".ics")
        feed = db.session.scalar(select(CalendarFeed))
        assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()   # only the digest is kept
        auth.login(people["nicole"].email)
        text = client.get(PAGE).get_data(as_text=True)
        assert token not in text and "feed-address" not in text
        assert "A feed is live since 02 March 2026 at 09:00 CST" in text and "not fetched yet" in text
        fetch(app, address)
        text = client.get(PAGE).get_data(as_text=True)
        assert "last fetched 02 March 2026 at 09:00 CST" in text
        # Links from the pages the person lives in
        assert 'href="/wellness/calendar-feed"' in client.get("/wellness/me").get_data(as_text=True)
        auth.logout()
        auth.login(people["okafor"].email)
        assert 'href="/wellness/calendar-feed"' in client.get("/wellness/clinic").get_data(as_text=True)


def test_a_fetch_is_noted_at_most_every_five_minutes_and_audited_the_first_time(app, auth, client, people):
    with clock.frozen(NOW):
        address = make_feed(auth, client, people["okafor"])
        assert fetch(app, address).status_code == 200
        clock.advance(timedelta(minutes=2))
        assert fetch(app, address).status_code == 200
        db.session.expire_all()
        assert db.session.scalar(select(CalendarFeed)).last_fetched_at == NOW
        clock.advance(timedelta(minutes=4))
        assert fetch(app, address).status_code == 200
        db.session.expire_all()
        assert db.session.scalar(select(CalendarFeed)).last_fetched_at == NOW + timedelta(minutes=6)
    first = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar_feed.first_fetched")).all()
    assert [(e.ip, e.private, e.actor_label) for e in first] == [("198.51.100.7", True, "okafor@clinic.test")]


def test_revoking_ends_the_address_and_replacing_ends_the_old_one(app, auth, client, people):
    with clock.frozen(NOW):
        first = make_feed(auth, client, people["okafor"])
        second = make_feed(auth, client, people["okafor"])   # replaces the first
        assert fetch(app, first).status_code == 404
        assert fetch(app, second).status_code == 200
        auth.login(people["okafor"].email)
        confirm = client.get(f"{PAGE}/revoke").get_data(as_text=True)
        assert "stops working at once" in confirm and "02 March 2026 at 09:00 CST" in confirm
        response = auth.post(f"{PAGE}/revoke", form_page=f"{PAGE}/revoke")
        assert response.status_code == 302
        assert "You have no calendar address" in client.get(PAGE).get_data(as_text=True)
        gone = fetch(app, second)
    assert gone.status_code == 404
    assert b"VCALENDAR" not in gone.get_data() and b"Okafor" not in gone.get_data()
    assert fetch(app, "/calendar/not-a-real-token.ics").status_code == 404
    assert fetch(app, "/calendar/" + "x" * 5000 + ".ics").status_code == 404


def test_making_replacing_and_revoking_are_audited_without_the_secret(app, auth, client, people):
    with clock.frozen(NOW):
        first = make_feed(auth, client, people["nicole"])
        second = make_feed(auth, client, people["nicole"])
        fetch(app, second)
        auth.login(people["nicole"].email)
        auth.post(f"{PAGE}/revoke", form_page=f"{PAGE}/revoke")
    feeds = db.session.scalars(select(CalendarFeed).order_by(CalendarFeed.id)).all()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("calendar_feed.%"))
                                 .order_by(AuditEntry.id)).all()
    assert [(e.action, e.target, e.detail, e.private, e.actor_id) for e in entries] == [
        ("calendar_feed.created", f"calendar feed {feeds[0].id}", "", True, people["nicole"].id),
        ("calendar_feed.revoked", f"calendar feed {feeds[0].id}", f"replaced by calendar feed {feeds[1].id}", True,
         people["nicole"].id),
        ("calendar_feed.created", f"calendar feed {feeds[1].id}", f"replaces calendar feed {feeds[0].id}", True,
         people["nicole"].id),
        ("calendar_feed.first_fetched", f"calendar feed {feeds[1].id}", "", True, None),
        ("calendar_feed.revoked", f"calendar feed {feeds[1].id}", "", True, people["nicole"].id),
    ]
    secrets = [a.rsplit("/", 1)[1].removesuffix(".ics") for a in (first, second)]
    everything = " ".join(f"{e.action} {e.target} {e.detail} {e.actor_label}"
                          for e in db.session.scalars(select(AuditEntry)).all())
    assert not [s for s in secrets if s in everything]
    for feed in feeds:
        assert feed.token_hash not in everything


def test_a_disabled_account_or_one_no_longer_tied_gets_nothing(app, auth, client, people):
    admin = factories.user(roles=["admin"])
    with clock.frozen(NOW):
        nicole, sam, okafor = (make_feed(auth, client, people[who]) for who in ("nicole", "sam", "okafor"))
        # Disabling the account revokes its feed (and enabling it again does not bring it back).
        accounts.disable_account(Actor.for_user(admin), people["nicole"].id, "left the department")
        assert fetch(app, nicole).status_code == 404
        accounts.enable_account(Actor.for_user(admin), people["nicole"].id)
        assert fetch(app, nicole).status_code == 404
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar_feed.revoked")).one()
        assert entry.detail == "the account was disabled" and entry.private
        # An account disabled behind the service's back, and ties undone: 404 all the same.
        db.session.get(User, people["sam"].id).status = AccountStatus.DISABLED
        db.session.commit()
        assert fetch(app, sam).status_code == 404
        db.session.scalar(select(Clinician).where(Clinician.user_id == people["okafor"].id)).user_id = None
        db.session.commit()
        assert fetch(app, okafor).status_code == 404
        lee = make_feed(auth, client, people["lee"])
        db.session.get(User, people["lee"].id).officer_id = None
        db.session.commit()
        assert fetch(app, lee).status_code == 404


def test_each_person_acts_on_their_own_feed_only(app, auth, client, people):
    with clock.frozen(NOW):
        nicole = make_feed(auth, client, people["nicole"])
        auth.login(people["sam"].email)
        response = auth.post(f"{PAGE}/revoke", form_page=PAGE)
        assert response.status_code == 302
        assert "You have no calendar address to revoke" in client.get(PAGE).get_data(as_text=True)
        auth.logout()
        assert fetch(app, nicole).status_code == 200
        for role in ("hr", "admin"):
            auth.as_role(role)
            assert client.get(PAGE).status_code == 403
            assert auth.post(f"{PAGE}/new").status_code == 403
            assert auth.post(f"{PAGE}/revoke").status_code == 403
            auth.logout()
        assert client.get(PAGE).status_code == 302   # signed out: to sign in
    assert db.session.scalars(select(CalendarFeed)).all()[0].user_id == people["nicole"].id
    assert len(db.session.scalars(select(CalendarFeed)).all()) == 1


def test_an_untied_clinician_is_told_why_and_gets_no_address(app, auth, client):
    with clock.frozen(NOW):
        auth.as_role("clinician")
        text = client.get(PAGE).get_data(as_text=True)
        assert "not tied to a clinician record" in text and "Make my calendar address" not in text
        auth.post(f"{PAGE}/new", form_page=PAGE)
    assert db.session.scalars(select(CalendarFeed)).all() == []


def test_posts_without_the_csrf_token_change_nothing(app, auth, client, people):
    with clock.frozen(NOW):
        address = make_feed(auth, client, people["nicole"])
        auth.login(people["nicole"].email)
        assert client.post(f"{PAGE}/revoke", data={}).status_code == 400
        assert client.post(f"{PAGE}/new", data={}).status_code == 400
        assert fetch(app, address).status_code == 200


LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
          "FEED_LIMIT_PER_ADDRESS": "3 per minute", "FEED_LIMIT_PER_FEED": "4 per minute",
          "FEED_LIMIT_OVERALL": "100 per minute"}


@pytest.mark.parametrize("app_config", [LIMITS])
def test_fetches_are_limited_per_address_and_per_feed(app, auth, client, people, caplog):
    with clock.frozen(NOW):
        okafor = make_feed(auth, client, people["okafor"])
        nicole = make_feed(auth, client, people["nicole"])
    assert [fetch(app, okafor, ip="203.0.113.1").status_code for _ in range(3)] == [200] * 3
    refused = fetch(app, okafor, ip="203.0.113.1")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert fetch(app, "/calendar/not-a-real-token.ics", ip="203.0.113.1").status_code == 429   # probing too
    # One feed fetched from many places: its own limit.
    assert [fetch(app, nicole, ip=f"203.0.113.{n}").status_code for n in range(10, 15)] == [200] * 4 + [429]
    secret = okafor.rsplit("/", 1)[1].removesuffix(".ics")
    assert not [r for r in caplog.records if secret in r.getMessage()]
    assert [r for r in caplog.records if "/calendar/<token>.ics" in r.getMessage()]


@pytest.mark.skipif(shutil.which("khal") is None, reason="khal (Debian package) is not installed")
@pytest.mark.parametrize("reader", ["okafor", "nicole"])
def test_khal_reads_the_feed_with_the_readers_titles(reader, app, auth, client, people, tmp_path):
    with clock.frozen(NOW):
        response = fetch(app, make_feed(auth, client, people[reader]))
    listed = khal_list(tmp_path, response.get_data(), "{start} {title} {status}", "2026-02-15", "30d")
    lines = [line.strip() for line in listed.splitlines() if line[:4] == "2026"]
    if reader == "okafor":
        assert "2026-03-03 10:00 Evaluation: Officer Nicole Brown" in listed, listed
        assert "2026-03-04 14:00 Evaluation: Police Officer Sam Cole" in listed, listed
        assert "Lee Park" not in listed
    else:
        assert f"2026-03-03 10:00 Appointment with {OKAFOR}" in listed, listed
        assert "Sam Cole" not in listed
    # The called-off one is in the calendar, marked cancelled.
    assert [line for line in lines if line.startswith("2026-02-20") and "CANCELLED" in line], listed


def test_the_feed_secret_is_withheld_from_request_logs():
    """A calendar app fetches /calendar/<secret>.ics for as long as it is subscribed: the
    development server's and gunicorn's request lines keep the route, never the secret."""
    import logging

    from core.views.auth import WITHHELD_TOKENS
    secret = "Zx9_secret-FEED-tokenAAAAAAAAAAAAAAAAAAAAAAAA"
    for name in ("werkzeug", "gunicorn.access"):
        record = logging.LogRecord(name, logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
                                   ("127.0.0.1", "28/Nov/2026 05:00:00", f"GET /calendar/{secret}.ics HTTP/1.1",
                                    "200", "-"), None)
        WITHHELD_TOKENS.filter(record)
        assert secret not in record.getMessage()
        assert "GET /calendar/(withheld).ics HTTP/1.1" in record.getMessage()
