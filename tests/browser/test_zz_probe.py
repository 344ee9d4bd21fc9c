import re, uuid
from playwright.sync_api import expect
from tests.browser.test_roster_import import HEADER, open_import_page, roster_search

def test_probe_separation(browser, page, accounts, sign_in, live_server, console):
    off = accounts.make("officer")
    octx = browser.new_context(base_url=live_server.url); op = octx.new_page()
    op.goto("/login"); op.get_by_label("Email", exact=True).fill(off.email); op.get_by_label("Password", exact=True).fill("quartz meadow lantern ripple"); op.get_by_role("button", name="Sign in").click()
    expect(op.get_by_role("heading", name="Your page")).to_be_visible()
    print(op.locator("main").inner_text())
    badge = re.search(r"badge (\S+)", op.locator("main").inner_text()).group(1)
    sign_in(accounts.make("hr")); open_import_page(page)
    body = HEADER + "\n" + f"{badge},Avery,Whatever,{off.email},1st District,Police Officer,,2020-05-01,separated\n"
    page.get_by_label("Roster file (CSV)").set_input_files({"name":"r.csv","mimeType":"text/csv","buffer":body.encode()})
    page.get_by_role("button", name="Import", exact=True).click()
    print(page.locator("main").inner_text())
    op.reload()
    print(op.url, op.locator("main").inner_text())
    octx.close()

def test_probe_invite(browser, page, accounts, sign_in, live_server, console):
    a = accounts.make("admin"); sign_in(a)
    page.goto("/admin/accounts/new")
    tag = uuid.uuid4().hex[:8]
    page.get_by_label("Email").fill(f"new-{tag}@pd.test")
    page.get_by_label("Name").fill(f"New Person {tag}")
    page.get_by_label("Clinician").check()
    page.get_by_role("button", name="Create account and send invitation").click()
    page.goto("/admin/outbox/")
    page.get_by_role("row").filter(has_text=f"new-{tag}").get_by_role("link").first.click()
    text = page.locator("main").inner_text()
    print(text)
    link = re.search(r"https?://\S+/password/set/\S+", text).group(0)
    path = "/password/set/" + link.split("/password/set/")[1]
    ctx = browser.new_context(base_url=live_server.url); p2 = ctx.new_page()
    p2.on("console", lambda m: print("CONSOLE", m.text))
    p2.goto(path)
    print(p2.locator("main").inner_text())
    p2.get_by_label("New password").fill("violet harbor crane seventeen")
    p2.get_by_label("Repeat the new password").fill("violet harbor crane seventeen")
    p2.get_by_role("button", name="Set password").click()
    print(p2.url, p2.locator("main").inner_text()[:300])
    p2.get_by_label("Email", exact=True).fill(f"new-{tag}@pd.test"); p2.get_by_label("Password", exact=True).fill("violet harbor crane seventeen"); p2.get_by_role("button", name="Sign in").click()
    print(p2.url, p2.locator("main").inner_text()[:300])
    p2.goto(path); print(p2.locator("main").inner_text()[:300])
    ctx.close()
