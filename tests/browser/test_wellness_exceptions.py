"""Wellness deadlines and exceptions, each followed through real pages to its resolution,
with the mail read at a real SMTP server.

- HR books after the due date (refused without a reason, then with one), rebooks an
  evaluation the clinician declined from the Needs attention list, keeps the late
  booking with a reason, and the list is back where it was.
- A clinician cancels a confirmed appointment with a reason, then blocks the day of
  another and proposes a new time instead.
- An officer sees only times by the due date, accepts the time the clinician proposed;
  another officer, due before any free time, is told to contact HR, and HR is told.

Time is held by core.clock (module level, so the live server's thread reads it too) at
Monday 2 March 2026, 17:30 on the department's wall clock: that day's slots (09:00 to
17:00) are all past, so the first free time is Tuesday morning. Nothing moves the clock.
Mail is delivered by calling the outbox's delivery, as `flask outbox deliver` does, with
the live app pointed at the SMTP server for the test only.

Set BEACON_SCREENSHOTS=<directory> to keep screenshots (390 and 1280 pixels wide) of
the pages a person decides on; each must fit both widths without sideways scrolling.
"""
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import clock
from core.db import db
from core.services import outbox
from tests import factories
from tests.browser.conftest import looked_at, Person, require_chromium
from tests.smtp import SMTPServer
from wellness.models import Appointment, WeeklyHours
from wellness.services import appointments, attention

require_chromium()

from playwright.sync_api import expect  # noqa: E402

# Monday 2 March 2026, 17:30 local: after the factories' clinicians' last slot (16:00).
MONDAY = date(2026, 3, 2)
TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = (MONDAY + timedelta(days=n) for n in (1, 2, 3, 4))
BASE_URL = "http://beacon.test"  # tests.conftest.BASE_CONFIG: the links in mail
LATE_SLOT = "Friday 06 March at 09:00 CST, after the due date"  # the first time of the clinician seen late


@dataclass(frozen=True)
class Officer:
    email: str
    name: str          # "First Last", as mail and headings give it
    listed: str        # "Last, First", as HR's lists give it
    badge: str
    id: int
    evaluation_id: int


@pytest.fixture
def zone(live_server):
    return ZoneInfo(live_server.app.config["BEACON_TIMEZONE"])


@pytest.fixture
def monday_evening(zone):
    at = datetime(MONDAY.year, MONDAY.month, MONDAY.day, 17, 30, tzinfo=zone)
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1), "the clock was already frozen"
    with clock.frozen(at):
        yield at
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1), "the clock was not restored"


class Mailbox:
    """A real SMTP server the live app delivers to while the test runs."""

    def __init__(self, server: SMTPServer, app):
        self.server, self.app = server, app

    def deliver(self):
        """What `flask outbox deliver` does (the scheduler's job), run now."""
        with self.app.app_context():
            report = outbox.deliver(limit=5000)
            db.session.remove()
        assert report.configured and not report.failed, report.errors

    def to(self, address) -> list:
        return self.server.to(address)

    def subjects(self, address) -> list[str]:
        return [m["Subject"] for m in self.to(address)]

    def one(self, address, subject):
        found = [m for m in self.to(address) if m["Subject"] == subject]
        assert len(found) == 1, f"{subject!r} to {address}: {len(found)} message(s); they have {self.subjects(address)}"
        return found[0]

    @staticmethod
    def text(message) -> str:
        return SMTPServer.text(message)

    @staticmethod
    def ics(message) -> str:
        parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
        assert len(parts) == 1, f"{message['Subject']!r}: {len(parts)} calendar attachment(s)"
        return parts[0].get_content()


def ics_value(ics: str, name: str) -> str:
    match = re.search(rf"^{name}:(.*?)\r?$", ics, re.M)
    assert match, f"no {name} in\n{ics}"
    return match.group(1)


@pytest.fixture
def mailbox(live_server):
    """The live app sends to a fresh SMTP server on loopback for this test only."""
    server = SMTPServer()
    server.start()
    config = live_server.app.config
    saved = {key: config.get(key) for key in ("SMTP_HOST", "SMTP_PORT", "SMTP_USE_TLS")}
    config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_USE_TLS=False)
    try:
        yield Mailbox(server, live_server.app)
    finally:
        config.update(saved)
        server.stop()


