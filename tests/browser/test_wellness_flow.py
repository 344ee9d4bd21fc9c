"""A critical incident, followed through real pages to a completed evaluation.

HR records the death of a unit member for a whole unit; the affected officer's
evaluation appears; HR books that officer with a clinician; the clinician confirms;
the officer sees the confirmed appointment; the officer's supervisor sees nothing of
it; once the appointment has begun the clinician records attendance; HR's dashboard
counts the evaluation as completed and the unit's compliance rises.

Each person uses a browser context of their own, as on their own computer. Time is
held by core.clock (module level, so the live server's thread reads it too): the
test freezes it on a Monday morning before the clinician's first slot and moves it
past the appointment's start; the fixture puts the real clock back afterwards.
"""
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core import clock
from core.db import db
from tests import factories
from tests.browser.conftest import Person, require_chromium
from wellness.services.evaluations import STATE_LABELS

require_chromium()

from playwright.sync_api import expect  # noqa: E402

INCIDENT_TYPE = "Death of a unit member"
WINDOW_DAYS = 14  # that type's window, as the migration defines it
# Monday 2 March 2026 (standard time, no daylight-saving change near): 08:30 on the
# department's wall clock, half an hour before the clinician's first slot (09:00).
MONDAY, START, FIRST_SLOT = date(2026, 3, 2), (8, 30), (9, 0)


@dataclass(frozen=True)
class Scene:
    zone: ZoneInfo
    unit: str
    hr: Person
    clinician: Person
    report: Person            # the officer who is booked
    report_id: int
    report_badge: str
    report_last: str
    supervisor: Person        # the report's supervisor, in the same unit
    supervisor_id: int


@pytest.fixture
def zone(live_server):
    return ZoneInfo(live_server.app.config["BEACON_TIMEZONE"])


@pytest.fixture
def monday_morning(zone):
    """The clock frozen at 08:30 local on MONDAY for this test only; `clock.advance`
    moves it. Restored (to the real clock) when the test ends, pass or fail."""
    at = datetime(MONDAY.year, MONDAY.month, MONDAY.day, *START, tzinfo=zone)
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1), "the clock was already frozen"
    with clock.frozen(at):
        yield at
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1), "the clock was not restored"


@pytest.fixture
def scene(live_server, monday_morning, zone):
    """A unit of three active officers (a sergeant and two officers reporting to
    them), accounts for the booked officer and the sergeant, an HR account and a
    clinician with an account and published hours. Unique names throughout."""
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        unit = f"Wellness Unit {tag}"
        sergeant = factories.officer(badge=f"WS-{tag}", first="Morgan", last=f"Sergeant{tag}", unit_name=unit,
                                     rank="Sergeant", email=f"sergeant-{tag}@pd.test")
        report = factories.officer(badge=f"WR-{tag}", first="Quinn", last=f"Report{tag}", unit_name=unit,
                                   supervisor=sergeant, email=f"report-{tag}@pd.test")
        factories.officer(badge=f"WT-{tag}", first="Jordan", last=f"Colleague{tag}", unit_name=unit,
                          supervisor=sergeant, email=f"colleague-{tag}@pd.test")
        report_user = factories.user(roles=["officer"], officer_row=report)
        sergeant_user = factories.user(roles=["officer"], officer_row=sergeant)
        hr_user = factories.user(roles=["hr"], email=f"hr-wellness-{tag}@pd.test", name=f"Harper HR {tag}")
        clinician_user = factories.user(roles=["clinician"], email=f"wren-{tag}@clinic.test",
                                        name=f"Dr. Wren {tag}")
        factories.clinician(name=f"Dr. Wren {tag}", user_row=clinician_user, email=f"wren-{tag}@clinic.test")
        result = Scene(
            zone=zone, unit=unit,
            hr=Person(hr_user.email, hr_user.name),
            clinician=Person(clinician_user.email, clinician_user.name),
            report=Person(report_user.email, report_user.name), report_id=report.id,
            report_badge=report.badge_number, report_last=report.last_name,
            supervisor=Person(sergeant_user.email, sergeant_user.name), supervisor_id=sergeant.id,
        )
        db.session.remove()
    return result


