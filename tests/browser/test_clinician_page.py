"""The clinician's page in Chromium: from the home page's count to the appointment that
needs them, each section in its order with only the actions valid for it, a no-show
recorded through its confirmation step (with JavaScript off, as it must work without
it), a booking confirmed from the list, and both widths (390 and 1280 px) without
sideways scrolling.

Time is held by core.clock (the live server's thread reads it too) at Monday 2 March
2026, 10:30 on the department's wall clock. Set BEACON_SCREENSHOTS=<directory> to keep
the screenshots.
"""
import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core import clock
from core.db import db
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, Person, SignIn, looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def monday_morning(live_server):
    zone = ZoneInfo(live_server.app.config["BEACON_TIMEZONE"])
    at = datetime(2026, 3, 2, 10, 30, tzinfo=zone)
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1), "the clock was already frozen"
    with clock.frozen(at):
        yield at
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1), "the clock was not restored"


@pytest.fixture
def scene(live_server, monday_morning):
    """A clinician with an appointment in every section, HR to be told, and the names."""
    tag = uuid.uuid4().hex[:8]
    at = monday_morning
    with live_server.app.app_context():
        factories.user(roles=["hr"], email=f"hr-clinic-{tag}@pd.test", name=f"Harper HR {tag}")
        user = factories.user(roles=["clinician"], email=f"okafor-{tag}@clinic.test", name=f"Dr. Ngozi Okafor {tag}")
        clinician = factories.clinician(name=user.name, user_row=user, email=user.email)
        names = {}

        def visit(key, last, starts_at, status):
            officer = factories.officer(first="Nicole", last=f"{last}{tag}", unit_name=f"Clinic {tag}")
            factories.appointment(factories.evaluation(officer), clinician, starts_at.astimezone(timezone.utc),
                                  status=status)
            names[key] = officer.full_name

        visit("missed", "Brown", at - timedelta(minutes=90), "booked")           # 09:00 today, never confirmed
        visit("to_confirm", "Thursday", at + timedelta(days=3), "booked")
        visit("later_today", "Afternoon", at + timedelta(hours=4), "confirmed")   # 14:30
        visit("friday", "Friday", at + timedelta(days=4), "confirmed")
        visit("wednesday", "Wednesday", at + timedelta(days=2), "confirmed")
        visit("attended", "Attended", at - timedelta(days=7), "attended")
        person = Person(user.email, user.name)
        db.session.remove()
    return person, names


def rows(page, section):
    return page.locator(f"#{section}-list .clinic-item")


def officers_in(page, section):
    return [text.strip() for text in rows(page, section).locator(".clinic-officer").all_inner_texts()]


def row_of(page, section, name):
    return rows(page, section).filter(has_text=name)


def flash(page, text):
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def test_clinician_works_from_what_needs_them(browser, live_server, sign_in_as, console, scene):
    person, names = scene
    page = sign_in_as(person)

    # --- home: each count is a link to the list it counts ------------------------------
    expect(page.locator("#home-to-record")).to_have_text("1 attendance record to make")
    expect(page.locator("#home-to-confirm")).to_have_text("1 booking to confirm")
    looked_at(page, "clinician-home")
    page.get_by_role("link", name="1 attendance record to make").click()
    expect(page).to_have_url(live_server.url + "/wellness/clinic#needs-you")

    # --- each section, in its order ----------------------------------------------------
    assert officers_in(page, "needs-you") == [names["missed"], names["to_confirm"]]
    assert officers_in(page, "today") == [names["later_today"]]
    assert officers_in(page, "upcoming") == [names["wednesday"], names["friday"]]   # soonest first
    assert officers_in(page, "past") == [names["attended"]]
    missed = row_of(page, "needs-you", names["missed"])
    expect(missed).to_contain_text("Mon 02 Mar 2026 09:00 CST · 60 min")
    expect(missed.get_by_role("button", name="Attended")).to_be_visible()
    expect(missed.get_by_role("link", name="Did not attend")).to_be_visible()
    expect(missed.get_by_role("button", name="Confirm")).to_have_count(0)      # begun: no Confirm/Decline
    expect(missed.get_by_role("link", name="Decline")).to_have_count(0)
    to_confirm = row_of(page, "needs-you", names["to_confirm"])
    expect(to_confirm.get_by_role("button", name="Confirm")).to_be_visible()
    expect(to_confirm.get_by_role("button", name="Attended")).to_have_count(0)  # to come: no attendance
    expect(to_confirm.get_by_role("link", name="Did not attend")).to_have_count(0)
    for section in ("today", "upcoming", "past"):
        expect(rows(page, section).locator(".clinic-actions")).to_have_count(0)
    expect(page.locator("#clinic-reminders")).not_to_have_attribute("open", "")
    looked_at(page, "clinician-page")

    # --- a no-show, through its confirmation, with JavaScript off ----------------------
    plain = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        plain.set_default_timeout(TIMEOUT_MS)
        plain.on("console", console.on_console)
        no_js = plain.new_page()
        no_js.goto("/login")
        SignIn(no_js, live_server.app).fill(person.email)
        no_js.goto("/wellness/clinic")
        row_of(no_js, "needs-you", names["missed"]).get_by_role("link", name="Did not attend").click()
        expect(no_js).to_have_url(re.compile(r"/wellness/appointments/\d+/no-show\?back=clinic$"))
        expect(no_js.get_by_role("heading", level=1)).to_have_text(f"Record that {names['missed']} did not attend?")
        effects = no_js.locator("#no-show-effects")
        expect(effects).to_contain_text(f"HR is told, by name, that {names['missed']} did not attend")
        expect(effects).to_contain_text(f"{names['missed']} gets a short email")
        page.goto(no_js.url)  # the same page in the JavaScript context, to measure it (GET changes nothing)
        looked_at(page, "clinician-no-show-confirm")
        no_js.get_by_role("button", name="Record: did not attend").click()
        expect(no_js).to_have_url(live_server.url + "/wellness/clinic")
        flash(no_js, "Recorded: did not attend. HR will arrange a new booking.")
        assert officers_in(no_js, "needs-you") == [names["to_confirm"]]
        expect(row_of(no_js, "past", names["missed"]).locator(".badge")).to_have_text("Did not attend")
    finally:
        plain.close()

    # --- a booking confirmed from the list moves to Upcoming, in its place -------------
    page.goto("/wellness/clinic")
    row_of(page, "needs-you", names["to_confirm"]).get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(live_server.url + "/wellness/clinic")
    flash(page, "Confirmed.")
    expect(page.locator("#needs-you-list")).to_have_text("Nothing needs you now.")
    assert officers_in(page, "upcoming") == [names["wednesday"], names["to_confirm"], names["friday"]]

    page.goto("/")
    expect(page.locator("#home-to-record")).to_have_text("0 attendance records to make")
    expect(page.locator("#home-to-confirm")).to_have_text("0 bookings to confirm")
    console.assert_clean()
