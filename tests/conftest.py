"""Test fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL,
a real SMTP server on loopback, and helpers to sign in as each role.

Databases: BEACON_TEST_DATABASES (default "sqlite,postgresql") chooses the backends
that the `app` fixture runs on. PostgreSQL is reached at TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); each run creates its own fresh
database there and drops it at the end, so runs never collide. Where the server
cannot be reached, the PostgreSQL variants are skipped with the reason.
"""
import contextlib
import contextvars
import os
import re
import shutil
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import create_app
from core import clock, db_roles
from core.db import db
from tests import factories

BACKENDS = [b.strip() for b in os.environ.get("BEACON_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "REVIEW_SEAL_KEY": "test-review-seal-key-not-for-production",
    "BASE_URL": "http://beacon.test",
    "SMTP_HOST": "",
    "MAIL_FROM": "Beacon <beacon@beacon.test>",
    "RATELIMIT_ENABLED": False,  # on only in tests/integration/test_rate_limits.py
}


def make_app(database_url, **overrides):
    # On PostgreSQL the app connects as the runtime role; its migrations run as the owner.
    owner = {"MIGRATIONS_DATABASE_URL": _owner_urls[database_url]} if database_url in _owner_urls else {}
    return create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **owner, **overrides})


def migrate_to_head(database_url):
    app = make_app(database_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated SQLite file per run; each test gets its own copy."""
    path = tmp_path_factory.mktemp("template") / "beacon.db"
    migrate_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL database for this run, migrated to head by the owner (the
    server's user, TEST_POSTGRES_URL); the URL given connects as a runtime role made for
    this run (core.db_roles: it owns nothing and cannot change the audit log), so the
    whole suite runs as the app does in production. Both are dropped at the end."""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL is not in BEACON_TEST_DATABASES")
    server = sa.make_url(PG_URL)
    admin_engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"beacon_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin_engine.dispose()
        if os.environ.get("CI"):  # CI has the server: its absence is a failure, not a skip
            pytest.fail(f"PostgreSQL unreachable in CI: {exc.orig}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: no server at {server.render_as_string(hide_password=True)} "
                    f"({str(exc.orig).strip().splitlines()[0]})")
    url = server.set(database=name).render_as_string(hide_password=False)
    role, password = f"beacon_rt_{os.getpid()}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        migrate_to_head(url)
        _remember_reference_rows(url)
        owner_engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            db_roles.apply(owner_engine, role, password)
        finally:
            owner_engine.dispose()
        runtime_url = server.set(database=name, username=role, password=password).render_as_string(
            hide_password=False)
        _owner_urls[runtime_url] = url
        yield runtime_url
    finally:
        with admin_engine.connect() as conn:
            with contextlib.suppress(sa.exc.OperationalError, sa.exc.ProgrammingError):
                with sa.create_engine(url, poolclass=sa.pool.NullPool).begin() as owned:
                    owned.execute(sa.text(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER'))
                    owned.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin_engine.dispose()


_reference_rows: dict[str, list[dict]] = {}
_owner_urls: dict[str, str] = {}  # the runtime role's URL -> the owner's, for the same database


def _remember_reference_rows(url):
    """Rows the migrations put in (the default incident types), restored after each
    test's truncation so every test starts from exactly what `flask db upgrade` gives."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in conn.execute(table.select())]
            if rows:
                _reference_rows[table.name] = rows
    engine.dispose()


def _truncate_all(url):
    # As the owner (the runtime role may not TRUNCATE), with triggers off for this
    # transaction (the audit log's refuse TRUNCATE): only a superuser may do this.
    engine = sa.create_engine(_owner_urls.get(url, url))
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        tables = [t.name for t in db.metadata.sorted_tables]
        conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        for table in db.metadata.sorted_tables:
            rows = _reference_rows.get(table.name)
            if rows:
                conn.execute(table.insert(), rows)
            if rows and "id" in table.c:  # audit_chain_heads is keyed by its log's name
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT max(id) FROM \"{table.name}\"))"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "beacon.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _truncate_all(url)
    return url


@pytest.fixture
def app_config():
    """Override in a test module to change settings for every test there."""
    return {}


@pytest.fixture
def app(database_url, app_config):
    app = make_app(database_url, **app_config)
    with app.app_context():
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


class BrowserClient(FlaskClient):
    """Each request runs in its own application context, as in production.

    The tests hold an app context for their own database work; without this, Flask
    would reuse it for the request and leak `g` (the signed-in user, the CSRF token)
    from one request to the next. The test's session is committed first, so its
    objects are re-read after the request and it holds no lock the request needs.
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        return contextvars.copy_context().run(self._open_alone, *args, **kwargs)

    def _open_alone(self, *args, **kwargs):
        _cv_app.set(None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = BrowserClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class QueryCounter:
    """The SQL statements run on the app's engine while counting (pages, services)."""

    def __init__(self):
        self.statements: list[str] = []

    def __len__(self):
        return len(self.statements)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as counted: client.get(...)`, then `len(counted)` is the
    number of statements the block ran (`counted.statements` lists them), to show that
    a page's query count does not grow with the data."""
    @contextlib.contextmanager
    def counting():
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter._seen)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter._seen)
    return counting


@pytest.fixture
def frozen_clock():
    """The clock held at a fixed moment; `clock.advance()` moves it."""
    with clock.frozen(datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)):
        yield clock


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path="/login"):
    """The CSRF token a real browser would have, read from a rendered form."""
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no csrf_token on {path} (status {page.status_code})"
    return match.group(1)


class Auth:
    """Sign in and out through the real pages (the tutorial's AuthActions)."""

    def __init__(self, client):
        self.client = client

    def login(self, email, password=factories.PASSWORD, second_step=True, next=None):
        """Sign in (asking to go to `next` afterwards); when the account asks for a
        second step, give its authenticator's code (setting it up first, as a first
        sign-in does) unless `second_step=False`. Returns the last response."""
        token = csrf_token(self.client, "/login")
        response = self.client.post("/login", query_string={"next": next} if next is not None else None,
                                    data={"email": email, "password": password, "csrf_token": token})
        step = response.headers.get("Location", "") if response.status_code == 303 else ""
        if not second_step or not step.endswith(("/login/code", "/login/setup")):
            return response
        if step.endswith("/login/setup"):
            page = self.client.get("/login/setup")  # draws the secret to set up
            token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
            response = self.client.post("/login/setup", data={"code": factories.authenticator_code(email),
                                                              "csrf_token": token})
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            return response
        token = csrf_token(self.client, "/login/code")
        return self.client.post("/login/code", data={"code": factories.authenticator_code(email),
                                                     "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client, "/account/password")
        return self.client.post("/logout", data={"csrf_token": token})

    def as_role(self, role, **kwargs):
        """Create an account with `role` and sign in with it; returns the user."""
        user = factories.user(roles=[role], **kwargs)
        response = self.login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    def post(self, path, data=None, form_page=None, **kwargs):
        """POST like a browser: with the CSRF token from a page of the site."""
        data = dict(data or {})
        data.setdefault("csrf_token", csrf_token(self.client, form_page or "/account/password"))
        return self.client.post(path, data=data, **kwargs)


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback that keeps what it receives."""
    from tests.smtp import SMTPServer
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app_config(smtp_server):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "SMTP_USE_TLS": False}
