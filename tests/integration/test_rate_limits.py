"""Rate limits on sign-in, forgot-password and the invitation/reset link pages: by
address and overall, a 429 page with Retry-After, one log line per window, limits that
end with their window; and, under gunicorn with 4 workers against Redis, limits shared
by the workers and a lockout that checks no more passwords than its threshold."""
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
import sqlalchemy as sa

from core import ratelimit
from core.db import db
from core.models import AuditEntry, User
from tests import factories
from tests.conftest import csrf_token, make_app
from tests.gunicorn_server import reachable, serve

WRONG = "not the password at all"


@pytest.fixture
def database_url(sqlite_template, tmp_path):
    """The limits are the same whatever the database: SQLite keeps these tests fast.
    (The multi-worker tests below run on PostgreSQL.)"""
    path = tmp_path / "beacon.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


LIMITS_ON = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_LIMIT_PER_ADDRESS": "3 per minute",
    "LOGIN_LIMIT_OVERALL": "6 per minute",
    "FORGOT_LIMIT_PER_ADDRESS": "2 per minute",
    "FORGOT_LIMIT_OVERALL": "100 per minute",
    "LINK_LIMIT_PER_ADDRESS": "2 per minute",
    "LINK_LIMIT_OVERALL": "100 per minute",
}


@pytest.fixture
def app_config():
    return dict(LIMITS_ON)


