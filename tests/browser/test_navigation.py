"""The main menu in a real browser: HR's fits one line at 1280 px, its dropdowns open
with the mouse and the keyboard and their links navigate, and on a phone it folds
behind the toggler. Set BEACON_SCREENSHOTS=<dir> to keep a PNG of each state."""
import os
from pathlib import Path

import pytest

from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MENUS = {
    "hr": ["Home", "Roster", "Wellness", "Reviews", "Notices", "Quarterly reports"],
    "admin": ["Home", "Roster", "Notices", "Accounts", "Role approvals", "Access review", "Audit log", "Outbox"],
    "officer": ["Home", "My appointments", "My reviews"],
    "clinician": ["Home", "Appointments", "My hours"],
    "command": ["Home", "Figures", "Quarterly reports"],
}


def shot(page, name):
    folder = os.environ.get("BEACON_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def top_level(nav):
    return nav.locator("ul.me-auto > li > .nav-link")


@pytest.mark.parametrize("role", sorted(MENUS))
def test_menu_fits_one_line_at_1280_px_and_folds_on_a_phone(role, page, console, accounts, sign_in):
    page.set_viewport_size(DESKTOP)
    sign_in(accounts.make(role))
    page.wait_for_load_state("load")  # the menu works once Bootstrap's script has run
    nav = page.get_by_role("navigation", name="Main")
    expect(top_level(nav)).to_have_text(MENUS[role])
    # One line: the navbar is no taller than one line of links (plus padding), well
    # under what a second line would add.
    link_height = top_level(nav).first.bounding_box()["height"]
    assert nav.bounding_box()["height"] < 1.8 * link_height + 16
    assert len({round(top_level(nav).nth(i).bounding_box()["y"]) for i in range(len(MENUS[role]))}) == 1
    shot(page, f"{role}-1280")
    if role == "hr":
        nav.get_by_role("button", name="Wellness").click()
        expect(nav.get_by_role("link", name="Wellness audit")).to_be_visible()
        shot(page, f"{role}-1280-dropdown")
        page.keyboard.press("Escape")

    page.set_viewport_size(PHONE)
    toggler = nav.get_by_role("button", name="Show navigation")
    expect(toggler).to_be_visible()
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_hidden()
    shot(page, f"{role}-390-collapsed")
    toggler.click()
    # Bootstrap's collapse animates; the class settles to "show" when it has opened.
    expect(nav.locator("#nav")).to_have_class("navbar-collapse collapse show")
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    shot(page, f"{role}-390-expanded")
    console.assert_clean()


def test_hr_dropdown_opens_with_the_keyboard_and_its_link_navigates(page, console, accounts, sign_in, live_server):
    page.set_viewport_size(DESKTOP)
    sign_in(accounts.make("hr"))
    page.wait_for_load_state("load")
    nav = page.get_by_role("navigation", name="Main")
    wellness = nav.get_by_role("button", name="Wellness")
    expect(nav.get_by_role("link", name="Incidents")).to_be_hidden()
    wellness.focus()
    page.keyboard.press("Enter")
    expect(wellness).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Incidents")).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(nav.get_by_role("link", name="Needs attention")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(nav.get_by_role("link", name="Incidents")).to_be_focused()
    page.keyboard.press("Escape")
    expect(wellness).to_have_attribute("aria-expanded", "false")

    # With the mouse: open "Roster", follow "Import roster"; the menu marks where we are.
    nav.get_by_role("button", name="Roster").click()
    nav.get_by_role("link", name="Import roster").click()
    expect(page).to_have_url(live_server.url + "/roster/import")
    expect(nav.get_by_role("button", name="Roster")).to_have_class("nav-link btn btn-link dropdown-toggle active")
    nav.get_by_role("button", name="Wellness").click()
    nav.get_by_role("link", name="Incidents").click()
    expect(page).to_have_url(live_server.url + "/wellness/incidents")
    console.assert_clean()
