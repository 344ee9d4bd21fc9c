"""Query counts and server times of Beacon's main pages at several department sizes.

    .venv/bin/python -m bench.harness [--sizes 1000,10000] [--db sqlite|postgresql|both] [--repeat 15]

For each database and each size N: a fresh database, migrated to head; a synthetic
department of N officers (bench/department.py); sign-ins through the real /login
form; then every page in PAGES, once to warm up and `--repeat` times measured. A
page's queries are the SQL statements the engine runs during that one request; its
time is the wall-clock time of `client.get` (the whole server side: routing,
services, SQL, templates). The exit status is 1 when a page in MUST_STAY_CONSTANT
makes a different number of queries at different sizes.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from bench import department
from core import clock
from core.db import db

# The pages measured: (name, role that opens it, path). Adding a page is one line here.
# A path may use the department's values: {sergeant_id}, {last_name}.
PAGES = [
    ("home (admin)", "admin", "/"),
    ("home (hr)", "hr", "/"),
    ("roster", "hr", "/roster/"),
    ("roster search", "hr", "/roster/?q={last_name}"),
    ("roster officer (sergeant)", "hr", "/roster/{sergeant_id}"),
    ("access review", "admin", "/admin/access-review"),
    ("access review CSV", "admin", "/admin/access-review.csv"),
    ("accounts", "admin", "/admin/accounts"),
    ("audit log", "admin", "/admin/audit"),
    ("outbox", "admin", "/admin/outbox/"),
]
# Pages whose query count must not depend on N (the promise); others are reported.
MUST_STAY_CONSTANT = ("roster", "access review")
SIGN_INS = {"admin": department.ADMIN_EMAIL, "hr": department.HR_EMAIL}
SLOW_MS = 300

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIGRATIONS = os.path.join(ROOT, "migrations")
PG_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DB_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Measure:
    page: str
    n: int
    queries: list[int] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)

    @property
    def query_label(self) -> str:
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)


def say(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the tables."""
    print(message, file=sys.stderr, flush=True)


# --- databases ---------------------------------------------------------------------------

