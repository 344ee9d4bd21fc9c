"""Query counts and server times of Beacon's main pages at several department sizes.

    .venv/bin/python -m bench.harness [--sizes 1000,10000] [--db sqlite|postgresql|both] [--repeat 15]
                                      [--budget 30] [--only wellness] [--show-sql PAGE] [--explain PAGE]

For each database and each size N: a fresh database, migrated to head; a synthetic
department of N officers (bench/department.py); sign-ins through the real /login
form; then every page in PAGES, once to warm up and `--repeat` times measured (fewer,
but at least MIN_REPEAT, when a page has used up its `--budget` of seconds). A
page's queries are the SQL statements the engine runs during that one request; its
time is the wall-clock time of `client.get` (the whole server side: routing,
services, SQL, templates). The exit status is 1 when a page in MUST_STAY_CONSTANT
makes a different number of queries at different sizes, or when the second wellness
sweep at the same moment changes anything.

The wellness sweep (`wellness.services.evaluations.sweep`) is timed too, after the
pages: once on the department as built, then again at the same moment.
"""
import argparse
import gc
import hashlib
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
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from bench import department, floors
from core import clock
from core.db import db
from core.models import AuditEntry
from core.models import OutboxMessage
from core.services import two_step
from wellness.models import Appointment, WellnessEvaluation
from wellness.services import evaluations

# The pages measured: (name, role that opens it, path). Adding a page is one line here.
# A path may use the department's values: {sergeant_id}, {last_name}, {record_officer_id}.
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
    ("wellness dashboard", "hr", "/wellness/"),
    ("wellness dashboard (overdue)", "hr", "/wellness/?state=overdue"),
    ("wellness dashboard CSV", "hr", "/wellness/dashboard.csv"),
    ("wellness needs attention", "hr", "/wellness/attention"),
    ("wellness officer record", "hr", "/wellness/officers/{record_officer_id}"),
    ("wellness incidents", "hr", "/wellness/incidents"),
    ("wellness clinicians", "hr", "/wellness/clinicians"),
    ("review matrix", "hr", "/reviews/cycles/{cycle_id}/matrix"),
    ("review matrix (sergeants)", "hr", "/reviews/cycles/{cycle_id}/matrix?rank=Sergeant"),
    ("review matrix CSV", "hr", "/reviews/cycles/{cycle_id}/matrix.csv"),
    ("review subject report", "hr", "/reviews/cycles/{cycle_id}/subjects/{sergeant_id}"),
    ("review subject report PDF", "hr", "/reviews/cycles/{cycle_id}/subjects/{sergeant_id}.pdf"),
    # The command role's figures (HR may open them too): every table and the monthly series.
    ("oversight figures", "hr", "/oversight/"),
    ("oversight compliance CSV", "hr", "/oversight/compliance.csv"),
]
# Pages whose query count must not depend on N (the promise); others are reported.
MUST_STAY_CONSTANT = ("roster", "access review", "wellness dashboard", "wellness dashboard (overdue)",
                      "wellness needs attention",
                      "review matrix", "review matrix CSV", "review subject report", "oversight figures",
                      "oversight compliance CSV")
SIGN_INS = {"admin": department.ADMIN_EMAIL, "hr": department.HR_EMAIL}
SLOW_MS = 300
SWEEP = "wellness sweep"  # its name for --only, --show-sql and --explain
SWEEP_SLOW_S = 10
MIN_REPEAT = 3  # measured requests per page, whatever the --budget
# What a SweepReport counts as changes (a field the report does not have counts as none).
CHANGES = ("opened", "closed", "paused", "resumed", "license_warnings")

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
    floor_ms: list[float] = field(default_factory=list)  # its raw-SQL floor (bench/floors.py), when it has one

    @property
    def floor_median_ms(self) -> float | None:
        return statistics.median(self.floor_ms) if self.floor_ms else None

    @property
    def query_label(self) -> str:
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)


@dataclass
class SweepMeasure:
    """Two runs of the sweep at the same moment: queries, milliseconds and the report of each."""
    n: int
    queries: list[int] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)
    reports: list[evaluations.SweepReport] = field(default_factory=list)
    second_changed: bool = False  # the second run changed a row (it must not)

    @property
    def second_idle(self) -> bool:
        """The second run reported no change (its overdue count is a count, not a change)
        and the database is as the first run left it."""
        r = self.reports[1]
        return not any(getattr(r, name, 0) for name in CHANGES) and not self.second_changed


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

@dataclass
class Statement:
    sql: str
    parameters: object
    executemany: bool
    ms: float = 0.0


