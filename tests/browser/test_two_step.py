"""Two-step sign-in in a real browser: HR's first sign-in sets up an authenticator from
the QR code page (its setup key typed by hand, as on a phone without a camera), saves
the recovery codes, and signs in with a code next time and with a recovery code after
that; an officer turns it on from the account page. Each page fits 390 and 1280 px."""
import re

from sqlalchemy import select

from core import clock
from core.db import db
from core.models import User
from core.services import two_step
from tests import factories
from tests.browser.conftest import looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402  (only once Chromium is known to be there)


def pending_secret(live_server, email):
    with live_server.app.app_context():
        secret = db.session.scalar(select(User.totp_pending_secret).where(User.email == email))
        db.session.remove()
    return secret


def test_hr_sets_up_two_step_sign_in_and_uses_a_code_then_a_recovery_code(page, console, live_server, sign_in):
    tag = re.sub(r"\W", "", str(id(page)))[-8:]
    email = f"hr-setup-{tag}@pd.test"
    with live_server.app.app_context():
        factories.user(roles=["hr"], email=email, name="Priya Setup", two_step=False)
        db.session.remove()

    page.goto("/login")
    sign_in.fill(email, second_step=False)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")
    expect(page.locator("#qr-code svg")).to_be_visible()
    looked_at(page, "two-step-setup")
    key = page.locator("#setup-key").inner_text()
    secret = pending_secret(live_server, email)
    assert key.replace(" ", "") == secret  # what a person types into the app by hand

    console.expect_status("/login/setup", 422)  # the wrong code below is refused with 422
    page.get_by_label("6-digit code from the app").fill("000000")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()

    page.get_by_label("6-digit code from the app").fill(two_step.code_at(secret, clock.now()))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", c) for c in codes)
    looked_at(page, "two-step-recovery-codes")
    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Priya Setup")

    page.get_by_role("button", name="Sign out").click()
    page.goto("/login")
    sign_in.fill(email, second_step=False)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    looked_at(page, "two-step-code")
    page.get_by_label("Code", exact=True).fill(sign_in.code(email))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Priya Setup")

    page.get_by_role("button", name="Sign out").click()
    page.goto("/login")
    sign_in.fill(email, second_step=False)
    page.get_by_text("No phone with you?").click()
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Priya Setup")
    expect(page.get_by_text("You signed in with a recovery code; 9 left.")).to_be_visible()
    console.assert_clean()


def test_an_officer_turns_two_step_sign_in_on_from_the_account_page(page, console, accounts, live_server, sign_in):
    officer = accounts.make("officer")
    sign_in(officer)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {officer.name}")
    page.get_by_role("link", name=officer.name).click()
    page.get_by_role("link", name="Two-step sign-in").click()
    expect(page.get_by_text("Off. Signing in takes only your password.")).to_be_visible()
    looked_at(page, "two-step-account-off")
    page.get_by_role("link", name="Set up two-step sign-in").click()
    secret = pending_secret(live_server, officer.email)
    page.get_by_label("6-digit code from the app").fill(two_step.code_at(secret, clock.now()))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page.get_by_text("10 recovery codes left.")).to_be_visible()
    looked_at(page, "two-step-account-on")
    console.assert_clean()