def sign_in(client, email, password=WRONG, ip="203.0.113.5"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def page(response):
    return response.get_data(as_text=True)


def assert_too_many(response):
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    text = page(response)
    assert "Too many attempts" in text and "Try again in" in text
    return text


def test_sign_in_is_limited_per_address_with_a_429_page_and_retry_after(client):
    user = factories.user()
    for _ in range(3):
        assert sign_in(client, user.email).status_code == 401
    text = assert_too_many(sign_in(client, user.email))
    assert "from your network" in text and "not locked" in text
    # Another address is not affected.
    assert sign_in(client, user.email, ip="198.51.100.7").status_code == 401


def test_refused_requests_never_count_towards_the_lockout(client, app):
    user = factories.user()
    for _ in range(3):
        sign_in(client, user.email)
    for _ in range(10):
        assert sign_in(client, user.email).status_code == 429
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 3 and db.session.get(User, user.id).locked_until is None
    # From another address the right password still works: the limit locked nobody out.
    assert sign_in(client, user.email, factories.PASSWORD, ip="198.51.100.7").status_code == 302


def test_showing_the_sign_in_page_does_not_count(client):
    for _ in range(10):
        assert client.get("/login", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200
    assert sign_in(client, "nobody@pd.test").status_code == 401


def test_the_overall_limit_counts_every_address_but_not_refused_requests(client):
    for _ in range(3):
        assert sign_in(client, "a@pd.test", ip="203.0.113.1").status_code == 401
    for _ in range(20):  # refused by the address limit: they spend nothing of everyone's budget
        assert sign_in(client, "a@pd.test", ip="203.0.113.1").status_code == 429
    for n in range(2, 5):
        assert sign_in(client, "a@pd.test", ip=f"203.0.113.{n}").status_code == 401
    text = assert_too_many(sign_in(client, "a@pd.test", ip="203.0.113.99"))
    assert "for everyone" in text


def test_the_second_step_shares_the_sign_in_limit(client, app):
    hr = factories.user(roles=["hr"])
    assert sign_in(client, hr.email, factories.PASSWORD).status_code == 303  # to /login/code
    token = csrf_token(client, "/login/code")  # showing the code page is free

    def code(value="000000"):
        return client.post("/login/code", data={"code": value, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert code().status_code == 422
    assert code().status_code == 422
    assert_too_many(code())
    assert_too_many(code(factories.authenticator_code(hr.email)))  # even the right one waits for the window
    db.session.expire_all()
    assert db.session.get(User, hr.id).failed_codes == 2  # refused requests check no code


def test_forgot_password_is_limited(client):
    for _ in range(2):
        token = csrf_token(client, "/password/forgot")
        assert client.post("/password/forgot", data={"email": "x@pd.test", "csrf_token": token}).status_code == 302
    token = csrf_token(client, "/password/forgot")
    assert_too_many(client.post("/password/forgot", data={"email": "x@pd.test", "csrf_token": token}))


def test_invitation_and_reset_link_pages_share_one_limit(client):
    token = csrf_token(client, "/password/link")
    assert client.post("/password/link", data={"code": "guess-1", "csrf_token": token}).status_code == 410
    assert client.get("/password/set/guess-2").status_code == 410  # old-style link: a token check too
    assert_too_many(client.post("/password/link", data={"code": "guess-3", "csrf_token": token}))
    assert_too_many(client.get("/password/set/guess-4"))
    assert_too_many(client.post("/password/set", data={"password": "x", "confirm": "x", "csrf_token": token}))
    assert client.get("/password/link").status_code == 200  # showing the form is free


def test_a_breach_is_logged_once_per_address_and_window(client, caplog):
    caplog.set_level(logging.WARNING, logger="core.ratelimit")
    for _ in range(8):
        sign_in(client, "a@pd.test", ip="203.0.113.1")
    lines = [r for r in caplog.records if r.name == "core.ratelimit"]
    assert len(lines) == 1
    assert "203.0.113.1" in lines[0].getMessage() and "3 per 1 minute" in lines[0].getMessage()
    for _ in range(5):
        sign_in(client, "a@pd.test", ip="203.0.113.2")
    assert len([r for r in caplog.records if r.name == "core.ratelimit"]) == 2


@pytest.mark.parametrize("app_config", [{**LIMITS_ON, "LOGIN_LIMIT_PER_ADDRESS": "2 per 3 seconds",
                                          "WTF_CSRF_ENABLED": False}])
def test_the_same_address_gets_in_again_when_the_window_has_passed(client):
    def attempt():
        return client.post("/login", data={"email": "a@pd.test", "password": WRONG},
                           environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert attempt().status_code == 401
    assert attempt().status_code == 401
    refused = attempt()
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 3 and f"{wait} second" in page(refused)
    time.sleep(wait + 0.1)
    assert attempt().status_code == 401


@pytest.mark.parametrize("app_config", [{**LIMITS_ON, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}])
def test_with_its_store_unreachable_a_worker_counts_alone_and_sign_in_still_works(client):
    user = factories.user()
    for _ in range(3):
        assert sign_in(client, "a@pd.test").status_code == 401
    assert sign_in(client, "a@pd.test").status_code == 429
    assert sign_in(client, user.email, factories.PASSWORD, ip="198.51.100.7").status_code == 302


def test_a_limit_that_does_not_parse_is_refused_at_start(database_url):
    with pytest.raises(RuntimeError, match="LOGIN_LIMIT_PER_ADDRESS"):
        make_app(database_url, **{**LIMITS_ON, "LOGIN_LIMIT_PER_ADDRESS": "lots"})


@pytest.mark.parametrize("address, key", [
    ("203.0.113.5", "203.0.113.5"),
    ("::ffff:203.0.113.5", "203.0.113.5"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),   # one IPv6 client holds a whole /64
    ("", "unknown"),
])
def test_the_key_is_the_client_address(app, address, key):
    with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
        assert ratelimit.client_address() == key


@pytest.mark.parametrize("seconds, words", [
    (0, "1 second"), (1, "1 second"), (45, "45 seconds"), (60, "a minute"), (61, "2 minutes"),
    (3599, "60 minutes"), (7200, "2 hours"), (7201, "3 hours"),
])
def test_the_wait_in_words(seconds, words):
    assert ratelimit.wait_in_words(seconds) == words


# --- several workers against Redis -----------------------------------------------------

REDIS = ("127.0.0.1", 6379)


@pytest.fixture(scope="module")
def redis_url():
    if not reachable(*REDIS):
        if os.environ.get("CI"):  # CI has the server: its absence is a failure, not a skip
            pytest.fail(f"Redis unreachable in CI at {REDIS[0]}:{REDIS[1]}", pytrace=False)
        pytest.skip(f"multi-worker limits skipped: no Redis at {REDIS[0]}:{REDIS[1]}")
    return f"redis://{REDIS[0]}:{REDIS[1]}/0"


@pytest.fixture(scope="module")
def gunicorn(postgres_database, redis_url, tmp_path_factory):
    """Beacon under gunicorn, 4 workers, PostgreSQL and Redis, behind one trusted proxy
    (so each test picks its client's address with X-Forwarded-For)."""
    log = tmp_path_factory.mktemp("gunicorn") / "access.log"
    env = {
        "DATABASE_URL": postgres_database,
        "SECRET_KEY": "test-secret-key-for-the-gunicorn-workers",
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"beacon-test-{uuid.uuid4().hex}",
        "PROXY_FIX_X_FOR": "1",
        "LOGIN_LIMIT_PER_ADDRESS": "10 per hour",
        "LOGIN_LIMIT_OVERALL": "1000 per hour",
        "SCHEDULER_EMBEDDED": "0",
    }
    with serve(env, workers=4, access_log=log) as base:
        yield base, log, postgres_database


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_sign_in(base, email, ip):
    """A browser's sign-in from `ip` (as the proxy reports it): the form, then the POST. The status."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect)
    headers = {"X-Forwarded-For": ip}
    with browser.open(urllib.request.Request(f"{base}/login", headers=headers), timeout=30) as response:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.read().decode()).group(1)
    body = urllib.parse.urlencode({"email": email, "password": WRONG, "csrf_token": token}).encode()
    try:
        with browser.open(urllib.request.Request(f"{base}/login", data=body, headers=headers), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code


def test_workers_share_one_count_per_address(gunicorn):
    base, log, _ = gunicorn
    ip = "192.0.2.50"
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: post_sign_in(base, "n@pd.test", ip), range(11)))
    assert statuses == [401] * 10 + [429]
    time.sleep(0.2)  # the access log is written after each answer
    workers = {line.split()[0] for line in log.read_text().splitlines() if "POST /login" in line}
    assert len(workers) > 1, "the requests should have been spread over the workers"


def test_thirty_concurrent_wrong_passwords_check_at_most_five(gunicorn):
    base, _, url = gunicorn
    email = f"target-{uuid.uuid4().hex[:8]}@pd.test"
    app = make_app(url)
    with app.app_context():
        factories.user(email=email, roles=["hr"])
    try:
        with ThreadPoolExecutor(30) as pool:
            statuses = list(pool.map(lambda n: post_sign_in(base, email, f"198.18.0.{n + 1}"),
                                     range(30)))
        assert statuses == [401] * 30
        with app.app_context():
            entries = db.session.execute(sa.select(AuditEntry.action, AuditEntry.detail)
                                         .where(AuditEntry.target == email)).all()
            user = db.session.scalar(sa.select(User).where(User.email == email))
            checked = [e for e in entries if e.action == "auth.sign_in" and e.detail == "wrong password"]
            assert 1 <= len(checked) <= 5
            assert [e.action for e in entries].count("auth.locked") == 1
            assert len([e for e in entries if e.action == "auth.sign_in"]) == 30
            assert user.locked_until is not None
    finally:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def test_thirty_concurrent_wrong_codes_check_at_most_five(gunicorn):
    """Someone with the password tries codes from 30 addresses at once, in the session
    the password opened: no more codes are checked than the lockout allows."""
    base, _, url = gunicorn
    email = f"coded-{uuid.uuid4().hex[:8]}@pd.test"
    app = make_app(url)
    with app.app_context():
        factories.user(email=email, roles=["hr"])
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect)

    def send(path, ip, data=None):
        request = urllib.request.Request(f"{base}{path}", headers={"X-Forwarded-For": ip},
                                         data=urllib.parse.urlencode(data).encode() if data else None)
        try:
            with browser.open(request, timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', send("/login", "198.19.0.1")[1]).group(1)
    status, _, headers = send("/login", "198.19.0.1", {"email": email, "password": factories.PASSWORD,
                                                        "csrf_token": token})
    assert status == 303 and headers["Location"].endswith("/login/code")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', send("/login/code", "198.19.0.1")[1]).group(1)
    try:
        with ThreadPoolExecutor(30) as pool:
            statuses = list(pool.map(lambda n: send("/login/code", f"198.19.1.{n + 1}",
                                                    {"code": "000000", "csrf_token": token})[0], range(30)))
        assert set(statuses) <= {422, 302}, statuses  # wrong, or sent back to the password once locked
        with app.app_context():
            entries = db.session.execute(sa.select(AuditEntry.action, AuditEntry.detail)
                                         .where(AuditEntry.target == email)).all()
            checked = [e for e in entries if e.action == "auth.second_step" and e.detail == "wrong code"]
            assert 1 <= len(checked) <= 5
            assert [e.action for e in entries].count("auth.locked") == 1
            assert db.session.scalar(sa.select(User.locked_until).where(User.email == email)) is not None
    finally:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
