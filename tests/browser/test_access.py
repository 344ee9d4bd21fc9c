"""An officer who types the address of an HR or administrator page gets "Not allowed"
(HTTP 403) and never a glimpse of the page itself."""
import pytest

from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402

FORBIDDEN = {
    # address typed -> (address that answers, heading of the real page)
    "/admin/accounts": ("/admin/accounts", "Accounts"),
    "/admin/audit": ("/admin/audit", "Audit log"),
    "/admin/access-review": ("/admin/access-review", "Access review"),
    "/roster": ("/roster/", "Roster"),
}


@pytest.mark.parametrize("typed", list(FORBIDDEN))
def test_officer_typing_a_staff_address_gets_not_allowed(typed, page, console, accounts, sign_in, live_server):
    answered, real_heading = FORBIDDEN[typed]
    officer = accounts.make("officer")
    sign_in(officer)
    expect(page.get_by_role("heading", name="Your page")).to_be_visible()

    console.expect_status(answered, 403)
    response = page.goto(typed)

    assert response.status == 403
    assert response.url == live_server.url + answered
    expect(page).to_have_title("Not allowed · Beacon")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("heading", name=real_heading, exact=True)).to_have_count(0)
    expect(page.locator("main table")).to_have_count(0)
    expect(page.locator("main form")).to_have_count(0)
    # Still signed in, with only the officer's own navigation.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Beacon", "Home", "My appointments", "My reviews", officer.name])
    page.get_by_role("link", name="Back to your home page").click()
    expect(page.get_by_role("heading", name="Your page")).to_be_visible()
    console.assert_clean()
