"""A clinician's calendar feed through the real pages: from the appointments page to the
feed page, makes an address (shown once), copies it, a calendar app (a request without
the clinician's cookies) fetches it and gets her appointment titled for her; she revokes
it after a confirmation that says what happens, and the address answers 404.

Set BEACON_SCREENSHOTS=<directory> to keep screenshots (390 and 1280 pixels wide)."""
import uuid
from datetime import timedelta

from core import clock
from core.db import db
from tests import factories
from tests.browser.conftest import Person, looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402

BASE_URL = "http://beacon.test"  # tests.conftest.BASE_CONFIG: the address Beacon shows


def test_a_clinician_makes_copies_fetches_and_revokes_her_feed(browser, live_server, sign_in_as, console):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        user = factories.user(roles=["clinician"], email=f"okafor-{tag}@clinic.test", name=f"Dr. Ngozi Okafor {tag}")
        clinician = factories.clinician(name=f"Dr. Ngozi Okafor {tag}", user_row=user, email=user.email)
        officer = factories.officer(first="Nicole", last=f"Brown{tag}", rank="Officer")
        factories.appointment(factories.evaluation(officer), clinician,
                              starts_at=(clock.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0),
                              status="confirmed")
        person = Person(email=user.email, name=user.name)
        db.session.remove()

    page = sign_in_as(person)
    page.goto("/wellness/clinic")
    looked_at(page, "clinic-feed-link")
    page.get_by_role("link", name="Calendar feed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My calendar feed")
    expect(page.locator("#feed-state")).to_have_text("You have no calendar address.")
    looked_at(page, "calendar-feed-none")

    page.get_by_role("button", name="Make my calendar address").click()
    expect(page.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    address = page.get_by_label("Calendar address", exact=True).input_value()
    assert address.startswith(f"{BASE_URL}/calendar/") and address.endswith(".ics")
    looked_at(page, "calendar-feed-shown")

    # A calendar app: no cookies of hers.
    app_context = browser.new_context()
    try:
        feed_url = address.replace(BASE_URL, live_server.url)
        response = app_context.request.get(feed_url)
        assert response.status == 200 and response.headers["content-type"].startswith("text/calendar")
        text = response.text()
        assert f"SUMMARY:Evaluation: Officer Nicole Brown{tag}" in text and "CLASS:PRIVATE" in text

        # Back on the page the address is gone; only its dates remain.
        page.goto("/wellness/calendar-feed")
        expect(page.locator("#feed-state")).to_contain_text("A feed is live since")
        expect(page.locator("#feed-state")).to_contain_text("last fetched")
        assert address.rsplit("/", 1)[1] not in page.content()
        looked_at(page, "calendar-feed-live")

        page.get_by_role("link", name="Revoke the address…").click()
        expect(page.locator("#feed-consequence")).to_contain_text("stops working at once")
        looked_at(page, "calendar-feed-revoke")
        page.get_by_role("button", name="Revoke the address").click()
        expect(page.get_by_text("Your calendar address is revoked")).to_be_visible()
        expect(page.locator("#feed-state")).to_have_text("You have no calendar address.")

        gone = app_context.request.get(feed_url)
        assert gone.status == 404 and "VCALENDAR" not in gone.text()
    finally:
        app_context.close()
    console.assert_clean()