class QueryCounter:
    """Counts the SQL statements the engine sends, only while `counting` is on, and
    keeps each one with its parameters and its time (cursor execute to return)."""

    def __init__(self, engine):
        self.engine = engine
        self.counting = False
        self.count = 0
        self.statements: list[Statement] = []
        self._started = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._seen)
        sa.event.listen(engine, "after_cursor_execute", self._done)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if self.counting:
            self.count += 1
            self.statements.append(Statement(statement, parameters, executemany))
            self._started = time.perf_counter()

    def _done(self, conn, cursor, statement, parameters, context, executemany):
        if self.counting and self.statements:
            self.statements[-1].ms = (time.perf_counter() - self._started) * 1000

    @contextmanager
    def request(self):
        self.count, self.statements, self.counting = 0, [], True
        try:
            yield
        finally:
            self.counting = False

    def show(self, label: str) -> None:
        """Print (to stderr) the statements of the last request, with their times."""
        say(f"  SQL of {label} ({self.count} statements, "
            f"{sum(st.ms for st in self.statements):.1f} ms in cursor.execute; SQLite yields rows as they are "
            "fetched, so its times stop at the first row):")
        for st in self.statements:
            many = f" [executemany x{len(st.parameters)}]" if st.executemany else ""
            say(f"    {st.ms:8.1f} ms  " + " ".join(st.sql.split())[:600] + many)

    def explain(self, kind: str, label: str) -> None:
        """Print the plan of each statement of the last request: EXPLAIN ANALYZE on
        PostgreSQL for SELECTs (plain EXPLAIN for writes, so nothing changes), EXPLAIN
        QUERY PLAN on SQLite. INSERTs and executemany statements are skipped."""
        say(f"  Plans of {label}:")
        with self.engine.connect() as conn:
            for st in self.statements:
                head = st.sql.lstrip().split(None, 1)[0].upper()
                if st.executemany or head not in ("SELECT", "WITH", "UPDATE", "DELETE"):
                    continue
                say("    -- " + " ".join(st.sql.split())[:300])
                if kind == "postgresql":
                    prefix = "EXPLAIN ANALYZE " if head in ("SELECT", "WITH") else "EXPLAIN "
                    rows = conn.exec_driver_sql(prefix + st.sql, st.parameters).all()
                    for (line,) in rows:
                        say("       " + line)
                else:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + st.sql, st.parameters).all()
                    depth = {0: 0}
                    for node, parent, _, detail in rows:
                        depth[node] = depth.get(parent, 0) + 1
                        say("       " + "  " * depth[node] + detail)
                conn.rollback()

    def close(self):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)
        sa.event.remove(self.engine, "after_cursor_execute", self._done)


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
    if response.status_code == 303 and response.headers["Location"].endswith("/login/code"):
        page = client.get("/login/code")
        match = CSRF_RE.search(page.get_data(as_text=True))
        with app.app_context():
            code = two_step.code_at(department.TOTP_SECRET, clock.now())
        response = client.post("/login/code", data={"code": code, "csrf_token": match.group(1)})
    if response.status_code != 302:
        raise RuntimeError(f"signing in as {email} failed: status {response.status_code}")
    return client


# --- one database, one size ------------------------------------------------------------

def measure_size(kind: str, n: int, repeat: int, budget: float, show_sql: str | None, explain: str | None,
                 pages: list[tuple], sweep: bool) -> tuple[list[Measure], SweepMeasure | None]:
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
                    f"{dept.outbox_messages:,} outbox messages; wellness: {dept.clinicians} clinicians, "
                    f"{dept.evaluations:,} evaluations ({dept.in_progress:,} in progress), "
                    f"{dept.appointments:,} appointments ({dept.active_appointments:,} active), "
                    f"{dept.incidents} incidents; reviews: {dept.reviews:,} ({dept.anonymous_reviews:,} anonymous); "
                    f"results fixed at publication: {dept.result_lines:,} lines in {dept.results_seconds:.2f} s")
                engine = db.engine
                db.session.remove()
            # Measure as a server process would run: the build's millions of temporary
            # objects collected, and what remains (the app, its metadata) set aside from
            # the collector, as a long-running worker's start-up objects are. Without
            # this, full collections over the builder's leftovers land in the timings.
            gc.collect()
            gc.freeze()
            counter = QueryCounter(engine)
            day = clock.now().astimezone(ZoneInfo(app.config["BEACON_TIMEZONE"])).date()
            page_floors = floors.floors(day, app.config["WELLNESS_INTERVAL_MONTHS"])
            try:
                clients = {role: signed_in_client(app, email) for role, email in SIGN_INS.items()}
                results = []
                for name, role, path in pages:
                    results.append(measure_page(clients[role], counter, kind, name,
                                                path.format(**dept.path_values()), n, repeat, budget,
                                                show_sql == name, explain == name))
                    if name in page_floors:
                        results[-1].floor_ms = measure_floor(engine, page_floors[name], len(results[-1].times_ms))
                swept = measure_sweep(app, counter, kind, n, show_sql == SWEEP, explain == SWEEP) if sweep else None
                return results, swept
            finally:
                counter.close()
                engine.dispose()
                gc.unfreeze()


