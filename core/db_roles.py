"""Two database roles on PostgreSQL (issue 13): the migrations run as the owner of the
schema (MIGRATIONS_DATABASE_URL); the application connects as a runtime role
(DATABASE_URL) that owns nothing and may do only what the app needs:

- every table in the public schema: SELECT, INSERT, UPDATE, DELETE; every sequence:
  USAGE, SELECT, UPDATE;
- audit_entries: SELECT, INSERT, and UPDATE of the chain columns only (seq, prev_hash,
  entry_hash: the app seals each entry just before commit, which a trigger allows once,
  while the entry is unsealed); no UPDATE of its content, no DELETE, no TRUNCATE;
- audit_chain_heads: SELECT, and UPDATE of (seq, entry_hash) only (the anchor, first_seq
  and first_prev, moves only by the owner's retention; a trigger keeps heads moving forward);
- alembic_version: SELECT only;
- no CREATE on the schema, no ownership, no membership of another role: it cannot
  ALTER or DROP a table or a trigger (only an owner can), nor create a table of its own.

`apply(owner, role, password=None)` creates the role when it is missing (LOGIN
NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS) and (re)applies
the grants, in one transaction; running it again changes nothing. Grants cover the
tables and sequences that exist when it runs (ALTER DEFAULT PRIVILEGES would give a new
audit table too much until then), so it runs again after every migration: `flask db
upgrade` does it itself when MIGRATIONS_DATABASE_URL signs in as another user than
DATABASE_URL and that user exists (migrations/env.py); by hand it is
`flask --app app db-roles grant ROLE`. `grant_sql(role, database)` is the SQL it runs,
as text (`flask --app app db-roles sql ROLE`).
"""
import re
import sys
from dataclasses import dataclass

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.pool import NullPool

AUDIT_ENTRIES = "audit_entries"
CHAIN_HEADS = "audit_chain_heads"
CHAIN_COLUMNS = ("seq", "prev_hash", "entry_hash")  # the only columns of audit_entries the app may update
ALEMBIC_VERSION = "alembic_version"
ROLE_ATTRIBUTES = ("LOGIN", "NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE", "NOINHERIT", "NOREPLICATION",
                   "NOBYPASSRLS")
# pg_roles column -> the attribute the runtime role must have
_ATTRIBUTE_COLUMNS = {"rolcanlogin": (True, "LOGIN"), "rolsuper": (False, "NOSUPERUSER"),
                      "rolcreatedb": (False, "NOCREATEDB"), "rolcreaterole": (False, "NOCREATEROLE"),
                      "rolinherit": (False, "NOINHERIT"), "rolreplication": (False, "NOREPLICATION"),
                      "rolbypassrls": (False, "NOBYPASSRLS")}
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SQLITE_REFUSAL = ("SQLite has no roles: the app and its migrations share the one database file. "
                  "db-roles is for PostgreSQL (MIGRATIONS_DATABASE_URL, or DATABASE_URL, must be postgresql://...).")


class RoleError(ValueError):
    """The runtime role cannot be (re)granted as asked; the message says why."""


@dataclass
class Result:
    role: str
    created: bool
    altered: tuple[str, ...]  # attributes put right on an existing role
    tables: int
    sequences: int
    chain_columns: tuple[str, ...]  # the chain columns of audit_entries the role may update
    chain_heads: bool  # audit_chain_heads exists (and was granted)

    def summary(self) -> str:
        how = "created" if self.created else ("updated (" + " ".join(self.altered) + ")" if self.altered
                                              else "already there")
        entries = "SELECT, INSERT" + (f", UPDATE ({', '.join(self.chain_columns)})" if self.chain_columns else "")
        heads = "; audit_chain_heads: SELECT, UPDATE (seq, entry_hash)" if self.chain_heads else ""
        return (f"runtime role {self.role} {how}; grants applied to {self.tables} table(s) and "
                f"{self.sequences} sequence(s) in schema public; audit_entries: {entries}{heads}; "
                f"no CREATE on the schema, owns nothing.")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_role_name(role: str) -> str:
    if not ROLE_NAME.match(role or ""):
        raise RoleError(f"{role!r} is not a role name this command accepts: lower-case letters, digits "
                        "and _, not starting with a digit, at most 63 characters")
    return role


def create_role_sql(role: str) -> str:
    return f"CREATE ROLE {quote(role)} " + " ".join(ROLE_ATTRIBUTES)


