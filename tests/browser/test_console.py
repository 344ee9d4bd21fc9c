"""Every page a role can reach loads without console errors or Content-Security-Policy
violations (Beacon's CSP: default-src 'self', no inline script or style)."""
import pytest

from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402

# Pages behind the navigation links, and one record page each role opens from a list.
DETAIL_LINK = {
    "admin": ("/admin/accounts", "main table tbody a"),
    "hr": ("/roster/", "main table tbody a"),
}


def visit(page, path):
    response = page.goto(path)
    assert response.status == 200, f"{path} answered {response.status}"
    expect(page.get_by_role("heading", level=1)).to_be_visible()


@pytest.mark.parametrize("role", ["admin", "hr", "clinician", "officer"])
def test_pages_of_each_role_load_without_console_errors_or_csp_violations(role, page, console, accounts,
                                                                          sign_in, live_server):
    if role == "hr":
        accounts.make("officer")  # so the roster has an officer's page to open
    account = accounts.make(role)
    sign_in(account)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {account.name}")

    nav = page.get_by_role("navigation", name="Main")
    paths = [href.removeprefix(live_server.url) for href in
             nav.locator("a.nav-link").evaluate_all("links => links.map(a => a.href)")]
    assert "/account/password" in paths
    for path in paths:
        visit(page, path)

    if role in DETAIL_LINK:
        listing, link = DETAIL_LINK[role]
        visit(page, listing)
        page.locator(link).first.click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Beacon")).to_be_visible()
    visit(page, "/password/forgot")
    console.assert_clean()


def test_the_console_check_catches_a_csp_violation(page, console):
    """The checks above would notice: an inline script is refused by the CSP, and
    Chromium says so in the console."""
    page.goto("/login")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("""() => {
            const s = document.createElement('script');
            s.textContent = 'window.injected = true';
            document.body.append(s);
        }""")
    assert page.evaluate("() => window.injected") is None
    with pytest.raises(AssertionError, match="Content Security Policy"):
        console.assert_clean()


def test_the_tab_icon_loads(page, console):
    """Without an icon of its own, Chromium asks for /favicon.ico on every page and
    logs the 404 as a console error."""
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in to Beacon")).to_be_visible()
    icon = page.evaluate("""() => {
        const link = document.querySelector('link[rel~="icon"]');
        return link ? link.href : new URL('/favicon.ico', location.href).href;
    }""")
    if not icon.startswith("data:"):
        response = page.request.get(icon)
        assert response.ok, f"the tab icon {icon} answered {response.status}"
        assert response.headers["content-type"].startswith("image/")
    console.assert_clean()