def fingerprint() -> str:
    """A digest of everything the sweep may change: evaluations, appointments, and how
    many outbox messages and audit entries there are."""
    digest = hashlib.sha256()
    e, a = WellnessEvaluation, Appointment
    for row in db.session.execute(sa.select(e.id, e.status, e.due_on, e.paused_on, e.completed_on, e.closed_reason)
                                  .order_by(e.id)):
        digest.update(repr(tuple(row)).encode())
    for row in db.session.execute(sa.select(a.id, a.status, a.closed_at).order_by(a.id)):
        digest.update(repr(tuple(row)).encode())
    for model in (OutboxMessage, AuditEntry):
        digest.update(repr(db.session.scalar(sa.select(sa.func.count()).select_from(model))).encode())
    db.session.rollback()
    return digest.hexdigest()


def measure_sweep(app, counter: QueryCounter, kind: str, n: int, show_sql: bool, explain: bool) -> SweepMeasure:
    """`sweep(now)` on the department as built, then again at the same moment (which
    must change nothing). Each run in a fresh session inside an application context,
    as `flask wellness sweep` runs it."""
    result = SweepMeasure(n=n)
    with app.app_context():
        before_second = None
        for run in (1, 2):
            db.session.remove()
            if run == 2:
                before_second = fingerprint()
                db.session.remove()
            with counter.request():
                started = time.perf_counter()
                report = evaluations.sweep(clock.now())
                elapsed = time.perf_counter() - started
            result.queries.append(counter.count)
            result.times_ms.append(elapsed * 1000)
            result.reports.append(report)
            say(f"  sweep run {run} at N={n:,}: {elapsed:.2f} s, {counter.count} statements: {report}")
            if run == 1:
                if show_sql:
                    counter.show(f"the first sweep at N={n:,}")
                statements = counter.statements
        result.second_changed = fingerprint() != before_second
        db.session.remove()
    if explain:
        counter.statements = statements
        counter.explain(kind, f"the first sweep at N={n:,} (planned after both runs)")
    return result


def measure_floor(engine, statements: list[tuple[str, dict]], repeat: int) -> list[float]:
    """Milliseconds of the page's raw-SQL floor, every row fetched, after one warm-up run,
    as many times as the page was requested."""
    times = []
    with engine.connect() as conn:
        for i in range(repeat + 1):
            started = time.perf_counter()
            for sql, values in statements:
                conn.execute(sa.text(sql), values).all()
            if i:
                times.append((time.perf_counter() - started) * 1000)
            conn.rollback()
    return times


def measure_page(client, counter: QueryCounter, kind: str, name: str, path: str, n: int, repeat: int,
                 budget: float, show_sql: bool, explain: bool) -> Measure:
    response = client.get(path)  # warm-up: templates compiled, caches filled
    if response.status_code != 200:
        raise RuntimeError(f"{name}: GET {path} answered {response.status_code}, not 200")
    result = Measure(page=name, n=n)
    spent = 0.0
    for i in range(repeat):
        if i >= MIN_REPEAT and spent > budget:
            break  # a slow page: enough requests for a median, and the run stays short
        with counter.request():
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{name}: GET {path} answered {response.status_code}, not 200")
        result.queries.append(counter.count)
        result.times_ms.append(elapsed * 1000)
        spent += elapsed
    if show_sql:
        counter.show(f"one request to {path} at N={n:,} ({elapsed * 1000:.0f} ms in all)")
    if explain:
        counter.explain(kind, f"one request to {path} at N={n:,}")
    return result


# --- report ------------------------------------------------------------------------------

def report(kind: str, results: list[Measure], sweeps: list[SweepMeasure]) -> tuple[list[str], bool]:
    """Print the tables of one database; return the names of pages whose count grew,
    and whether every second sweep changed nothing."""
    print(f"\n{DB_LABELS[kind]}")
    grown = report_pages(results) if results else []
    return grown, report_sweeps(sweeps) if sweeps else True