def grant_statements(role: str, database: str, chain_columns=CHAIN_COLUMNS, chain_heads=True,
                     audit_entries=True, alembic_version=True) -> list[str]:
    """The statements that (re)apply the runtime role's privileges, in order. Everything
    it held on the schema's tables and sequences is taken back first, so the result is
    the same however often (and after whatever migration) it runs."""
    r = quote(role)
    statements = [
        # No one but the owner creates objects in the schema (PostgreSQL 15's default;
        # older servers let PUBLIC, and so every role, CREATE there).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA public FROM {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"GRANT CONNECT ON DATABASE {quote(database)} TO {r}",
        # Start from nothing (this also takes back column privileges) ...
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
        # ... the app's everyday work on every table and sequence ...
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}",
    ]
    # ... less on the tables only migrations write and on the audit log.
    if alembic_version:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE ON public.{ALEMBIC_VERSION} FROM {r}")
    if audit_entries:
        statements.append(f"REVOKE UPDATE, DELETE ON public.{AUDIT_ENTRIES} FROM {r}")
        if chain_columns:
            statements.append(f"GRANT UPDATE ({', '.join(chain_columns)}) ON public.{AUDIT_ENTRIES} TO {r}")
    if chain_heads:  # sealing moves a head on (its place and hash); the anchor is retention's, as the owner
        statements.append(f"REVOKE INSERT, UPDATE, DELETE ON public.{CHAIN_HEADS} FROM {r}")
        statements.append(f"GRANT UPDATE (seq, entry_hash) ON public.{CHAIN_HEADS} TO {r}")
    return statements


def grant_sql(role: str = "beacon_app", database: str = "beacon") -> str:
    """What `apply` runs, as SQL to read or to run by hand with psql as the owner."""
    r = quote(role)
    lines = ["-- As the owner (MIGRATIONS_DATABASE_URL). Once: the runtime role (DATABASE_URL signs in as it).",
             create_role_sql(role) + ";",
             f"ALTER ROLE {r} PASSWORD 'the runtime password';  -- \\password {role} in psql hashes it first",
             "",
             "-- After every migration (`flask db upgrade` does this itself when the role exists):",
             "BEGIN;"]
    lines += [s + ";" for s in grant_statements(role, database)]
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


GRANT_SQL = grant_sql()  # for the README: role beacon_app, database beacon


def _rows(conn, sql, **params):
    return conn.execute(sa.text(sql), params).all()