def nav(page):
    return page.get_by_role("navigation", name="Main")


def flash(page, text):
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def dashboard_numbers(page, unit):
    """Completed count (all units) and the unit's compliance, as HR's dashboard shows them."""
    page.wait_for_load_state("load")  # the dropdown works once Bootstrap's script has run
    nav(page).get_by_role("button", name="Wellness", exact=True).click()  # HR's wellness pages are a dropdown
    nav(page).get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wellness evaluations")
    completed = int(page.locator("#count-completed").inner_text())
    bar = page.get_by_role("progressbar", name=f"{unit} compliance")
    row = page.locator("#unit-compliance tbody tr").filter(has=page.get_by_role("link", name=unit, exact=True))
    cells = row.get_by_role("cell")
    return completed, float(bar.get_attribute("aria-valuenow")), cells.nth(1).inner_text(), cells.nth(2).inner_text()


def test_incident_for_a_unit_to_booked_confirmed_and_attended_evaluation(scene, sign_in_as, console, live_server):
    zone = scene.zone
    incident_day = MONDAY - timedelta(days=1)
    due = incident_day + timedelta(days=WINDOW_DAYS)
    slot = datetime(MONDAY.year, MONDAY.month, MONDAY.day, *FIRST_SLOT, tzinfo=zone)
    slot_cell = slot.strftime("%a %d %b %Y %H:%M %Z")          # how tables show the appointment
    report_name = scene.report.name

    # --- HR: the dashboard before, then the incident for the whole unit -----------------
    hr = sign_in_as(scene.hr)
    completed_before, percent_before, officers, compliant = dashboard_numbers(hr, scene.unit)
    assert (percent_before, officers, compliant) == (0.0, "3", "0")

    hr.get_by_role("link", name="Record a critical incident").click()
    expect(hr).to_have_url(live_server.url + "/wellness/incidents/new")
    hr.get_by_label("Type").select_option(label=f"{INCIDENT_TYPE} (within {WINDOW_DAYS} days)")
    hr.get_by_label("Date of the incident").fill(incident_day.isoformat())
    hr.get_by_label("Short description").fill("A member of the unit died in a traffic collision off duty.")
    hr.get_by_role("checkbox", name=scene.unit, exact=True).check()
    hr.get_by_role("button", name="Record incident").click()

    flash(hr, "Incident recorded: 3 evaluation(s) opened, 0 existing one(s) brought forward.")
    expect(hr.get_by_role("heading", level=1)).to_have_text(f"{INCIDENT_TYPE}, {incident_day:%d %B %Y}")
    expect(hr.get_by_text(f"Whole units affected: {scene.unit}")).to_be_visible()
    row = hr.get_by_role("row").filter(has_text=scene.report_badge)
    expect(row.get_by_role("cell")).to_have_text([re.compile(scene.report_last), "unit", STATE_LABELS["due_soon"],
                                                  due.isoformat()])

    # --- the affected officer's evaluation appears on their wellness record ----------
    row.get_by_role("link").click()
    expect(hr).to_have_url(live_server.url + f"/wellness/officers/{scene.report_id}")
    expect(hr.get_by_role("heading", level=1)).to_contain_text(f"Wellness record: Police Officer {report_name}")
    next_evaluation = hr.locator("section").filter(has=hr.get_by_role("heading", name="Next evaluation"))
    expect(next_evaluation).to_contain_text(f"Due by {due:%d %B %Y}")
    expect(next_evaluation.locator(".badge")).to_have_attribute("data-state", "due_soon")

    # --- HR books the officer with the clinician ---------------------------------------
    next_evaluation.get_by_role("link", name="Book an appointment").click()
    expect(hr.get_by_role("heading", level=1)).to_have_text("Book an appointment")
    booking_path = hr.url.removeprefix(live_server.url)
    assert re.fullmatch(r"/wellness/evaluations/\d+/book", booking_path), booking_path
    hr.get_by_role("navigation", name="Clinicians").get_by_role("link", name=scene.clinician.name).click()
    expect(hr.locator("#slot-length")).to_have_text("Each appointment lasts 60 minutes.")
    times = hr.locator("main .slot-btn")
    expect(times.first).to_have_accessible_name(f"Book {slot:%A %d %B at %H:%M %Z}")  # the earliest free time
    times.first.click()
    # Picking a time books nothing yet: the confirmation says what will be booked.
    expect(hr.get_by_role("heading", level=1)).to_have_text("Confirm the booking")
    expect(hr.locator("#booking-summary")).to_contain_text(
        f"Book {slot:%A} {slot.day} {slot:%B, %H:%M}–{slot + timedelta(hours=1):%H:%M %Z} with {scene.clinician.name}")
    hr.get_by_role("button", name="Confirm the booking").click()

    flash(hr, "Booked. The officer and the clinician have been sent an invitation.")
    expect(hr).to_have_url(live_server.url + f"/wellness/officers/{scene.report_id}")
    appointments = hr.locator("section").filter(has=hr.get_by_role("heading", name="Appointments"))
    appointment_row = appointments.get_by_role("row").filter(has_text=slot_cell)
    expect(appointment_row).to_contain_text(scene.clinician.name)
    expect(appointment_row.locator(".badge")).to_have_attribute("data-status", "booked")
    expect(next_evaluation.locator(".badge")).to_have_attribute("data-state", "awaiting_confirmation")
    expect(hr.get_by_role("link", name="Book an appointment")).to_have_count(0)

    # --- the clinician confirms -----------------------------------------------------------
    clinician = sign_in_as(scene.clinician)
    expect(clinician.locator("#home-to-confirm")).to_have_text("1 booking to confirm")
    nav(clinician).get_by_role("link", name="Appointments", exact=True).click()
    expect(clinician).to_have_url(live_server.url + "/wellness/clinic")
    clinic_row = clinician.locator("#needs-you-list .clinic-item").filter(has_text=report_name)
    expect(clinic_row.locator(".clinic-step")).to_have_text("Confirm or decline")
    expect(clinic_row.get_by_role("button", name="Attended")).to_have_count(0)
    clinic_row.get_by_role("link", name=slot_cell).click()
    expect(clinician.get_by_role("heading", level=1)).to_have_text(
        f"{report_name}, {slot:%A %d %B %Y at %H:%M %Z}")
    appointment_path = clinician.url.removeprefix(live_server.url)
    assert re.fullmatch(r"/wellness/clinic/appointments/\d+", appointment_path), appointment_path
    appointment_id = int(appointment_path.rsplit("/", 1)[1])
    expect(clinician.get_by_text("A member of the unit died in a traffic collision off duty.")).to_be_visible()
    expect(clinician.get_by_role("button", name="Attended")).to_have_count(0)  # not before it begins
    clinician.get_by_role("button", name="Confirm", exact=True).click()
    flash(clinician, "Confirmed.")
    expect(clinician.locator("main .badge").first).to_have_text("Confirmed")

    # --- the officer sees it, confirmed, on the home page and on My appointments -------
    officer = sign_in_as(scene.report)
    panel = officer.locator("section").filter(has=officer.get_by_role("heading", name="Your next appointment"))
    expect(panel).to_contain_text(f"Appointment with {scene.clinician.name} on {slot:%A %d %B at %H:%M}")
    expect(panel).to_contain_text("(confirmed)")
    nav(officer).get_by_role("link", name="My appointments").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("My appointments")
    mine = officer.locator("main table").get_by_role("row").filter(has_text=slot_cell)
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(scene.clinician.name)
    expect(mine.locator(".badge")).to_have_attribute("data-status", "confirmed")

    # --- the supervisor sees nothing of their report's wellness ------------------------
    supervisor_sees_nothing(sign_in_as(scene.supervisor), scene, console, booking_path, appointment_id, due,
                            leaks=[scene.report_last, scene.report_badge, scene.clinician.name,
                                   slot.strftime("%H:%M")])

    # --- the appointment begins; the clinician records attendance ----------------------
    # 09:15 local: past the start. Everyone's last request was at 08:30, longer ago than
    # the sessions' idle limit, so the clinician and HR sign in again, as they would.
    clock.advance(slot - clock.now() + timedelta(minutes=15))
    clinician = sign_in_as(scene.clinician)
    expect(clinician.locator("#home-to-record")).to_have_text("1 attendance record to make")
    clinician.goto("/wellness/clinic")
    clinic_row = clinician.locator("#needs-you-list .clinic-item").filter(has_text=report_name)
    expect(clinic_row.locator(".clinic-step")).to_have_text("Record attendance")
    expect(clinic_row.get_by_role("button", name="Confirm")).to_have_count(0)
    clinic_row.get_by_role("link", name=slot_cell).click()
    expect(clinician).to_have_url(live_server.url + appointment_path)
    clinician.get_by_role("button", name="Attended", exact=True).click()
    flash(clinician, "Recorded: attended.")
    expect(clinician.locator("main .badge").first).to_have_text("Attended")
    expect(clinician.get_by_role("button", name="Attended")).to_have_count(0)

    # --- HR: one more completed, and the unit's compliance is up -------------------------
    hr = sign_in_as(scene.hr)
    completed_after, percent_after, officers, compliant = dashboard_numbers(hr, scene.unit)
    assert completed_after == completed_before + 1
    assert (officers, compliant) == ("3", "1")
    assert percent_after == 33.3 > percent_before
    hr.goto(f"/wellness/officers/{scene.report_id}")
    expect(hr.locator("main ul").last).to_contain_text(
        f"Incident evaluation due {due:%d %B %Y}: Completed on {MONDAY:%d %B %Y}")

    console.assert_clean()


