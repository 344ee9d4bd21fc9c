"""The private channel in a real browser: an officer adds a personal address from "My
appointments", opens the emailed link (on a phone that is not signed in: the page's
script posts the code from the fragment), confirms, then removes it. Every page fits
390 and 1280 pixels."""
import re
import uuid

from sqlalchemy import select

from core.db import db
from core.models import OutboxMessage
from tests.browser.conftest import looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402  (only once Chromium is known to be there)


def emailed_link(live_server, recipient: str) -> tuple[str, str]:
    with live_server.app.app_context():
        body = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == recipient)
                                  .order_by(OutboxMessage.id.desc())).first()
        db.session.remove()
    match = re.search(r"http://beacon\.test(/wellness/private-address/confirm#t=([A-Za-z0-9_\-]+))", body or "")
    assert match, body
    return match.group(1), match.group(2)


def test_an_officer_adds_confirms_and_removes_a_personal_address(accounts, sign_in_as, browser, live_server, console):
    officer = accounts.make("officer")
    home = f"avery.{uuid.uuid4().hex[:6]}@gmail.test"
    page = sign_in_as(officer)
    page.goto("/wellness/me")
    page.get_by_role("link", name="Where my wellness messages go").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Where my wellness messages go")
    expect(page.locator("#channel-current")).to_have_text(officer.email)
    looked_at(page, "private-address-default")

    page.get_by_label("Personal email address").fill(home)
    page.get_by_role("button", name="Send confirmation link").click()
    expect(page.locator("#channel-pending")).to_contain_text(home)
    expect(page.locator("#channel-current")).to_have_text(officer.email)     # nothing changes yet
    looked_at(page, "private-address-pending")

    path, code = emailed_link(live_server, home)
    phone = browser.new_context(base_url=live_server.url)
    try:
        link = phone.new_page()
        requested = []
        link.on("request", lambda r: requested.append(r.url))
        link.goto(path)
        expect(link.locator("#review-address")).to_have_text(home)
        assert code not in link.url and not [url for url in requested if code in url]
        looked_at(link, "private-address-review")
        link.get_by_role("button", name="Confirm this address").click()
        expect(link.locator("#done-message")).to_contain_text("a***@gmail.test")
        looked_at(link, "private-address-done")
        link.goto("about:blank")
        link.goto(live_server.url + path)                                        # the same link again
        expect(link.locator("#link-reason")).to_contain_text("not valid: it was used")
        looked_at(link, "private-address-invalid")
    finally:
        phone.close()

    page.reload()
    expect(page.locator("#channel-current")).to_have_text(home)
    looked_at(page, "private-address-personal")
    page.get_by_role("link", name="Remove it and use my department address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove your personal address?")
    looked_at(page, "private-address-remove")
    page.get_by_role("button", name="Remove it").click()
    expect(page.get_by_role("alert").or_(page.locator(".alert")).first).to_contain_text("department address again")
    expect(page.locator("#channel-current")).to_have_text(officer.email)
    console.assert_clean()