def role_problems(conn, role: str) -> list[str]:
    """Why `role` cannot be the runtime role of this database (empty: it can, or it
    does not exist yet). Attributes that are wrong are put right by `apply` instead."""
    problems = []
    if conn.execute(sa.text("SELECT current_user")).scalar() == role:
        problems.append(f"{role} is the role running this command (the owner): the runtime role must be another one")
    oid = conn.execute(sa.text("SELECT oid FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    if oid is None:
        return problems
    owned = conn.execute(sa.text("""
        SELECT count(*) FROM pg_shdepend
        WHERE refclassid = 'pg_authid'::regclass AND refobjid = :oid AND deptype = 'o'
          AND (dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               OR (classid = 'pg_database'::regclass
                   AND objid = (SELECT oid FROM pg_database WHERE datname = current_database())))
    """), {"oid": oid}).scalar()
    if owned:
        problems.append(f"{role} owns {owned} object(s) in this database (an owner can ALTER and DROP them, "
                        f"triggers included): REASSIGN OWNED BY {role} TO the owner first")
    memberships = [r for (r,) in _rows(conn, """
        SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
        WHERE m.member = :oid ORDER BY g.rolname""", oid=oid)]
    if memberships:
        problems.append(f"{role} is a member of {', '.join(memberships)} (it could SET ROLE to it): "
                        f"REVOKE {', '.join(memberships)} FROM {role} first")
    return problems


def _set_password(conn, role: str, password: str):
    """The password, hashed here (SCRAM, as the server asks) so that it never reaches the
    server, nor its log, in clear."""
    pgconn = getattr(conn.connection.dbapi_connection, "pgconn", None)
    if pgconn is None or not hasattr(pgconn, "encrypt_password"):
        raise RoleError("setting a password needs the psycopg 3 driver (postgresql+psycopg://); "
                        f"or set it by hand: \\password {role} in psql")
    verifier = pgconn.encrypt_password(password.encode(), role.encode()).decode()
    conn.exec_driver_sql(f"ALTER ROLE {quote(role)} PASSWORD '{verifier.replace(chr(39), chr(39) * 2)}'")


def apply(owner, role: str, password: str | None = None) -> Result:
    """Create the runtime role if it is missing and (re)apply its grants, as `owner` (an
    Engine, or a Connection whose transaction the caller commits). Idempotent."""
    if isinstance(owner, sa.engine.Engine):
        with owner.begin() as conn:
            return apply(conn, role, password)
    conn = owner
    if conn.dialect.name != "postgresql":
        raise RoleError(SQLITE_REFUSAL if conn.dialect.name == "sqlite" else
                        f"{conn.dialect.name} is not supported: db-roles is for PostgreSQL")
    check_role_name(role)
    problems = role_problems(conn, role)
    if problems:
        raise RoleError("; ".join(problems))
    existing = conn.execute(sa.text("SELECT " + ", ".join(_ATTRIBUTE_COLUMNS) + " FROM pg_roles WHERE rolname = :r"),
                            {"r": role}).mappings().first()
    altered = ()
    if existing is None:
        conn.exec_driver_sql(create_role_sql(role))
    else:
        altered = tuple(word for column, (wanted, word) in _ATTRIBUTE_COLUMNS.items() if existing[column] != wanted)
        if altered:
            conn.exec_driver_sql(f"ALTER ROLE {quote(role)} " + " ".join(altered))
    if password is not None:
        _set_password(conn, role, password)

    database = conn.execute(sa.text("SELECT current_database()")).scalar()
    entries_columns = {c for (c,) in _rows(conn, """
        SELECT attname FROM pg_attribute
        WHERE attrelid = to_regclass('public.audit_entries') AND attnum > 0 AND NOT attisdropped""")}
    chain_columns = tuple(c for c in CHAIN_COLUMNS if c in entries_columns)
    chain_heads = conn.execute(sa.text(f"SELECT to_regclass('public.{CHAIN_HEADS}') IS NOT NULL")).scalar()
    alembic_version = conn.execute(sa.text(f"SELECT to_regclass('public.{ALEMBIC_VERSION}') IS NOT NULL")).scalar()
    for statement in grant_statements(role, database, chain_columns=chain_columns, chain_heads=chain_heads,
                                      audit_entries=bool(entries_columns), alembic_version=alembic_version):
        conn.exec_driver_sql(statement)
    counts = dict(_rows(conn, """
        SELECT CASE relkind WHEN 'S' THEN 'sequences' ELSE 'tables' END, count(*) FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        GROUP BY 1"""))
    return Result(role=role, created=existing is None, altered=altered, tables=counts.get("tables", 0),
                  sequences=counts.get("sequences", 0), chain_columns=chain_columns, chain_heads=chain_heads)


def owner_url(config) -> str:
    """The URL the owner connects with: MIGRATIONS_DATABASE_URL, else DATABASE_URL."""
    return config.get("MIGRATIONS_DATABASE_URL") or config["SQLALCHEMY_DATABASE_URI"]


def runtime_role(config) -> str | None:
    """The user DATABASE_URL signs in as, when migrations sign in as another one on
    PostgreSQL: the role whose grants a migration must reapply. Else None."""
    owner = config.get("MIGRATIONS_DATABASE_URL")
    if not owner:
        return None
    app_url, owner_url_ = sa.make_url(config["SQLALCHEMY_DATABASE_URI"]), sa.make_url(owner)
    if app_url.get_backend_name() != "postgresql" or owner_url_.get_backend_name() != "postgresql":
        return None
    if not app_url.username or app_url.username == owner_url_.username:
        return None
    return app_url.username


def after_migrations(conn, role: str) -> tuple[bool, str]:
    """Reapply the runtime role's grants in the migrations' transaction, if the role
    exists and may be the runtime role. Never fails the migration: (done, message)."""
    if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is None:
        return False, (f"runtime role {role} (DATABASE_URL) does not exist yet: "
                       f"create it with `flask --app app db-roles grant {role} --password-stdin`")
    try:
        with conn.begin_nested():
            result = apply(conn, role)
    except (RoleError, sa.exc.DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return False, (f"runtime role {role}: grants NOT reapplied ({reason}); "
                       f"fix it, then `flask --app app db-roles grant {role}`")
    return True, result.summary()


db_roles_cli = AppGroup("db-roles", help="PostgreSQL: the runtime role the app connects as (DATABASE_URL).")


def _owner_engine():
    url = owner_url(current_app.config)
    if sa.make_url(url).get_backend_name() == "sqlite":
        raise click.ClickException(SQLITE_REFUSAL)
    return sa.create_engine(url, poolclass=NullPool)


@db_roles_cli.command("grant")
@click.argument("role")
@click.option("--password-stdin", is_flag=True, help="Set the role's password, read from standard input.")
def grant_command(role, password_stdin):
    """Create the runtime role ROLE if missing and (re)apply its grants, connected as the
    owner (MIGRATIONS_DATABASE_URL, else DATABASE_URL). Idempotent: run it after every
    `flask db upgrade` (which does it itself when DATABASE_URL signs in as ROLE)."""
    engine = _owner_engine()
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
    try:
        result = apply(engine, role, password)
    except RoleError as exc:
        raise click.ClickException(str(exc)) from exc
    except sa.exc.DBAPIError as exc:
        raise click.ClickException(f"the database refused: {str(exc.orig).strip().splitlines()[0]}") from exc
    finally:
        engine.dispose()
    click.echo(result.summary())


@db_roles_cli.command("sql")
@click.argument("role", default="beacon_app")
@click.option("--database", default=None, help="The database's name (default: the one DATABASE_URL names).")
def sql_command(role, database):
    """Print the SQL that `grant` runs, to read or to run by hand with psql as the owner."""
    try:
        check_role_name(role)
    except RoleError as exc:
        raise click.ClickException(str(exc)) from exc
    url = sa.make_url(owner_url(current_app.config))
    database = database or (url.database if url.get_backend_name() == "postgresql" else None) or "beacon"
    click.echo(grant_sql(role, database), nl=False)
