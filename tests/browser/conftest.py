"""Browser tests: a live Beacon on loopback, driven by Debian's Chromium via Playwright.

One server and one browser per run (session scope); each test gets a fresh browser
context (its own cookies) and its own accounts, seeded with tests/factories.py under
unique names, so tests never share state and may run in any order.

Every context records console errors and uncaught page errors (which is where
Content-Security-Policy violations show up). Tests finish with
`console.assert_clean()`. A page whose HTTP status is meant to be an error (401
after a wrong password, 403 for a forbidden page) is declared with
`console.expect_status(path, status)`, because Chromium reports such a document as
"Failed to load resource" in the console.
"""
from contextlib import contextmanager
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from core.db import db
from tests import factories
from tests.conftest import make_app, migrate_to_head

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_MISSING = "Chromium not installed at /usr/bin/chromium: apt-get install chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TIMEOUT_MS = 10_000  # auto-waiting limit: a broken page fails in seconds, not after 30
WIDTHS = (390, 1280)  # a phone in a patrol car, and a desk


def require_chromium():
    """Skip the calling test module when the browser is not installed; in CI (which
    installs it) a missing browser is a failure, not a skip."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(CHROMIUM_MISSING + " (CI installs it: see scripts/install-chromium.sh)", pytrace=False)
        pytest.skip(CHROMIUM_MISSING, allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="the Python playwright package is not installed")


@dataclass(frozen=True)
class Person:
    """Someone who signs in, for `sign_in_as`: anything with .email and .name."""
    email: str
    name: str


@dataclass(frozen=True)
class LiveServer:
    app: object
    url: str


class QuietRequestHandler(WSGIRequestHandler):
    """No line per request (dozens per test); errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


@contextmanager
def serving(app, name: str):
    """`app` served on 127.0.0.1 and a free port (port 0: the kernel picks one, so
    parallel runs never collide) until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Beacon on a fresh, migrated SQLite file, served on 127.0.0.1 and a free port."""
    path = tmp_path_factory.mktemp("browser") / "beacon.db"
    url = f"sqlite:///{path}"
    migrate_to_head(url)
    with serving(make_app(url), "beacon-live-server") as live:
        yield live


@dataclass(frozen=True)
class Account:
    email: str
    name: str
    role: str


@pytest.fixture
def accounts(live_server):
    """`accounts.make(role)` creates an active account with factories.PASSWORD and a
    name and email that no other test uses; returns plain values (no ORM objects)."""

    class Maker:
        @staticmethod
        def make(role: str) -> Account:
            tag = uuid.uuid4().hex[:10]
            with live_server.app.app_context():
                if role == "officer":
                    officer = factories.officer(badge=f"BT-{tag}", first="Avery", last=f"Officer{tag}",
                                                email=f"officer-{tag}@pd.test")
                    user = factories.user(roles=[role], officer_row=officer)
                else:
                    user = factories.user(roles=[role], email=f"{role}-{tag}@pd.test",
                                          name=f"{role.capitalize()} Tester {tag}")
                account = Account(email=user.email, name=user.name, role=role)
                db.session.remove()
            return account

    return Maker()


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run."""
    if not os.path.exists(CHROMIUM):
        require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_FAILED_RESOURCE = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})\b")


class ConsoleLog:
    """Console errors and uncaught exceptions of every page in one browser context."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.messages: list[tuple[str, int | None, str]] = []  # (url, HTTP status or None, text)
        self._expected: set[tuple[str, int]] = set()

    def on_console(self, message):
        if message.type == "error":
            url = (message.location or {}).get("url", "")
            match = _FAILED_RESOURCE.match(message.text)
            self.messages.append((url, int(match.group(1)) if match else None, message.text))

    def on_page_error(self, error):
        self.messages.append(("", None, f"uncaught exception: {error}"))

    def expect_status(self, path: str, status: int):
        """The document at `path` is meant to answer `status` (a 401 after a wrong
        password, a 403 for a forbidden page): Chromium's "Failed to load resource"
        line for it is not a fault of the page."""
        self._expected.add((self.base_url + path, status))

    @property
    def errors(self) -> list[str]:
        return [f"{url or '?'}: {text}" for url, status, text in self.messages if (url, status) not in self._expected]

    def assert_clean(self):
        errors = self.errors
        assert not errors, "console errors or CSP violations:\n" + "\n".join(errors)


@pytest.fixture
def context(browser, live_server):
    """A fresh browser context (no cookies) per test, pointed at the live server."""
    ctx = browser.new_context(base_url=live_server.url)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def console(context, live_server):
    log = ConsoleLog(live_server.url)
    context.on("console", log.on_console)
    context.on("weberror", lambda web_error: log.on_page_error(web_error.error))
    return log


@pytest.fixture
def page(context, console):
    return context.new_page()


class SignIn:
    """Sign in through the real form, as a person would: the password, then, for an
    account that asks for it, the code its authenticator shows (read from the
    database, as a phone would compute it)."""

    def __init__(self, page, app):
        self.page = page
        self.app = app

    def fill(self, email: str, password: str = factories.PASSWORD, second_step: bool = True):
        self.page.get_by_label("Email", exact=True).fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in", exact=True).click()
        self.page.wait_for_load_state()
        if second_step and self.page.url.endswith("/login/code"):
            self.page.get_by_label("Code", exact=True).fill(self.code(email))
            self.page.get_by_role("button", name="Verify").click()
        elif second_step and self.page.url.endswith("/login/setup"):
            self.page.get_by_label("6-digit code from the app").fill(self.code(email))
            self.page.get_by_role("button", name="Turn on two-step sign-in").click()
            self.page.get_by_role("link", name="I have saved them — continue").click()

    def code(self, email: str) -> str:
        with self.app.app_context():
            return factories.authenticator_code(email)

    def __call__(self, account: Account, password: str = factories.PASSWORD):
        self.page.goto("/login")
        self.fill(account.email, password)


@pytest.fixture
def sign_in(page, live_server):
    return SignIn(page, live_server.app)


@pytest.fixture
def sign_in_as(browser, live_server, console):
    """`sign_in_as(person)` (anything with .email and .name): a new browser context
    (nobody else's cookies), signed in through the real form; its console errors go to
    the test's `console` log."""
    contexts = []

    def open_for(person):
        ctx = browser.new_context(base_url=live_server.url)
        contexts.append(ctx)
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.set_default_navigation_timeout(TIMEOUT_MS)
        ctx.on("console", console.on_console)
        ctx.on("weberror", lambda web_error: console.on_page_error(web_error.error))
        page = ctx.new_page()
        page.goto("/login")
        SignIn(page, live_server.app).fill(person.email)
        from playwright.sync_api import expect  # imported once Chromium is known to be there
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {person.name}")
        return page

    yield open_for
    for ctx in contexts:
        ctx.close()


def looked_at(page, name):
    """The page fits 390 and 1280 pixels without sideways scrolling; screenshots kept
    under BEACON_SCREENSHOTS when set."""
    keep = os.environ.get("BEACON_SCREENSHOTS")
    original = page.viewport_size
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            # Measured two frames after the resize, once the page has laid itself out again
            # (a loaded machine could otherwise catch the layout of the width before).
            overflow = page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => "
                                     "done(document.documentElement.scrollWidth - "
                                     "document.documentElement.clientWidth))))")
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(keep) / f"{name}-{width}.png"), full_page=True)
            assert overflow <= 0, f"{name} at {width} px is {overflow} px wider than the window"
    finally:
        page.set_viewport_size(original)
