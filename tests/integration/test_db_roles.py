"""Two database roles (issue 13, part 2): the migrations run as the owner; the app, and
so this whole suite on PostgreSQL, connects as a runtime role that may INSERT and SELECT
on the audit log (and update an entry's chain columns, to seal it) and nothing else
there: no UPDATE of its content, no DELETE, no TRUNCATE, no ALTER, no DROP TRIGGER, no
table of its own. `flask db-roles grant ROLE` makes the role and its grants, again and
again without harm; SQLite has no roles and the command says so."""
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import select
from sqlalchemy.pool import NullPool

import config as settings
from core import db_roles
from core.audit import Actor, record
from core.db import db
from core.models import AuditEntry, Role
from tests.conftest import MIGRATIONS, make_app

PERMISSION_DENIED = "42501"  # insufficient_privilege


@pytest.fixture
def pg(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("roles are PostgreSQL's (SQLite: see test_the_grant_command_refuses_on_sqlite)")
    return app


def owner_engine(app):
    return sa.create_engine(app.config["MIGRATIONS_DATABASE_URL"], poolclass=NullPool)


def runtime_role():
    return db.session.execute(sa.text("SELECT current_user")).scalar()


def refused(statement, **params):
    """The runtime role's attempt, in a transaction of its own: the error it gets."""
    with pytest.raises(sa.exc.DBAPIError) as caught:
        with db.engine.begin() as conn:
            conn.execute(sa.text(statement), params)
    return caught.value.orig


def assert_permission_denied(statement, **params):
    error = refused(statement, **params)
    assert error.sqlstate == PERMISSION_DENIED, f"{statement}: {error}"
    assert "permission denied" in str(error) or "must be owner" in str(error), str(error)


def privileges(conn, role):
    """Everything `role` holds on the schema's tables, columns and sequences."""
    tables = conn.execute(sa.text("""
        SELECT table_name, privilege_type FROM information_schema.role_table_grants
        WHERE grantee = :r AND table_schema = 'public' ORDER BY 1, 2"""), {"r": role}).all()
    columns = conn.execute(sa.text("""
        SELECT table_name, column_name, privilege_type FROM information_schema.column_privileges
        WHERE grantee = :r AND table_schema = 'public' ORDER BY 1, 2, 3"""), {"r": role}).all()
    sequences = conn.execute(sa.text("""
        SELECT c.relname, has_sequence_privilege(:r, c.oid, 'USAGE'), has_sequence_privilege(:r, c.oid, 'UPDATE')
        FROM pg_class c WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace ORDER BY 1"""),
        {"r": role}).all()
    return tables, columns, sequences


def write_entry(detail="kept"):
    record(Actor.system("test"), "test.entry", detail=detail)
    db.session.commit()
    return db.session.scalars(select(AuditEntry).where(AuditEntry.detail == detail)).one()


def test_the_suite_runs_as_a_runtime_role_that_owns_nothing(pg):
    role = runtime_role()
    assert role.startswith("beacon_rt_")
    attributes = db.session.execute(sa.text("""
        SELECT rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, rolcanlogin
        FROM pg_roles WHERE rolname = current_user""")).one()
    assert tuple(attributes) == (False, False, False, False, False, False, True)
    with owner_engine(pg).connect() as owner:
        assert owner.execute(sa.text("SELECT current_user")).scalar() != role
        assert db_roles.role_problems(owner, role) == []  # owns nothing, a member of no role
    tables = db.session.scalar(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                                       "AND tableowner = current_user"))
    assert tables == 0


