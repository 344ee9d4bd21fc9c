"""The link in a reset email, opened in a real browser: the token rides in the URL's
fragment, the page's script exchanges it, and no request Chromium makes holds it. Without
JavaScript the code from the email is pasted instead."""
import re

from sqlalchemy import select

from core.db import db
from core.models import OutboxMessage
from core.services import accounts as account_services
from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402  (only once Chromium is known to be there)

NEW_PASSWORD = "harbor violet pebble stanza"


def reset_link(live_server, email: str) -> tuple[str, str]:
    """Ask for a reset as the forgot-password form does; the emailed link and its code."""
    with live_server.app.test_request_context():
        account_services.request_password_reset(email, None)
        body = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == email)).one()
        db.session.remove()
    match = re.search(r"http://beacon\.test(/password/link#t=([A-Za-z0-9_\-]+))", body)
    assert match, body
    return match.group(1), match.group(2)


def test_the_emailed_link_sets_the_password_and_no_request_holds_the_token(page, console, accounts, sign_in,
                                                                           live_server):
    account = accounts.make("hr")
    path, code = reset_link(live_server, account.email)
    requested = []
    page.on("request", lambda r: requested.append(r.url))

    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    expect(page.get_by_text(account.email)).to_be_visible()
    assert code not in page.url  # the fragment is gone from the address bar and history
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(live_server.url + "/login")

    sign_in(account, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {account.name}")
    assert requested and not [url for url in requested if code in url]
    console.assert_clean()


def test_without_javascript_the_code_from_the_email_is_pasted(browser, live_server, accounts, console):
    account = accounts.make("officer")
    path, code = reset_link(live_server, account.email)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
        page.get_by_label("Code from your email").fill(code)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
        expect(page.get_by_text(account.email)).to_be_visible()
    finally:
        context.close()
