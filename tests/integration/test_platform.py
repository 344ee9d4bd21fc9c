"""The platform: health check, security headers, settings, command line, schema."""
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

import config as settings
from core.db import db
from core.models import Officer, User
from tests import factories


def test_healthz_answers_200_with_the_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    from tests.conftest import make_app
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none", SQLALCHEMY_ENGINE_OPTIONS={})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"


def test_security_headers_on_every_response(client):
    for path in ("/login", "/healthz", "/no-such-page"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP here


def test_hsts_over_https_and_no_cache_for_signed_in_pages(auth, client):
    assert "max-age" in client.get("/login", base_url="https://beacon.test").headers["Strict-Transport-Security"]
    auth.as_role("hr")
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite(auth, client):
    user = factories.user(roles=["hr"])
    response = auth.login(user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_load_no_assets_from_other_sites(client):
    page = client.get("/login").get_data(as_text=True)
    assert "http://" not in page.replace("http://beacon.test", "") and "https://" not in page
    assert client.get("/bootstrap/static/css/bootstrap.min.css").status_code == 200


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    config = settings.load(str(tmp_path), {"BEACON_ENV": "production"})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        settings.validate(config)
    ok = settings.load(str(tmp_path), {"BEACON_ENV": "production", "SECRET_KEY": "x" * 40,
                                       "REVIEW_SEAL_KEY": "r" * 40})
    settings.validate(ok)
    assert ok["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_a_short_secret_key_and_an_unknown_environment(tmp_path):
    short = settings.load(str(tmp_path), {"BEACON_ENV": "production", "SECRET_KEY": "x" * 31})
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        settings.validate(short)
    settings.validate(settings.load(str(tmp_path), {"BEACON_ENV": "production", "SECRET_KEY": "x" * 32,
                                                    "REVIEW_SEAL_KEY": "r" * 32}))
    with pytest.raises(RuntimeError, match="BEACON_ENV must be"):
        settings.load(str(tmp_path), {"BEACON_ENV": "prod", "SECRET_KEY": "x" * 40})


def test_seed_demo_refuses_unless_development_is_set_explicitly(tmp_path, runner):
    assert settings.load(str(tmp_path), {"BEACON_ENV": "development"})["DEMO_ALLOWED"] is True
    assert settings.load(str(tmp_path), {})["DEMO_ALLOWED"] is False
    result = runner.invoke(args=["seed-demo"])  # the test app has no BEACON_ENV: the default
    assert result.exit_code == 1
    assert "only with BEACON_ENV=development" in result.output and "Nothing was written" in result.output
    assert db.session.scalar(select(func.count()).select_from(Officer)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    first = settings.load(str(tmp_path), {})["SECRET_KEY"]
    second = settings.load(str(tmp_path), {})["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_from_the_environment(tmp_path):
    config = settings.load(str(tmp_path), {"DATABASE_URL": "postgresql://u@h/db", "SMTP_PORT": "2525",
                                           "SMTP_USE_TLS": "false", "BEACON_TIMEZONE": "America/New_York"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["SMTP_PORT"] == 2525 and config["SMTP_USE_TLS"] is False
    with pytest.raises(RuntimeError, match="time zone"):
        settings.validate({**config, "BEACON_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(RuntimeError, match="SMTP_PORT"):
        settings.load(str(tmp_path), {"SMTP_PORT": "twenty-five"})


def test_users_create_with_password_from_stdin_then_sign_in(runner, auth):
    result = runner.invoke(args=["users", "create", "chief@pd.test", "--name", "Chief Admin", "--role", "admin",
                                 "--role", "hr", "--password-stdin"], input="cobalt willow fern sonata\n")
    assert result.exit_code == 0, result.output
    first = auth.login("chief@pd.test", "cobalt willow fern sonata")  # sets up two-step sign-in first
    assert first.status_code == 200 and "Save your recovery codes" in first.get_data(as_text=True)


def test_users_create_without_password_sends_an_invitation(runner):
    from core.models import OutboxMessage
    result = runner.invoke(args=["users", "create", "hr2@pd.test", "--name", "Second HR", "--role", "hr"])
    assert result.exit_code == 0 and "invited" in result.output
    assert db.session.scalar(select(OutboxMessage.recipient)) == "hr2@pd.test"


def test_users_create_refuses_a_weak_password_and_a_bad_role(runner):
    weak = runner.invoke(args=["users", "create", "x@pd.test", "--name", "X", "--role", "hr", "--password-stdin"],
                         input="password1234\n")
    assert weak.exit_code == 1 and "common" in weak.output
    bad = runner.invoke(args=["users", "create", "x@pd.test", "--name", "X", "--role", "chief"])
    assert bad.exit_code == 2
    assert db.session.scalar(select(User).where(User.email == "x@pd.test")) is None


def test_seed_demo_builds_a_department_and_refuses_a_second_time(app, runner, auth):
    app.config["DEMO_ALLOWED"] = True  # what BEACON_ENV=development gives (make run sets it)
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    officers = db.session.scalars(select(Officer)).all()
    assert 50 <= len(officers) <= 80
    assert len({o.unit_id for o in officers}) >= 4
    assert sum(1 for o in officers if o.supervisor_id is None) == 1
    logins = [line.split() for line in result.output.splitlines() if "password:" in line]
    roles = {parts[0] for parts in logins}
    assert {"admin", "hr", "clinician", "officer"} <= roles
    for parts in logins:
        email, password = parts[1], " ".join(parts[3:])
        assert auth.login(email, password).status_code == 302
        auth.logout()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 1 and "not empty" in again.output


def test_migrations_give_exactly_the_models_schema(app):
    """`flask db upgrade` on an empty database (done by the fixtures) leaves nothing
    for autogenerate to add: the migrations and the models agree."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_flask_db_upgrade_check_and_downgrade_on_a_fresh_sqlite_file(tmp_path):
    """The operator's commands themselves (PostgreSQL is covered by the test above)."""
    url = f"sqlite:///{tmp_path}/fresh.db"
    env = {"DATABASE_URL": url, "SECRET_KEY": "x", "PATH": "/usr/bin:/bin"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    up = subprocess.run(flask + ["db", "upgrade"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    check = subprocess.run(flask + ["db", "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr
    down = subprocess.run(flask + ["db", "downgrade", "base"], env=env, capture_output=True, text=True)
    assert down.returncode == 0, down.stderr
    engine = sa.create_engine(url)
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()


def test_the_demo_prints_and_mails_the_port_it_was_given(tmp_path):
    """`PORT=... make run`: the printed address and the links in email use that port
    (scripts/run-demo.sh sets BASE_URL from PORT unless BASE_URL is set)."""
    import http.cookiejar
    import os
    import re
    import signal
    import socket
    import time
    import urllib.parse
    import urllib.request
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    database = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if k not in ("BASE_URL", "MIGRATIONS_DATABASE_URL", "BEACON_ENV")}
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{database}", SCHEDULER_EMBEDDED="0")
    root = Path(__file__).resolve().parents[2]
    demo = subprocess.Popen(["scripts/run-demo.sh"], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        printed = ""
        while "Beacon is starting" not in printed:
            line = demo.stdout.readline()
            assert line, f"the demo stopped before starting: {printed[-2000:]}"
            printed += line
        address = f"http://127.0.0.1:{port}"
        assert f"Beacon is starting at {address} " in printed and f"Links in email point to {address}." in printed
        assert ":5000" not in printed
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        for _ in range(100):
            try:
                page = browser.open(f"{address}/password/forgot", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        browser.open(f"{address}/password/forgot", timeout=10, data=urllib.parse.urlencode(
            {"email": "hr@beacon-pd.example", "csrf_token": token}).encode())
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        body = connection.execute(sa.text("SELECT body FROM outbox_messages WHERE recipient = 'hr@beacon-pd.example' "
                                          "ORDER BY id DESC")).scalars().first()
    engine.dispose()
    assert re.search(rf"{re.escape(address)}/\S+", body), body
    assert ":5000" not in body