@contextmanager
def fresh_database(kind: str):
    """The URL of a new, empty database, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="beacon-bench-") as tmp:
            yield f"sqlite:///{os.path.join(tmp, 'bench.db')}"
        return
    server = sa.make_url(PG_SERVER)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(url: str):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "SMTP_HOST": "",
        "BASE_URL": "http://beacon.test",
    })


# --- counting and signing in -----------------------------------------------------------

class QueryCounter:
    """Counts the SQL statements the engine sends, only while `counting` is on."""

    def __init__(self, engine):
        self.engine = engine
        self.counting = False
        self.count = 0
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if self.counting:
            self.count += 1
            self.statements.append(statement)

    @contextmanager
    def request(self):
        self.count, self.statements, self.counting = 0, [], True
        try:
            yield
        finally:
            self.counting = False

    def close(self):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def signed_in_client(app, email: str):
    """A test client signed in through the real form. No app context is held while it
    runs, so every request gets its own (and its own `g`), as in production."""
    client = app.test_client()
    page = client.get("/login")
    match = CSRF_RE.search(page.get_data(as_text=True))
    if not match:
        raise RuntimeError(f"no csrf_token on /login (status {page.status_code})")
    response = client.post("/login", data={"email": email, "password": department.PASSWORD,
                                           "csrf_token": match.group(1)})
    if response.status_code != 302:
        raise RuntimeError(f"signing in as {email} failed: status {response.status_code}")
    return client


# --- one database, one size ------------------------------------------------------------

def measure_size(kind: str, n: int, repeat: int, show_sql: str | None) -> list[Measure]:
    with fresh_database(kind) as url:
        app = make_app(url)
        # One fixed "now" for the whole run: the data is built around it, and no request
        # crosses the 30-second mark that makes a session row be touched (an extra
        # UPDATE that has nothing to do with the page being measured).
        with clock.frozen(datetime.now(timezone.utc).replace(microsecond=0)):
            with app.app_context():
                upgrade(directory=MIGRATIONS)
                started = time.perf_counter()
                dept = department.build(n, clock.now())
                if kind == "postgresql":
                    department.analyze()
                say(f"  built N={n:,} on {DB_LABELS[kind]} in {time.perf_counter() - started:.1f} s: "
                    f"{dept.units} units, {dept.accounts:,} accounts, {dept.audit_entries:,} audit entries, "
                    f"{dept.outbox_messages:,} outbox messages")
                engine = db.engine
                db.session.remove()
            counter = QueryCounter(engine)
            try:
                clients = {role: signed_in_client(app, email) for role, email in SIGN_INS.items()}
                results = []
                for name, role, path in PAGES:
                    results.append(measure_page(clients[role], counter, name, path.format(**dept.path_values()),
                                                n, repeat, show_sql == name))
                return results
            finally:
                counter.close()
                engine.dispose()


def measure_page(client, counter: QueryCounter, name: str, path: str, n: int, repeat: int,
                 show_sql: bool) -> Measure:
    response = client.get(path)  # warm-up: templates compiled, caches filled
    if response.status_code != 200:
        raise RuntimeError(f"{name}: GET {path} answered {response.status_code}, not 200")
    result = Measure(page=name, n=n)
    for _ in range(repeat):
        with counter.request():
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{name}: GET {path} answered {response.status_code}, not 200")
        result.queries.append(counter.count)
        result.times_ms.append(elapsed * 1000)
    if show_sql:
        say(f"  SQL of one request to {path} at N={n:,} ({counter.count} statements):")
        for statement in counter.statements:
            say("    " + " ".join(statement.split())[:400])
    return result


# --- report ------------------------------------------------------------------------------

def report(kind: str, results: list[Measure]) -> list[str]:
    """Print the table of one database; return the names of pages whose count grew."""
    print(f"\n{DB_LABELS[kind]}")
    width = max(len(m.page) for m in results) + 2
    print(f"{'page':<{width}}{'N':>8}{'queries':>9}{'median ms':>11}")
    print("-" * (width + 28))
    by_page = defaultdict(list)
    for m in results:
        by_page[m.page].append(m)
    for page, measures in by_page.items():
        for m in sorted(measures, key=lambda m: m.n):
            print(f"{page:<{width}}{m.n:>8,}{m.query_label:>9}{m.median_ms:>11.1f}")
    print()
    grown = []
    for page, measures in by_page.items():
        measures.sort(key=lambda m: m.n)
        counts = [m.query_label for m in measures]
        verdict = f"constant ({counts[0]})" if len(set(counts)) == 1 else "GROWS: " + " -> ".join(counts)
        if len(set(counts)) > 1:
            grown.append(page)
        slow = [m for m in measures if m.median_ms > SLOW_MS]
        if slow:
            verdict += "; SLOW: " + ", ".join(f"{m.median_ms:.0f} ms at N={m.n:,}" for m in slow)
        print(f"{page:<{width}}{verdict}")
    return grown


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000",
                        help="department sizes N, comma-separated (default 1000,10000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=15, help="measured requests per page (after one warm-up)")
    parser.add_argument("--show-sql", metavar="PAGE", help="print the SQL of one request to this page, at each size")
    args = parser.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.show_sql and args.show_sql not in [name for name, _, _ in PAGES]:
        parser.error(f"--show-sql: no page named {args.show_sql!r}")

    failed = []
    for kind in kinds:
        say(f"{DB_LABELS[kind]}:")
        results = []
        for n in sizes:
            results += measure_size(kind, n, args.repeat, args.show_sql)
        grown = report(kind, results)
        failed += [f"{page} on {DB_LABELS[kind]}" for page in grown if page in MUST_STAY_CONSTANT]
    if failed:
        print(f"\nFAIL: the query count grows with N for: {', '.join(failed)}")
        return 1
    print(f"\nOK: {', '.join(MUST_STAY_CONSTANT)} make the same number of queries at every size.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