def report_pages(results: list[Measure]) -> list[str]:
    width = max(len(m.page) for m in results) + 2
    print(f"{'page':<{width}}{'N':>8}{'queries':>9}{'median ms':>11}{'requests':>10}{'floor ms':>10}{'ratio':>7}")
    print("-" * (width + 55))
    by_page = defaultdict(list)
    for m in results:
        by_page[m.page].append(m)
    for page, measures in by_page.items():
        for m in sorted(measures, key=lambda m: m.n):
            floor = m.floor_median_ms
            beside = f"{floor:>10.1f}{m.median_ms / floor:>6.1f}x" if floor else f"{'-':>10}{'-':>7}"
            print(f"{page:<{width}}{m.n:>8,}{m.query_label:>9}{m.median_ms:>11.1f}{len(m.times_ms):>10}{beside}")
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


def report_sweeps(sweeps: list[SweepMeasure]) -> bool:
    sweeps = sorted(sweeps, key=lambda m: m.n)
    print()
    print(f"{SWEEP:<16}{'N':>8}{'queries':>9}{'run 1 ms':>11}{'run 2 ms':>11}")
    print("-" * 55)
    for m in sweeps:
        print(f"{SWEEP:<16}{m.n:>8,}{'/'.join(map(str, m.queries)):>9}{m.times_ms[0]:>11.1f}{m.times_ms[1]:>11.1f}")
    print()
    for m in sweeps:
        print(f"N={m.n:,} run 1: {m.reports[0]}")
        print(f"N={m.n:,} run 2: {m.reports[1]}; "
              + ("changed nothing" if m.second_idle else "CHANGED THE DATABASE (it must not)"))
    counts = ["/".join(map(str, m.queries)) for m in sweeps]
    # Reported, not checked: one INSERT per 1,000 evaluations opened, one per license warning queued.
    verdict = f"queries constant ({counts[0]})" if len(set(counts)) == 1 else "queries differ: " + " -> ".join(counts)
    slow = [m for m in sweeps if m.times_ms[0] > SWEEP_SLOW_S * 1000]
    if slow:
        verdict += "; SLOW: " + ", ".join(f"{m.times_ms[0] / 1000:.1f} s at N={m.n:,}" for m in slow)
    print(f"{SWEEP}: {verdict}")
    return all(m.second_idle for m in sweeps)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000",
                        help="department sizes N, comma-separated (default 1000,10000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=15, help="measured requests per page (after one warm-up)")
    parser.add_argument("--budget", type=float, default=30,
                        help=f"seconds per page and size after which no more requests are made "
                             f"(at least {MIN_REPEAT}; default 30)")
    parser.add_argument("--only", metavar="NAMES",
                        help="measure only the pages (and the sweep, 'wellness sweep') whose name contains one of "
                             "these comma-separated words, e.g. 'wellness' or 'wellness,home (hr)'")
    parser.add_argument("--show-sql", metavar="PAGE",
                        help=f"print the SQL of one request to this page (or '{SWEEP}'), at each size, with times")
    parser.add_argument("--explain", metavar="PAGE",
                        help="print the query plans of one request to this page (or the sweep), at each size")
    args = parser.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = [name for name, _, _ in PAGES] + [SWEEP]
    for option in ("show_sql", "explain"):
        if getattr(args, option) and getattr(args, option) not in names:
            parser.error(f"--{option.replace('_', '-')}: no page named {getattr(args, option)!r}")
    words = [w.strip().lower() for w in (args.only or "").split(",") if w.strip()]

    def chosen(name):
        return not words or any(w in name.lower() for w in words)

    pages = [p for p in PAGES if chosen(p[0])]
    sweep = chosen(SWEEP)
    if not pages and not sweep:
        parser.error(f"--only {args.only!r} matches no page")
    for option in ("show_sql", "explain"):
        if getattr(args, option) and not chosen(getattr(args, option)):
            parser.error(f"--{option.replace('_', '-')} {getattr(args, option)!r}: not among the pages --only keeps")

    failed, changed = [], []
    for kind in kinds:
        say(f"{DB_LABELS[kind]}:")
        results, sweeps = [], []
        for n in sizes:
            measured, swept = measure_size(kind, n, args.repeat, args.budget, args.show_sql, args.explain,
                                           pages, sweep)
            results += measured
            sweeps += [swept] if swept else []
        grown, idle = report(kind, results, sweeps)
        failed += [f"{page} on {DB_LABELS[kind]}" for page in grown if page in MUST_STAY_CONSTANT]
        if not idle:
            changed.append(DB_LABELS[kind])
    if failed:
        print(f"\nFAIL: the query count grows with N for: {', '.join(failed)}")
    if changed:
        print(f"\nFAIL: the second sweep at the same moment changed the database on: {', '.join(changed)}")
    if failed or changed:
        return 1
    checked = [name for name, _, _ in pages if name in MUST_STAY_CONSTANT]
    if checked:
        print(f"\nOK: {', '.join(checked)} make the same number of queries at every size.")
    if sweep:
        print("OK: the second sweep at the same moment changed nothing.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