def test_the_runtime_role_inserts_and_reads_the_audit_log_and_seals_it(pg):
    entry = write_entry()  # INSERT, then the seal before commit: UPDATE of the chain columns only
    assert entry.entry_hash and entry.seq == 1
    db.session.execute(sa.text("INSERT INTO audit_entries (at, actor_label, action, outcome, detail) "
                               "VALUES (now(), 'x', 'test.raw', 'success', 'raw')"))
    db.session.commit()
    assert db.session.scalar(sa.text("SELECT count(*) FROM audit_entries")) == 2
    heads = db.session.execute(sa.text("SELECT log, seq FROM audit_chain_heads ORDER BY log")).all()
    assert dict(heads)["general"] >= 1


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entries SET detail = 'nothing happened'",
    "UPDATE audit_entries SET action = 'changed', outcome = 'failure'",
    "DELETE FROM audit_entries",
    "TRUNCATE audit_entries",
    "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
    "ALTER TABLE audit_entries ADD COLUMN note text",
    "DROP TABLE audit_entries",
    "DELETE FROM audit_chain_heads",
    "TRUNCATE audit_chain_heads",
    "ALTER TABLE audit_chain_heads DISABLE TRIGGER ALL",
    "ALTER TABLE users DISABLE TRIGGER ALL",
    "UPDATE alembic_version SET version_num = 'x'",
    "CREATE TABLE public.shadow_log (id int)",
    "CREATE TABLE shadow_log (id int)",
    "SET session_replication_role = replica",  # what would switch the triggers off
], ids=["update-detail", "update-content", "delete", "truncate", "disable-triggers", "alter-add-column",
        "drop-table", "heads-delete", "heads-truncate", "heads-disable-triggers", "other-table-alter",
        "alembic-version-update", "create-table-public", "create-table-default-schema", "replication-role"])
def test_the_runtime_role_is_refused_by_the_database(pg, statement):
    write_entry()
    assert_permission_denied(statement)
    assert db.session.scalar(sa.text("SELECT count(*) FROM audit_entries")) == 1


def test_the_runtime_role_cannot_drop_or_replace_the_audit_logs_triggers(pg):
    write_entry()
    triggers = db.session.scalars(sa.text("SELECT tgname FROM pg_trigger "
                                          "WHERE tgrelid = 'audit_entries'::regclass AND NOT tgisinternal")).all()
    assert triggers  # the append-only and no-truncate triggers
    for trigger in triggers:
        assert_permission_denied(f'DROP TRIGGER "{trigger}" ON audit_entries')
    function = db.session.scalar(sa.text("SELECT p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
                                         "WHERE t.tgrelid = 'audit_entries'::regclass AND NOT t.tgisinternal "
                                         "LIMIT 1"))
    assert_permission_denied(f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$ BEGIN RETURN NEW; END; "
                             "$$ LANGUAGE plpgsql")
    assert_permission_denied(f"DROP FUNCTION {function}() CASCADE")


def test_a_sealed_entry_cannot_be_resealed_even_through_the_chain_columns(pg):
    """The column grant lets the app seal an entry; the trigger allows that only once."""
    entry = write_entry()
    error = refused("UPDATE audit_entries SET entry_hash = :h WHERE id = :id", h="f" * 64, id=entry.id)
    assert "append-only" in str(error)


def test_the_app_works_through_its_pages_as_the_runtime_role(pg, auth, client):
    auth.as_role(Role.ADMIN)
    page = client.get("/admin/audit")
    assert page.status_code == 200
    unsealed = db.session.scalar(sa.text("SELECT count(*) FROM audit_entries WHERE entry_hash IS NULL"))
    assert unsealed == 0 and db.session.scalar(sa.text("SELECT count(*) FROM audit_entries")) >= 1


def test_the_grant_command_is_idempotent(pg, runner):
    role = runtime_role()
    with owner_engine(pg).connect() as owner:
        before = privileges(owner, role)
    for _ in range(2):
        result = runner.invoke(args=["db-roles", "grant", role])
        assert result.exit_code == 0, result.output
        assert f"runtime role {role} already there" in result.output
    with owner_engine(pg).connect() as owner:
        assert privileges(owner, role) == before
    tables, columns, sequences = before
    audit = {p for t, p in tables if t == "audit_entries"}
    assert audit == {"SELECT", "INSERT"}
    assert {(c, p) for t, c, p in columns if t == "audit_entries" and p == "UPDATE"} == {
        ("seq", "UPDATE"), ("prev_hash", "UPDATE"), ("entry_hash", "UPDATE")}
    assert {p for t, p in tables if t == "audit_chain_heads"} == {"SELECT"}
    assert {(c, p) for t, c, p in columns if t == "audit_chain_heads" and p == "UPDATE"} == {
        ("seq", "UPDATE"), ("entry_hash", "UPDATE")}
    assert {p for t, p in tables if t == "users"} == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert {p for t, p in tables if t == "alembic_version"} == {"SELECT"}
    assert sequences and all(usage and update for _, usage, update in sequences)
    write_entry()  # and the app still works
    assert_permission_denied("DELETE FROM audit_entries")


