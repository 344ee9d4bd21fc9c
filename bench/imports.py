"""Roster and metrics imports at department size: wall time, rows/s and peak memory.

    .venv/bin/python -m bench.imports [--rows 200000] [--db sqlite|postgresql|both]

For each database: a fresh database migrated to head, then, each in its own Python
process (so the peak memory, ru_maxrss, is that case's alone):

  roster CLI        `roster import FILE` on the empty database (imports.run_now: job, check, write)
  roster job        the page's path on the same database, the same file again: upload (a job),
                    the worker's check (the preview), confirm, the worker's check and write,
                    with 10% of the officers changed (rank) and 1% separated
  metrics CLI       `metrics import FILE`, one row per officer
Goal (issue 9): each under 60 s and 300 MB for 200,000 rows. "peak MB" is the process's
peak resident memory; "app MB" is the same process with Beacon loaded, before the import.
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta

import sqlalchemy as sa

PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROSTER_HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status\n"
METRICS_HEADER = ("badge_number,period_start,period_end,compliments,complaints,complaints_sustained,"
                  "community_meetings,problem_solving_projects,resident_safety_score\n")
GOAL_S, GOAL_MB = 60, 300


def roster_csv(rows: int, changed: bool = False, seed: int = 9) -> bytes:
    """A department of `rows` officers: chiefs, then each officer reporting to one of
    the previous tenth (a realistic, deep-enough chain of command)."""
    rng = random.Random(seed)
    lines = [ROSTER_HEADER]
    for i in range(rows):
        badge = f"B{i:07d}"
        boss = "" if i < 10 else f"B{rng.randrange(max(1, i // 10)):07d}"
        rank = "Police Officer" if i >= 1000 else "Sergeant"
        status = "active"
        if changed and i % 10 == 3:
            rank = "Detective"
        if changed and i % 100 == 7 and i >= 100_000:
            status = "separated"
        hired = date(1990, 1, 1) + timedelta(days=rng.randrange(12_000))
        lines.append(f"{badge},First{i},Last{i},officer{i}@pd.test,Unit {i % 500},{rank},{boss},"
                     f"{hired.isoformat()},{status}\n")
    return "".join(lines).encode()


def metrics_csv(rows: int) -> bytes:
    lines = [METRICS_HEADER]
    for i in range(rows):
        lines.append(f"B{i:07d},2025-01-01,2025-12-31,{i % 7},{i % 3},{i % 2 if i % 3 else 0},{i % 5},{i % 4},"
                     f"{1 + (i % 40) / 10:.1f}\n")
    return "".join(lines).encode()


def fresh_database(kind: str, workdir: str) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{workdir}/bench-imports.db", lambda: None
    name = f"bench_imports_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False), drop


def peak_mb() -> int:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux ru_maxrss
    carries over an exec the peak of the parent that forked the process (here the
    bench's own, which wrote the files), so a small case would show the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def case(name: str, url: str, path: str) -> dict:
    """One measured case, in this (child) process."""
    from app import create_app
    from core.audit import Actor
    from core.db import db
    from core.services import imports

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench" * 8})
    base_mb = peak_mb()   # Beacon loaded, no import yet
    with open(path, "rb") as handle:
        rows = sum(1 for _ in handle) - 1
    cli = Actor.system("bench")
    with app.app_context():
        start = time.perf_counter()
        if name == "roster job":
            with open(path, "rb") as handle:
                job = imports.submit(cli, "roster", handle.read(), "roster.csv", confirmed=False)
            imports.work()
            checked = time.perf_counter()
            imports.confirm(cli, "roster", job.id)
            imports.work()
            job = imports.get(cli, "roster", job.id)
            result = {"state": job.state.value, "summary": {k: v for k, v in job.summary.items()
                                                            if k != "separated_badges"},
                      "preview_s": round(checked - start, 1)}
        else:
            kind = "roster" if name.startswith("roster") else "metrics"
            with open(path, "rb") as handle:   # as the command line does: the bytes go to the job, not kept here
                report = imports.run_now(cli, kind, handle.read(), os.path.basename(path), dry_run=False)
            result = {"state": "done" if report.ok else f"{len(report.errors)} errors: {report.errors[:3]}",
                      "summary": {k: v for k, v in report.summary().items()
                                  if k not in ("separated_badges", "periods")}}
        elapsed = time.perf_counter() - start
        db.session.remove()
    result.update(base_mb=base_mb, seconds=round(elapsed, 1), peak_mb=peak_mb(), rows=rows)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(case(args.case, args.url, args.file)))
        return 0

    from tests.conftest import migrate_to_head
    workdir = tempfile.mkdtemp(prefix="bench-imports-")
    files = {"roster": f"{workdir}/roster.csv", "roster changed": f"{workdir}/roster-changed.csv",
             "metrics": f"{workdir}/metrics.csv"}
    for key, content in (("roster", roster_csv(args.rows)), ("roster changed", roster_csv(args.rows, changed=True)),
                         ("metrics", metrics_csv(args.rows))):
        with open(files[key], "wb") as handle:
            handle.write(content)
    print(f"{args.rows:,} rows; roster file {os.path.getsize(files['roster']) / 1e6:.1f} MB, "
          f"metrics file {os.path.getsize(files['metrics']) / 1e6:.1f} MB; goal < {GOAL_S} s and < {GOAL_MB} MB")
    print(f"{'database':<11} {'case':<12} {'seconds':>8} {'rows/s':>9} {'peak MB':>8} {'app MB':>7}  outcome")
    over = False
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        url, drop = fresh_database(kind, workdir)
        try:
            migrate_to_head(url)
            for name, path in (("roster CLI", files["roster"]), ("roster job", files["roster changed"]),
                               ("metrics CLI", files["metrics"])):
                out = subprocess.run([sys.executable, "-m", "bench.imports", "--case", name, "--url", url,
                                      "--file", path], capture_output=True, text=True)
                if out.returncode:
                    print(f"{kind:<11} {name:<12} failed:\n{out.stderr[-2000:]}")
                    over = True
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                over |= r["seconds"] > GOAL_S or r["peak_mb"] > GOAL_MB
                extra = f" (preview after {r['preview_s']} s)" if "preview_s" in r else ""
                print(f"{kind:<11} {name:<12} {r['seconds']:>8.1f} {r['rows'] / max(r['seconds'], 0.001):>9,.0f} "
                      f"{r['peak_mb']:>8} {r['base_mb']:>7}  {r['state']} {r['summary']}{extra}", flush=True)
        finally:
            drop()
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
