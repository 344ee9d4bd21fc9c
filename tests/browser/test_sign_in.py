"""Signing in and out in a real browser: each role's home page and navigation, the
error after a wrong password, and a signed-out browser that must sign in again."""
import re

import pytest

from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402  (only once Chromium is known to be there)

ROLE_SECTION = {
    "admin": "Administration",
    "hr": "Human resources",
    "clinician": "Your appointments",
    "officer": "Your page",
}
ALL_NAV_LINKS = ("Home", "Roster", "Import roster", "Wellness", "Incidents", "Clinicians", "Reviews", "Reminders",
                 "My appointments", "My reviews", "Appointments", "My hours", "Accounts", "Access review", "Audit log",
                 "Outbox")
ROLE_NAV_LINKS = {
    "admin": ("Home", "Roster", "Accounts", "Access review", "Audit log", "Outbox"),
    "hr": ("Home", "Reviews"),
    "clinician": ("Home", "Appointments", "My hours"),
    "officer": ("Home", "My appointments", "My reviews"),
}
# HR's menu groups its links in dropdowns (so it fits one line): button -> its links.
ROLE_DROPDOWNS = {
    "hr": {"Roster": ("Roster", "Import roster"),
           "Wellness": ("Dashboard", "Incidents", "Clinicians", "Reminders", "Wellness audit")},
}


@pytest.mark.parametrize("role", list(ROLE_SECTION))
def test_each_role_signs_in_to_its_own_home_page_and_navigation(role, page, console, accounts, sign_in,
                                                                 live_server):
    account = accounts.make(role)
    sign_in(account)

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {account.name}")
    expect(page.get_by_role("heading", name=ROLE_SECTION[role], exact=True)).to_be_visible()
    for other, section in ROLE_SECTION.items():
        if other != role:
            expect(page.get_by_role("heading", name=section, exact=True)).to_have_count(0)

    nav = page.get_by_role("navigation", name="Main")
    dropdowns = ROLE_DROPDOWNS.get(role, {})
    in_dropdowns = {link for links in dropdowns.values() for link in links}
    for link in ALL_NAV_LINKS:
        shown = nav.get_by_role("link", name=link, exact=True)
        if link in ROLE_NAV_LINKS[role]:
            expect(shown).to_be_visible()
        elif link not in in_dropdowns:
            expect(shown).to_have_count(0)
    page.wait_for_load_state("load")  # the dropdowns work once Bootstrap's script has run
    for button, links in dropdowns.items():
        nav.get_by_role("button", name=button, exact=True).click()
        for link in links:
            expect(nav.locator(".dropdown-menu.show").get_by_role("link", name=link, exact=True)).to_be_visible()
        page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name=account.name, exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    console.assert_clean()


def test_wrong_password_shows_the_error_and_stays_on_the_sign_in_page(page, console, accounts, sign_in,
                                                                       live_server):
    account = accounts.make("hr")
    console.expect_status("/login", 401)
    sign_in(account, password="not the right password at all")

    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("The email or password is not right")
    expect(page).to_have_url(live_server.url + "/login")
    expect(page.get_by_role("heading", name="Sign in to Beacon")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    # Still signed out: the home page sends the browser back to sign in.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    console.assert_clean()


def test_sign_out_returns_to_sign_in_and_home_needs_signing_in_again(page, console, accounts, sign_in,
                                                                     live_server):
    account = accounts.make("hr")
    sign_in(account)
    expect(page.get_by_role("heading", name="Human resources")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + "/login")
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.get_by_role("heading", name="Sign in to Beacon")).to_be_visible()

    # The back button does not bring the signed-in page back (it is never cached).
    page.go_back()
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.get_by_role("heading", name="Human resources")).to_have_count(0)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.get_by_role("status")).to_have_text("Please sign in to continue.")
    expect(page.get_by_role("heading", name="Human resources")).to_have_count(0)

    # Signing in again from there lands on the page that was asked for.
    sign_in.fill(account.email)
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", name="Human resources")).to_be_visible()
    console.assert_clean()