def test_the_grant_command_makes_a_new_role_with_a_password_twice_without_harm(pg, runner):
    role = f"beacon_rt_new_{uuid.uuid4().hex[:8]}"
    owner = owner_engine(pg)
    try:
        first = runner.invoke(args=["db-roles", "grant", role, "--password-stdin"], input="s3cret-Runtime\n")
        assert first.exit_code == 0, first.output
        assert f"runtime role {role} created" in first.output
        with owner.connect() as conn:
            granted = privileges(conn, role)
            verifier = conn.execute(sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"),
                                    {"r": role}).scalar()
        assert verifier.startswith("SCRAM-SHA-256$")  # hashed before it left the client
        second = runner.invoke(args=["db-roles", "grant", role])
        assert second.exit_code == 0 and "already there" in second.output
        with owner.connect() as conn:
            assert privileges(conn, role) == granted
        as_new = sa.create_engine(sa.make_url(pg.config["SQLALCHEMY_DATABASE_URI"]).set(
            username=role, password="s3cret-Runtime"), poolclass=NullPool)
        with as_new.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM audit_entries")).scalar() == 0
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text("DELETE FROM audit_entries"))
        as_new.dispose()
    finally:
        with owner.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        owner.dispose()


def test_the_grant_command_refuses_a_role_that_could_change_the_schema(pg, runner):
    owner_name = sa.make_url(pg.config["MIGRATIONS_DATABASE_URL"]).username
    itself = runner.invoke(args=["db-roles", "grant", owner_name])
    assert itself.exit_code == 1 and "must be another one" in itself.output
    role = f"beacon_rt_owner_{uuid.uuid4().hex[:8]}"
    owner = owner_engine(pg)
    try:
        with owner.begin() as conn:
            conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(sa.text("CREATE TABLE public.owned_by_runtime (id int)"))
            conn.execute(sa.text(f'ALTER TABLE public.owned_by_runtime OWNER TO "{role}"'))
        result = runner.invoke(args=["db-roles", "grant", role])
        assert result.exit_code == 1 and "owns 1 object(s)" in result.output
        bad = runner.invoke(args=["db-roles", "grant", 'x"; DROP TABLE users; --'])
        assert bad.exit_code == 1 and "not a role name" in bad.output
    finally:
        with owner.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS public.owned_by_runtime"))
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        owner.dispose()


