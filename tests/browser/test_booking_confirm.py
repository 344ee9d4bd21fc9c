"""An officer books through the confirmation step, cancels through its own confirmation,
and undoes the cancellation; the clinician is told by mail each time. The booking,
confirmation and appointments pages fit a phone (390 px) and a desktop (1280 px), and on
a phone each appointment is a card whose buttons are big enough for a thumb.

Time is held at Monday 2 March 2026, 17:30 department time (core.clock), so the first
free time is Tuesday 09:00. Set BEACON_SCREENSHOTS=<directory> to keep screenshots.
"""
import uuid

from core.db import db
from tests.browser.conftest import Person, looked_at, require_chromium
from tests.browser.test_wellness_exceptions import (  # noqa: F401  (fixtures)
    _clinician,
    _officer,
    mailbox,
    monday_evening,
    zone,
)
from tests.browser.test_wellness_exceptions import THURSDAY, flash

require_chromium()

from playwright.sync_api import expect  # noqa: E402


def test_officer_books_through_the_confirmation_cancels_and_undoes(
        live_server, monday_evening, sign_in_as, console, mailbox):  # noqa: F811  (fixtures imported above)
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        _, clinician_name, _, _ = _clinician(tag, "Okafor", account=True)
        _clinician(tag, "Other")
        riley = _officer(tag, "Riley", "Fox", THURSDAY)
        db.session.remove()

    officer = sign_in_as(Person(riley.email, riley.name))
    officer.goto("/wellness/me")
    officer.get_by_role("link", name="Book an appointment").click()
    officer.get_by_role("navigation", name="Clinicians").get_by_role("link", name=clinician_name, exact=True).click()
    expect(officer.locator("#slot-length")).to_have_text("Each appointment lasts 60 minutes.")
    looked_at(officer, "booking")

    # --- picking a time books nothing: the confirmation says what, with whom, where ----------
    officer.get_by_role("link", name="Book Tuesday 03 March at 10:00 CST", exact=True).click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("Confirm the booking")
    expect(officer.locator("#booking-summary")).to_have_text(
        f"Book Tuesday 3 March, 10:00–11:00 CST with {clinician_name}, in person at 1 Main St or by video.")
    looked_at(officer, "booking-confirm")
    # Back returns to the same clinician, with the day marked.
    officer.get_by_role("link", name="Back to the times").click()
    expect(officer.get_by_role("navigation", name="Clinicians").locator("[aria-current=page]")).to_have_text(
        clinician_name)
    expect(officer.locator("#day-2026-03-03 #chosen-day")).to_be_visible()
    officer.get_by_role("link", name="Book Tuesday 03 March at 10:00 CST", exact=True).click()
    officer.get_by_role("button", name="Confirm the booking").click()
    flash(officer, "Booked. The officer and the clinician have been sent an invitation.")
    expect(officer).to_have_url(live_server.url + "/wellness/me")
    row = officer.locator("#appointments tbody tr").filter(has_text="Tue 03 Mar 2026 10:00 CST")
    expect(row.locator(".badge")).to_have_attribute("data-status", "booked")
    looked_at(officer, "appointments")

    # --- on a phone the appointment is a card and its buttons are thumb-sized --------------
    officer.set_viewport_size({"width": 390, "height": 900})
    cancel = row.get_by_role("link", name="Cancel…")
    box = cancel.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300, box
    assert officer.evaluate("document.documentElement.scrollWidth") <= 390
    officer.set_viewport_size({"width": 1280, "height": 900})

    # --- Cancel asks first, saying what will happen ------------------------------------------
    cancel.click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("Cancel the appointment?")
    effects = officer.locator("#cancel-effects")
    expect(effects).to_contain_text(f"{clinician_name} and you are sent a cancellation")
    expect(effects).to_contain_text("The evaluation goes back to needing a time")
    expect(effects).to_contain_text("You can undo the cancellation for 5 minutes")
    looked_at(officer, "cancel-confirm")
    officer.get_by_role("button", name="Cancel the appointment").click()
    flash(officer, f"Cancelled. {clinician_name} has been told. Changed your mind? Undo it within 5 minutes with the "
                   "Undo button beside the appointment.")
    row = officer.locator("#appointments tbody tr").filter(has_text="Tue 03 Mar 2026 10:00 CST")
    expect(row.locator(".badge")).to_have_attribute("data-status", "cancelled")
    expect(row.locator(".undo-note")).to_contain_text("Undo until 17:35 CST")
    looked_at(officer, "appointments-undo")

    # --- Undo: the same appointment stands again --------------------------------------------
    row.get_by_role("button", name="Undo the cancellation").click()
    flash(officer, "Cancellation undone: the appointment stands at the same time, and the clinician has been told.")
    row = officer.locator("#appointments tbody tr").filter(has_text="Tue 03 Mar 2026 10:00 CST")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_attribute("data-status", "booked")
    expect(officer.get_by_role("button", name="Undo the cancellation")).to_have_count(0)

    # --- the booking page of an evaluation already booked offers no times, but what to do -------
    officer.goto(f"/wellness/evaluations/{riley.evaluation_id}/book")
    expect(officer.locator("#booking-finished")).to_contain_text("The evaluation has an appointment")
    expect(officer.locator(".slot-btn")).to_have_count(0)
    expect(officer.get_by_role("link", name="Choose another time for it")).to_be_visible()
    looked_at(officer, "booking-finished")

    mailbox.deliver()
    clinician_email = f"okafor-{tag}@clinic.test"
    when = "appointment on Tue 3 March at 10:00 CST"
    assert mailbox.subjects(clinician_email) == [f"Booked: {when}", f"Cancelled: {when}",
                                                 f"Not cancelled after all: {when}"]
    restored = mailbox.one(clinician_email, f"Not cancelled after all: {when}")
    assert "was undone: the appointment stands" in mailbox.text(restored)
    console.assert_clean()
