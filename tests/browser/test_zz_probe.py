import re, uuid
from playwright.sync_api import expect

def login(p, email, pw="quartz meadow lantern ripple"):
    p.goto("/login"); p.get_by_label("Email", exact=True).fill(email); p.get_by_label("Password", exact=True).fill(pw); p.get_by_role("button", name="Sign in").click()

def test_probe_pw(browser, page, accounts, live_server, console):
    a = accounts.make("hr")
    c2 = browser.new_context(base_url=live_server.url); p2 = c2.new_page()
    login(page, a.email); login(p2, a.email)
    expect(p2.get_by_role("heading", name="Human resources")).to_be_visible()
    page.goto("/account/password")
    page.get_by_label("Current password").fill("quartz meadow lantern ripple")
    page.get_by_label("New password", exact=True).fill("violet harbor crane seventeen")
    page.get_by_label("Repeat the new password").fill("violet harbor crane seventeen")
    page.get_by_role("button", name="Change password").click()
    print(page.url, page.locator("main").inner_text()[:200])
    p2.reload(); print(p2.url, p2.locator("main").inner_text()[:100])
    page.goto("/roster/"); print(page.url)
    page.get_by_role("button", name="Create accounts for all officers without one").click()
    print(page.url, page.locator("main").inner_text()[:300])
    print(console.errors)
    c2.close()