def test_the_grants_tolerate_a_database_before_the_audit_chain(pg):
    """Before migration 0016 there are no chain columns and no audit_chain_heads."""
    name = f"beacon_roles_{uuid.uuid4().hex[:8]}"
    role = f"beacon_rt_early_{uuid.uuid4().hex[:8]}"
    server = sa.make_url(pg.config["MIGRATIONS_DATABASE_URL"])
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    early = sa.create_engine(server.set(database=name), poolclass=NullPool)
    try:
        with early.begin() as conn:
            conn.execute(sa.text("CREATE TABLE audit_entries (id serial PRIMARY KEY, detail text)"))
        result = db_roles.apply(early, role)
        assert result.chain_columns == () and not result.chain_heads and result.tables == 1
        with early.connect() as conn:
            assert privileges(conn, role)[0] == [("audit_entries", "INSERT"), ("audit_entries", "SELECT")]
            assert privileges(conn, role)[1] == [("audit_entries", "detail", "INSERT"),
                                                 ("audit_entries", "detail", "SELECT"),
                                                 ("audit_entries", "id", "INSERT"),
                                                 ("audit_entries", "id", "SELECT")]
    finally:
        early.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_migrations_run_as_the_owner_and_reapply_the_runtime_grants(pg):
    """`flask db upgrade` connects with MIGRATIONS_DATABASE_URL; a table a migration
    (re)creates is granted to the runtime role in the same transaction."""
    role = runtime_role()
    db.session.remove()
    migrations_app = make_app(pg.config["SQLALCHEMY_DATABASE_URI"])
    assert migrations_app.config["MIGRATIONS_DATABASE_URL"] != migrations_app.config["SQLALCHEMY_DATABASE_URI"]
    with migrations_app.app_context():
        downgrade(directory=MIGRATIONS, revision="-1")  # drops audit_chain_heads (0016)
        upgrade(directory=MIGRATIONS)  # creates it again, as the owner
        db.engine.dispose()
    with owner_engine(pg).connect() as owner:
        tables = privileges(owner, role)[0]
        owners = owner.execute(sa.text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")).all()
    assert {p for t, p in tables if t == "audit_chain_heads"} == {"SELECT"}
    assert {p for t, p in tables if t == "audit_entries"} == {"SELECT", "INSERT"}
    assert role not in {o for (o,) in owners}
    write_entry()


def test_the_runtime_role_cannot_migrate(pg):
    """Without MIGRATIONS_DATABASE_URL, `flask db downgrade` connects as the runtime role: refused."""
    runtime_app = make_app(pg.config["SQLALCHEMY_DATABASE_URI"], MIGRATIONS_DATABASE_URL=None)
    with runtime_app.app_context():
        with pytest.raises(sa.exc.ProgrammingError, match="must be owner|permission denied"):
            downgrade(directory=MIGRATIONS, revision="-1")
        db.engine.dispose()


def test_the_grant_command_refuses_on_sqlite(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'beacon.db'}")
    result = app.test_cli_runner().invoke(args=["db-roles", "grant", "beacon_app"])
    assert result.exit_code == 1
    assert "SQLite has no roles" in result.output
    with pytest.raises(db_roles.RoleError, match="SQLite has no roles"):
        db_roles.apply(sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}"), "beacon_app")


def test_the_sql_it_runs_is_there_to_read(tmp_path):
    sql = db_roles.grant_sql("beacon_app", "beacon")
    assert sql == db_roles.GRANT_SQL
    for line in ('CREATE ROLE "beacon_app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT',
                 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "beacon_app";',
                 'REVOKE UPDATE, DELETE ON public.audit_entries FROM "beacon_app";',
                 'GRANT UPDATE (seq, prev_hash, entry_hash) ON public.audit_entries TO "beacon_app";',
                 'REVOKE INSERT, UPDATE, DELETE ON public.audit_chain_heads FROM "beacon_app";',
                 'GRANT UPDATE (seq, entry_hash) ON public.audit_chain_heads TO "beacon_app";',
                 "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"):
        assert line in sql
    app = make_app(f"sqlite:///{tmp_path / 'beacon.db'}")
    printed = app.test_cli_runner().invoke(args=["db-roles", "sql", "beacon_app"])
    assert printed.exit_code == 0 and printed.output == sql


def test_migrations_database_url_is_its_own_setting(tmp_path):
    plain = settings.load(tmp_path, env={"DATABASE_URL": "postgresql://app@db/beacon", "SECRET_KEY": "x"})
    assert plain["MIGRATIONS_DATABASE_URL"] is None  # the same as DATABASE_URL
    both = settings.load(tmp_path, env={"DATABASE_URL": "postgresql://app@db/beacon",
                                        "MIGRATIONS_DATABASE_URL": "postgresql://owner@db/beacon", "SECRET_KEY": "x"})
    assert both["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db/beacon"
    assert both["MIGRATIONS_DATABASE_URL"] == "postgresql+psycopg://owner@db/beacon"
    assert db_roles.runtime_role({**both}) == "app"
    assert db_roles.runtime_role({**plain}) is None
