"""Through the real pages: HR adds a support resource (a bad number is refused beside
its field), an officer affected by an incident finds the list on their home page and
the page with its numbers one tap away.

Set BEACON_SCREENSHOTS=<directory> to keep screenshots (390 and 1280 pixels wide)."""
import uuid

from core import clock
from core.audit import Actor
from core.db import db
from tests import factories
from tests.browser.conftest import Person, looked_at, require_chromium
from wellness.services import incidents, support

require_chromium()

from playwright.sync_api import expect  # noqa: E402


def test_hr_keeps_the_list_and_an_affected_officer_reaches_it_in_one_tap(sign_in_as, live_server):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        support.seed_demo()
        hr_user = factories.user(roles=["hr"], email=f"hr-{tag}@pd.test", name=f"HR Tester {tag}")
        officer = factories.officer(first="Avery", last=f"Affected{tag}")
        officer_user = factories.user(officer_row=officer)
        incidents.record_incident(Actor.system("test"), type_id=1, occurred_on=clock.now().date(),
                                  description="Shots fired", officer_ids=[officer.id], unit_ids=[])
        hr, affected = Person(hr_user.email, hr_user.name), Person(officer_user.email, officer_user.name)
        db.session.remove()

    page = sign_in_as(hr)
    page.get_by_role("button", name="Wellness").click()
    page.get_by_role("link", name="Support resources").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Support resources")
    looked_at(page, "support-admin")
    page.get_by_role("link", name="Add a resource").click()
    page.get_by_label("Name").fill(f"Family Line {tag}")
    page.get_by_label("Kind").select_option(label="Other")
    page.get_by_label("Phone").fill("ask the desk")
    page.get_by_role("button", name="Save").click()
    phone = page.get_by_label("Phone")
    expect(phone).to_have_class("form-control is-invalid")
    expect(page.locator("#phone + .invalid-feedback")).to_contain_text("Enter a number to dial")
    looked_at(page, "support-form-error")
    phone.fill("555 010 0123")
    page.get_by_label("Hours").fill("Evenings")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#support-resources")).to_contain_text(f"Family Line {tag}")

    officer_page = sign_in_as(affected)
    panel = officer_page.locator("section", has=officer_page.locator("#support-panel"))
    expect(panel).to_contain_text("If you would like to talk to someone")
    expect(panel.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    box = panel.get_by_role("link", name="Call 988").bounding_box()
    officer_page.set_viewport_size({"width": 390, "height": 900})
    box = panel.get_by_role("link", name="Call 988").bounding_box()
    assert box["height"] >= 44, box   # a thumb's tap target on a phone
    officer_page.set_viewport_size({"width": 1280, "height": 900})
    looked_at(officer_page, "support-home-panel")
    panel.get_by_role("link", name="More about each").click()
    expect(officer_page.get_by_role("heading", level=1)).to_have_text("People you can talk to")
    expect(officer_page.get_by_role("link", name="Call 555 010 0123")).to_have_attribute("href", "tel:5550100123")
    looked_at(officer_page, "support-page")