# --- building the scene (in the live app's database) -------------------------------------------

def _officer(tag, first, last, due_on, *, account=True) -> Officer:
    row = factories.officer(badge=f"X{first[0]}-{tag}", first=first, last=f"{last}{tag}",
                            unit_name=f"Exceptions {tag}", email=f"{first.lower()}-{tag}@pd.test")
    if account:
        factories.user(roles=["officer"], officer_row=row)
    evaluation = factories.evaluation(officer_row=row, due_on=due_on)
    return Officer(row.email, row.full_name, f"{row.last_name}, {row.first_name}", row.badge_number, row.id,
                   evaluation.id)


def _clinician(tag, name, *, account=False, hours_from=None):
    """A clinician (with an account when asked) seeing officers 09:00-17:00 every day,
    from `hours_from` when given. Returns (id, name, Person to sign in as or None, user row or None)."""
    user = factories.user(roles=["clinician"], email=f"{name.lower()}-{tag}@clinic.test",
                          name=f"Dr. {name} {tag}") if account else None
    clinician = factories.clinician(name=f"Dr. {name} {tag}", email=f"{name.lower()}-{tag}@clinic.test",
                                    user_row=user, hours=hours_from is None)
    if hours_from is not None:
        for weekday in range(7):
            db.session.add(WeeklyHours(clinician_id=clinician.id, weekday=weekday, starts=time(9), ends=time(17),
                                       slot_minutes=60, valid_from=hours_from))
        db.session.commit()
    return clinician.id, clinician.name, (Person(user.email, user.name) if user else None), user


def _hr(tag):
    user = factories.user(roles=["hr"], email=f"hr-exc-{tag}@pd.test", name=f"Harper HR {tag}")
    return Person(user.email, user.name), user


def _at(zone, day, hour) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(timezone.utc)


def _appointments_of(live_server, evaluation_id) -> list[Appointment]:
    with live_server.app.app_context():
        rows = db.session.scalars(select(Appointment).where(Appointment.evaluation_id == evaluation_id)).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


def _open_items(live_server) -> int:
    with live_server.app.app_context():
        count = attention.count()
        db.session.remove()
    return count


# --- page helpers -------------------------------------------------------------------------------------

def nav(page):
    return page.get_by_role("navigation", name="Main")