def supervisor_sees_nothing(page, scene, console, booking_path, appointment_id, due, leaks):
    """The report's supervisor: home page and My appointments show only their own
    evaluation; the report's record is refused; the report's appointment and booking
    pages answer exactly as for an appointment or evaluation that does not exist."""
    def shows_nothing_of_the_report():
        main = page.locator("main")
        expect(main).to_be_visible()
        for text in leaks:
            expect(main).not_to_contain_text(text)

    # The sergeant's own evaluation (the incident hit the whole unit) is there; the report's is not.
    panel = page.locator("section").filter(has=page.get_by_role("heading", name="Your next appointment"))
    expect(panel).to_contain_text(f"An appointment is due by {due:%d %B %Y}")
    shows_nothing_of_the_report()
    nav(page).get_by_role("link", name="My appointments").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
    expect(page.locator("main")).to_contain_text(f"Due by {due:%d %B %Y}")
    expect(page.locator("main table")).to_contain_text("No appointments yet.")
    shows_nothing_of_the_report()

    def refused(path, status, heading):
        console.expect_status(path, status)
        response = page.goto(path)
        assert response.status == status, f"{path} answered {response.status}, not {status}"
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        shows_nothing_of_the_report()

    record_path = f"/wellness/officers/{scene.report_id}"
    refused(record_path, 403, "Not allowed")
    # The clinician's page of the report's appointment: the same answer as for an id no
    # appointment has (the clinician pages are refused to officers altogether).
    refused(f"/wellness/clinic/appointments/{appointment_id}", 403, "Not allowed")
    refused("/wellness/clinic/appointments/987654321", 403, "Not allowed")
    # The appointment and booking pages an officer can reach: "not found", as for ids
    # that do not exist.
    refused(f"/wellness/appointments/{appointment_id}/move", 404, "Not found")
    refused("/wellness/appointments/987654321/move", 404, "Not found")
    refused(booking_path, 404, "Not found")
    refused("/wellness/evaluations/987654321/book", 404, "Not found")