def flash(page, text):
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def open_attention_list(page):
    page.wait_for_load_state("load")  # the dropdown works once Bootstrap's script has run
    nav(page).get_by_role("button", name="Wellness", exact=True).click()
    nav(page).get_by_role("link", name="Needs attention", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Needs attention")


def attention_on_dashboard(page) -> int:
    """The dashboard's "Needs attention: N evaluations" (evaluations, not items)."""
    page.wait_for_load_state("load")
    nav(page).get_by_role("button", name="Wellness", exact=True).click()
    nav(page).get_by_role("link", name="Dashboard", exact=True).click()
    counts = page.locator("#attention-counts")
    expect(counts).to_contain_text("Needs attention:")
    match = re.search(r"Needs attention: (\d+) evaluations?\b", counts.inner_text())
    assert match, counts.inner_text()
    return int(match.group(1))


def words(moment: datetime, zone) -> str:
    """How subjects give a time: "Tue 3 March at 10:00 CST"."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%B} at {local:%H:%M %Z}"


# --- 1. HR -------------------------------------------------------------------------------------

def test_hr_books_after_the_due_date_with_a_reason_rebooks_a_decline_and_keeps_the_late_booking(
        live_server, monday_evening, zone, sign_in_as, console, mailbox):
    tag = uuid.uuid4().hex[:8]
    baseline = _open_items(live_server)
    late_reason = "On leave until 5 March; Friday is the earliest the officer can attend"
    decline_reason = "Double-booked with a court appearance"
    keep_note = "The officer cannot attend before Friday; agreed with the unit"
    with live_server.app.app_context():
        hr_person, hr_user = _hr(tag)
        # Dana is due on Thursday; Dr. Later sees officers only from Friday.
        dana = _officer(tag, "Dana", "Reed", THURSDAY)
        later_id, later_name, _, _ = _clinician(tag, "Later", hours_from=FRIDAY)
        # Eli was booked with Dr. Sooner on Tuesday at 10:00; the clinician declined.
        eli = _officer(tag, "Eli", "Stone", MONDAY + timedelta(days=11))
        sooner_id, sooner_name, _, sooner_user = _clinician(tag, "Sooner", account=True)
        booked = appointments.book(factories.actor_for(hr_user), eli.evaluation_id, sooner_id,
                                   _at(zone, TUESDAY, 10))
        appointments.decline(factories.actor_for(sooner_user), booked.id, decline_reason)
        db.session.remove()
    declined_at = _at(zone, TUESDAY, 10)

    hr = sign_in_as(hr_person)
    expect(hr.locator("#home-attention")).to_contain_text(f"{baseline + 1} need")
    evaluations_waiting = attention_on_dashboard(hr)  # Eli's among them

    # --- booking after the due date: refused without a reason, nothing booked ----------------
    hr.goto(f"/wellness/officers/{dana.id}")
    hr.get_by_role("link", name="Book an appointment").click()
    expect(hr.get_by_role("heading", level=1)).to_have_text("Book an appointment")
    hr.get_by_role("navigation", name="Clinicians").get_by_role("link", name=later_name, exact=True).click()
    expect(hr.locator("#on-time + p")).to_have_text(f"No free time with {later_name} by 05 March.")
    expect(hr.locator("#no-time-by-due")).to_have_count(0)  # Dr. Sooner has time by Thursday
    late = hr.locator("#late-slots")
    expect(late.get_by_role("heading", name="After the due date")).to_be_visible()
    first_late = late.get_by_role("radio", name=LATE_SLOT, exact=True)
    expect(late.get_by_role("radio").first).to_have_accessible_name(LATE_SLOT)
    looked_at(hr, "booking-late-slots")

    first_late.check()
    late.get_by_role("button", name="Book after the due date").click()
    # The confirmation says what will be booked, and asks for the reason and the confirmation.
    expect(hr.get_by_role("heading", level=1)).to_have_text("Confirm the booking")
    expect(hr.locator("#booking-summary")).to_contain_text(f"Book Friday 6 March, 09:00–10:00 CST with {later_name}")
    expect(hr.locator("#late-warning")).to_contain_text("This time is after the due date")
    looked_at(hr, "booking-late-confirm")
    hr.get_by_label("I confirm booking this evaluation after its due date").check()
    book_path = f"/wellness/evaluations/{dana.evaluation_id}/book"
    console.expect_status(book_path, 422)
    with hr.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(book_path)) as answer:
        hr.get_by_role("button", name="Confirm the booking").click()
    assert answer.value.status == 422
    reason_field = hr.get_by_label("Why after the due date")
    expect(reason_field).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(reason_field.locator("xpath=following-sibling::*[contains(@class, 'invalid-feedback')]")).to_have_text(
        "This time is after the due date: confirm it and give a reason.")
    assert _appointments_of(live_server, dana.evaluation_id) == []

    # --- with the reason and the confirmation it is booked --------------------------------------
    expect(hr.locator("#booking-summary")).to_contain_text("Book Friday 6 March, 09:00–10:00 CST")  # the same time
    reason_field.fill(late_reason)
    hr.get_by_label("I confirm booking this evaluation after its due date").check()
    hr.get_by_role("button", name="Confirm the booking").click()
    flash(hr, "Booked. The officer and the clinician have been sent an invitation.")
    expect(hr).to_have_url(live_server.url + f"/wellness/officers/{dana.id}")
    row = hr.locator("section").filter(has=hr.get_by_role("heading", name="Appointments")).get_by_role("row") \
        .filter(has_text="Fri 06 Mar 2026 09:00")
    expect(row).to_contain_text(later_name)
    expect(row).to_contain_text(f"Booked after the due date: {late_reason}")
    [dana_appointment] = _appointments_of(live_server, dana.evaluation_id)
    assert dana_appointment.late_reason == late_reason

    # --- the Needs attention list: the late booking and the decline ------------------------------
    open_attention_list(hr)
    items = hr.locator("#attention-items > li")
    dana_item = items.filter(has_text=dana.listed)
    eli_item = items.filter(has_text=eli.listed)
    expect(dana_item).to_contain_text(f"Booked after the due date: {late_reason}")
    expect(dana_item).to_contain_text("since Mon 02 Mar 2026 17:30")
    expect(dana_item.get_by_role("link", name="Move the appointment")).to_be_visible()
    expect(eli_item).to_contain_text(f"Declined by the clinician: Reason: {decline_reason}")
    expect(eli_item.get_by_role("link", name="Open the record to act")).to_have_attribute(
        "href", f"/wellness/officers/{eli.id}")
    looked_at(hr, "needs-attention")

    # The dashboard counts them and filters by them.
    assert attention_on_dashboard(hr) == evaluations_waiting + 1
    hr.locator("#count-booked_late").click()
    expect(hr.locator("#evaluations tbody tr").filter(has_text=dana.badge)).to_contain_text("Booked after the due date")
    expect(hr.locator("#evaluations tbody tr").filter(has_text=eli.badge)).to_have_count(0)

    # --- HR books Eli a new time from the list; the declined time is not offered again -----------
    open_attention_list(hr)
    eli_item.get_by_role("link", name="Book a new time").click()
    hr.get_by_role("navigation", name="Clinicians").get_by_role("link", name=sooner_name, exact=True).click()
    expect(hr.get_by_role("link", name=f"Book {declined_at.astimezone(zone):%A %d %B at %H:%M %Z}")).to_have_count(0)
    hr.get_by_role("link", name="Book Tuesday 03 March at 11:00 CST", exact=True).click()
    expect(hr.locator("#booking-summary")).to_contain_text(f"Book Tuesday 3 March, 11:00–12:00 CST with {sooner_name}")
    hr.get_by_role("button", name="Confirm the booking").click()
    flash(hr, "Booked. The officer and the clinician have been sent an invitation.")
    expect(hr).to_have_url(live_server.url + f"/wellness/officers/{eli.id}")

    # --- HR keeps Dana's late booking, with a reason: the list is back where it was --------------
    open_attention_list(hr)
    expect(eli_item).to_have_count(0)
    dana_item.locator("summary", has_text="Keep as it is…").click()
    dana_item.get_by_label("Why it stays as it is").fill(keep_note)
    dana_item.get_by_role("button", name="Keep and remove from the list").click()
    flash(hr, "Kept as it is; removed from the list.")
    expect(dana_item).to_have_count(0)
    if baseline == 0:
        expect(hr.locator("#attention-empty")).to_have_text("Nothing needs attention.")
    hr.goto("/")
    expect(hr.locator("#home-attention")).to_contain_text(f"{baseline} need")

    # --- the records show how each was resolved ------------------------------------------------
    hr.goto(f"/wellness/officers/{dana.id}")
    history = hr.locator("#record-attention")
    expect(history).to_contain_text(f"Booked after the due date: {late_reason}")
    expect(history).to_contain_text(f"Resolved 02 Mar 2026 17:30 CST: kept ({keep_note})")
    expect(history.get_by_role("button", name="Keep as it is…")).to_have_count(0)
    hr.goto(f"/wellness/officers/{eli.id}")
    history = hr.locator("#record-attention")
    expect(history).to_contain_text(f"Declined by the clinician: Reason: {decline_reason}")
    expect(history).to_contain_text("Resolved 02 Mar 2026 17:30 CST: rebooked")
    eli_rows = hr.locator("section").filter(has=hr.get_by_role("heading", name="Appointments")).get_by_role("row")
    expect(eli_rows.filter(has_text="Tue 03 Mar 2026 10:00")).to_contain_text(f"Reason: {decline_reason}")
    expect(eli_rows.filter(has_text="Tue 03 Mar 2026 11:00").locator(".badge")) \
        .to_have_attribute("data-status", "booked")

    # --- the mail -------------------------------------------------------------------------------
    mailbox.deliver()
    declined = mailbox.one(hr_person.email,
                           f"Declined: {eli.name} ({eli.badge}), appointment on {words(declined_at, zone)}")
    assert f"{BASE_URL}/wellness/officers/{eli.id}" in mailbox.text(declined)
    assert decline_reason not in mailbox.text(declined)  # the clinician's words stay on the record
    # HR booked Dana late themselves: no mail to HR about it, and the officer's mail has no reason.
    assert not [s for s in mailbox.subjects(hr_person.email) if dana.badge in s]
    dana_mail = mailbox.one(dana.email, f"Booked: appointment on {words(_at(zone, FRIDAY, 9), zone)}")
    assert late_reason not in mailbox.text(dana_mail) and "due date" not in mailbox.text(dana_mail)
    mailbox.one(eli.email, f"Cancelled: appointment on {words(declined_at, zone)}")
    mailbox.one(eli.email, f"Booked: appointment on {words(_at(zone, TUESDAY, 11), zone)}")

    console.assert_clean()


# --- 2. the clinician -----------------------------------------------------------------------------

def test_clinician_cancels_a_confirmed_appointment_then_blocks_the_day_of_another_proposing_a_new_time(
        live_server, monday_evening, zone, sign_in_as, console, mailbox):
    tag = uuid.uuid4().hex[:8]
    cancel_reason = "Called to give evidence in court that morning"
    block_note = "Training day"
    with live_server.app.app_context():
        hr_person, hr_user = _hr(tag)
        clinician_id, clinician_name, clinician, clinician_user = _clinician(tag, "Wren", account=True)
        pat = _officer(tag, "Pat", "Lane", MONDAY + timedelta(days=11))
        quinn = _officer(tag, "Quinn", "Hale", MONDAY + timedelta(days=11))
        hr_actor = factories.actor_for(hr_user)
        pat_booking = appointments.book(hr_actor, pat.evaluation_id, clinician_id, _at(zone, TUESDAY, 10))
        quinn_booking = appointments.book(hr_actor, quinn.evaluation_id, clinician_id, _at(zone, TUESDAY, 14))
        appointments.confirm(factories.actor_for(clinician_user), pat_booking.id)
        pat_id, quinn_id = pat_booking.id, quinn_booking.id
        db.session.remove()
    pat_at, quinn_at, proposed_at = _at(zone, TUESDAY, 10), _at(zone, TUESDAY, 14), _at(zone, WEDNESDAY, 9)
    mailbox.deliver()  # the bookings and the confirmation: what came before

    # --- the clinician cancels Pat's confirmed appointment, with a reason ----------------------
    page = sign_in_as(clinician)
    nav(page).get_by_role("link", name="Appointments", exact=True).click()
    page.locator("#clinic-appointments .clinic-item").filter(has_text=pat.name) \
        .get_by_role("link", name="Tue 03 Mar 2026 10:00 CST").click()
    expect(page).to_have_url(live_server.url + f"/wellness/clinic/appointments/{pat_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{pat.name}, Tuesday 03 March 2026 at 10:00 CST")
    expect(page.get_by_role("button", name="Decline")).to_have_count(0)
    page.get_by_role("button", name="Cancel this appointment").click()  # without a reason: refused
    expect(page).to_have_url(live_server.url + f"/wellness/clinic/appointments/{pat_id}")
    expect(page.get_by_role("alert")).to_have_text("Reason (for HR; not clinical): Give HR a reason for declining.")
    expect(page.locator("main .badge").first).to_have_text("Confirmed")
    page.get_by_label("Reason (for HR; not clinical)").fill(cancel_reason)
    page.get_by_role("button", name="Cancel this appointment").click()
    flash(page, "Done: HR has your reason and will book another time; the officer has been told.")
    expect(page.locator("#past-list .clinic-item").filter(has_text=pat.name).locator(".badge")) \
        .to_have_text("Declined by the clinician")

    mailbox.deliver()
    to_hr = mailbox.one(hr_person.email, f"Cancelled: {pat.name} ({pat.badge}), appointment on {words(pat_at, zone)}")
    assert f"{BASE_URL}/wellness/officers/{pat.id}" in mailbox.text(to_hr)
    to_pat = mailbox.one(pat.email, f"Cancelled: appointment on {words(pat_at, zone)}")
    assert cancel_reason not in mailbox.text(to_pat) and "court" not in mailbox.text(to_pat)
    cancel_ics = mailbox.ics(to_pat)
    assert ics_value(cancel_ics, "METHOD") == "CANCEL" and ics_value(cancel_ics, "STATUS") == "CANCELLED"
    assert cancel_reason not in cancel_ics

    # --- the clinician blocks Tuesday: Quinn's appointment is listed, a new time proposed ------
    nav(page).get_by_role("link", name="My hours", exact=True).click()
    blocks = page.locator("section").filter(has=page.get_by_role("heading", name="Blocked dates"))
    blocks.get_by_label("Date").fill(TUESDAY.isoformat())
    blocks.get_by_label("Note").fill(block_note)
    blocks.get_by_role("button", name="Block this date").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Block Tuesday 03 March 2026")
    expect(page.locator("main")).to_contain_text(f"{clinician_name} has 1 appointment on this day.")
    # (By its text: its <legend> sits inside the card's body, so the group has no name.)
    choice = page.locator("main fieldset").filter(has_text=f"14:00 CST, {quinn.name} (Booked, awaiting confirmation)")
    expect(choice).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(pat.name)  # cancelled: nothing to decide
    propose = choice.get_by_label(
        "Propose Wednesday 04 March at 09:00 CST instead (held for the officer for up to 48 hours)")
    expect(propose).to_be_checked()
    looked_at(page, "block-confirmation")
    choice.get_by_label("Cancel it (HR books another time)").check()
    propose.check()
    page.get_by_role("button", name="Block the day and do the above").click()
    flash(page, "Date blocked.")
    expect(blocks).to_contain_text(f"Tuesday 03 March 2026 — {block_note}")

    page.goto(f"/wellness/clinic/appointments/{quinn_id}")
    expect(page.locator("main")).to_contain_text(
        "You proposed Wednesday 04 March at 09:00 CST (60 min); it is held for the officer")

    mailbox.deliver()
    unavailable = mailbox.one(
        hr_person.email, f"Clinician unavailable: {quinn.name} ({quinn.badge}), appointment on {words(quinn_at, zone)}")
    assert f"{BASE_URL}/wellness/officers/{quinn.id}" in mailbox.text(unavailable)
    assert words(proposed_at, zone) in mailbox.text(unavailable)
    proposal = mailbox.one(quinn.email,
                           f"New time proposed: {words(proposed_at, zone)} (instead of {words(quinn_at, zone)})")
    body = mailbox.text(proposal)
    assert "Wednesday 04 March 2026 at 09:00 CST" in body and "instead of Tuesday 03 March 2026 at 14:00 CST" in body
    assert block_note not in body
    assert not [s for s in mailbox.subjects(clinician.email) if "proposed" in s.lower()]

    console.assert_clean()


# --- 3. the officer ---------------------------------------------------------------------------------

def test_officer_sees_only_times_by_the_due_date_and_accepts_a_proposed_time_another_is_sent_to_hr(
        live_server, monday_evening, zone, sign_in_as, console, mailbox):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        hr_person, _ = _hr(tag)
        _, clinician_name, clinician, _ = _clinician(tag, "Moss", account=True)
        # Riley is due on Wednesday; Sam is due today, and today's times have all gone.
        riley = _officer(tag, "Riley", "Fox", WEDNESDAY)
        sam = _officer(tag, "Sam", "Vale", MONDAY)
        db.session.remove()
    booked_at, proposed_at = _at(zone, TUESDAY, 10), _at(zone, WEDNESDAY, 11)

    # --- Riley books: only times by Wednesday are offered ------------------------------------------
    officer = sign_in_as(Person(riley.email, riley.name))
    officer.get_by_role("link", name="Book an appointment").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("Book an appointment")
    expect(officer.locator("#no-time-by-due")).to_have_count(0)
    officer.get_by_role("navigation", name="Clinicians").get_by_role("link", name=clinician_name, exact=True).click()
    times = officer.locator("main .slot-btn")
    expect(times.first).to_have_accessible_name("Book Tuesday 03 March at 09:00 CST")
    days = {re.sub(r" at \d\d:\d\d CST$", "", label) for label in
            (times.nth(i).get_attribute("aria-label") for i in range(times.count()))}
    assert days == {"Book Tuesday 03 March", "Book Wednesday 04 March"}, days
    expect(officer.locator("#late-slots")).to_have_count(0)
    expect(officer.get_by_text("After the due date")).to_have_count(0)
    expect(officer.get_by_label("Why after the due date")).to_have_count(0)
    officer.get_by_role("link", name="Book Tuesday 03 March at 10:00 CST", exact=True).click()
    expect(officer.locator("#booking-summary")).to_contain_text(
        f"Book Tuesday 3 March, 10:00–11:00 CST with {clinician_name}")
    officer.get_by_role("button", name="Confirm the booking").click()
    flash(officer, "Booked. The officer and the clinician have been sent an invitation.")
    expect(officer).to_have_url(live_server.url + "/wellness/me")
    [appointment] = _appointments_of(live_server, riley.evaluation_id)

    # --- the clinician proposes Wednesday 11:00 ---------------------------------------------------
    clinic = sign_in_as(clinician)
    clinic.goto(f"/wellness/clinic/appointments/{appointment.id}")
    expect(clinic.get_by_role("heading", level=1)).to_have_text(f"{riley.name}, Tuesday 03 March 2026 at 10:00 CST")
    section = clinic.locator("section").filter(has=clinic.get_by_role("heading", name="Propose another time"))
    section.get_by_role("button", name="Propose Wednesday 04 March at 11:00 CST", exact=True).click()
    flash(clinic, "Another time was proposed to the officer and HR.")

    # --- Riley accepts it: confirmed at once -----------------------------------------------------
    officer.goto("/wellness/me")
    row = officer.locator("main table tbody tr").filter(has_text="Tue 03 Mar 2026 10:00 CST")
    expect(row.locator(".proposed-time")).to_have_text("New time proposed: Wed 04 Mar 11:00 CST")
    expect(row.locator(".badge")).to_have_attribute("data-status", "booked")
    looked_at(officer, "officer-proposal")
    row.get_by_role("button", name="Accept proposed time").click()
    flash(officer, "Accepted: the appointment is confirmed at the proposed time.")
    row = officer.locator("main table tbody tr").filter(has_text="Wed 04 Mar 2026 11:00 CST")
    expect(row.locator(".badge")).to_have_attribute("data-status", "confirmed")
    expect(row.locator(".proposed-time")).to_have_count(0)
    expect(officer.locator("main table")).not_to_contain_text("Tue 03 Mar 2026 10:00")

    # --- Sam, due today after the last free time, is told to contact HR ---------------------------
    other = sign_in_as(Person(sam.email, sam.name))
    other.goto(f"/wellness/evaluations/{sam.evaluation_id}/book")
    expect(other.locator("#no-time-by-due")).to_have_text(
        "No clinician has a free time before your due date. Please contact HR: they have been told and will "
        "arrange one.")
    other.reload()  # HR is told once, however often the page is opened

    # --- the mail ---------------------------------------------------------------------------------
    mailbox.deliver()
    booked = mailbox.one(riley.email, f"Booked: appointment on {words(booked_at, zone)}")
    mailbox.one(riley.email, f"New time proposed: {words(proposed_at, zone)} (instead of {words(booked_at, zone)})")
    confirmed = mailbox.one(riley.email, f"Confirmed: appointment on {words(proposed_at, zone)}")
    assert "Wednesday 04 March 2026 at 11:00 CST" in mailbox.text(confirmed)
    first, last = mailbox.ics(booked), mailbox.ics(confirmed)
    assert ics_value(last, "STATUS") == "CONFIRMED" and ics_value(last, "METHOD") == "REQUEST"
    assert ics_value(last, "UID") == ics_value(first, "UID")
    assert int(ics_value(last, "SEQUENCE")) > int(ics_value(first, "SEQUENCE"))
    assert ics_value(last, f"DTSTART;TZID={zone.key}") == "20260304T110000"
    mailbox.one(hr_person.email, f"New time proposed: {riley.name} ({riley.badge}), "
                                 f"appointment on {words(booked_at, zone)}")
    no_time = [m for m in mailbox.to(hr_person.email)
               if m["Subject"].startswith(f"No time before the due date: {sam.name} ({sam.badge})")]
    assert len(no_time) == 1, mailbox.subjects(hr_person.email)
    assert f"{BASE_URL}/wellness/officers/{sam.id}" in mailbox.text(no_time[0])
    assert not [s for s in mailbox.subjects(hr_person.email) if riley.badge in s and s.startswith("No time")]

    console.assert_clean()
