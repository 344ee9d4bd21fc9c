"""The first night after a new roster: everyone due at once, nothing in history.

    .venv/bin/python -m bench.first_night [--sizes 50000] [--db sqlite|postgresql|both] [--roster import|bulk]

For each database and size: an empty, migrated database; a roster of N active officers
hired within one month a year ago (so every one of them is due in the next 30 days) imported
through the real import service (`core.services.roster.import_roster`, as `flask roster
import` runs it), or with `--roster bulk` written by a bulk insert of the same officer
rows; an active account for each officer (bulk insert: accounts are an administrator's
separate step); then the first wellness sweep, the reminder sweeps (`flask reminders
run`: a "coming due" reminder for every officer), and a second wellness sweep and second
reminder sweeps at the same moment, which must write nothing. Prints the seconds of each
step and the rows each wrote, per table. Goal: each step under 10 s.
"""
import argparse
import sys
import time
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import department
from bench.harness import DB_LABELS, MIGRATIONS, fresh_database, make_app, say
from core import clock
from core.audit import Actor
from core.db import db
from core.models import AccountStatus, Officer, OfficerStatus, Role, Unit, User, UserRole
from core.passwords import hash_password
from core.services import roster
from core import scheduler
from wellness.services import evaluations

TARGET_S = 10.0
OFFICERS_PER_UNIT = 12


def roster_rows(n: int, today: date) -> list[dict]:
    """Hired within one month a year ago: every annual evaluation is due in the next
    30 days, so the first sweep opens all of them and the reminder sweep writes to all."""
    first_hire = today - timedelta(days=365)
    return [{"badge_number": f"{100000 + i}", "first_name": "Pat", "last_name": f"Recruit{i}",
             "email": f"recruit{i}@beacon-pd.example", "unit": f"Unit {i % max(1, n // OFFICERS_PER_UNIT) + 1}",
             "rank": "Police Officer", "hire_date": first_hire + timedelta(days=1 + i % 29)} for i in range(n)]


def import_csv(rows: list[dict]) -> None:
    lines = ["badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"]
    lines += [f"{r['badge_number']},{r['first_name']},{r['last_name']},{r['email']},{r['unit']},{r['rank']},,"
              f"{r['hire_date'].isoformat()},active" for r in rows]
    report = roster.import_roster(Actor.system("bench"), "\n".join(lines) + "\n", dry_run=False,
                                  filename="first-night.csv")
    if getattr(report, "errors", None):
        raise RuntimeError(f"the roster was refused: {report.errors[:3]}")


def bulk_insert(rows: list[dict], now: datetime) -> None:
    units = sorted({r["unit"] for r in rows})
    unit_ids = {name: i + 1 for i, name in enumerate(units)}
    department.write(Unit, [{"id": i, "name": name} for name, i in unit_ids.items()])
    department.write(Officer, [{"id": i + 1, **{k: v for k, v in r.items() if k != "unit"},
                                "unit_id": unit_ids[r["unit"]], "supervisor_id": None,
                                "status": OfficerStatus.ACTIVE, "created_at": now, "updated_at": now}
                               for i, r in enumerate(rows)])
    db.session.commit()


def accounts(now: datetime) -> None:
    """An active officer account for everyone, as an administrator would create them."""
    first = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
    officers = db.session.execute(sa.select(Officer.id, Officer.email, Officer.first_name, Officer.last_name)
                                  .order_by(Officer.id)).all()
    password_hash = hash_password(department.PASSWORD)
    department.write(User, [{"id": first + i, "email": email, "name": f"{fn} {ln}", "password_hash": password_hash,
                             "status": AccountStatus.ACTIVE, "officer_id": oid, "failed_logins": 0,
                             "created_at": now} for i, (oid, email, fn, ln) in enumerate(officers)])
    department.write(UserRole, [{"user_id": first + i, "role": Role.OFFICER} for i in range(len(officers))])
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence('users', 'id'), "
                                   "(SELECT max(id) FROM users))"))
    db.session.commit()


def table_counts() -> dict[str, int]:
    counts = {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}
    db.session.rollback()
    return counts


def step(label: str, run) -> tuple[float, dict, object]:
    """Run one step in a fresh session; its seconds, the rows it wrote per table, its result."""
    before = table_counts()
    db.session.remove()
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    db.session.remove()
    after = table_counts()
    written = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    say(f"    {label}: {elapsed:.2f} s, {written or 'no rows'}; {result}")
    return elapsed, written, result


def measure(kind: str, n: int, mode: str) -> list[tuple[str, float, dict]]:
    with fresh_database(kind) as url:
        app = make_app(url)
        with clock.frozen(datetime.now(timezone.utc).replace(microsecond=0)), app.app_context():
            upgrade(directory=MIGRATIONS)
            now = clock.now()
            rows = roster_rows(n, now.date())
            load = (lambda: import_csv(rows)) if mode == "import" else (lambda: bulk_insert(rows, now))
            results = [("roster " + mode, *step(f"roster ({mode})", load)[:2])]
            accounts(now)
            if kind == "postgresql":
                department.analyze()  # as autovacuum would after the import
            for label, run in (("wellness sweep", lambda: evaluations.sweep(clock.now())),
                               ("reminder sweeps", lambda: dict(scheduler.run_reminder_sweeps(app, clock.now()))),
                               ("second wellness sweep", lambda: evaluations.sweep(clock.now())),
                               ("second reminder sweeps",
                                lambda: dict(scheduler.run_reminder_sweeps(app, clock.now())))):
                results.append((label, *step(label, run)[:2]))
            db.engine.dispose()
            return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--roster", choices=["import", "bulk"], default="import",
                        help="the real import service (default) or a bulk insert of the same rows")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    ok = True
    print(f"{'database':<11} {'N':>7}  {'step':<22} {'s':>7}  rows written")
    for kind in kinds:
        for n in [int(s.replace("_", "")) for s in args.sizes.split(",")]:
            say(f"{DB_LABELS[kind]}, N={n:,}:")
            for label, seconds, written in measure(kind, n, args.roster):
                print(f"{DB_LABELS[kind]:<11} {n:>7,}  {label:<22} {seconds:>7.2f}  "
                      + (", ".join(f"{t} {c:+,}" for t, c in sorted(written.items())) or "none"))
                sweeps = label != f"roster {args.roster}"
                if sweeps and seconds > TARGET_S:
                    ok = False
                if label.startswith("second") and written:
                    ok = False
    print("OK: every sweep under 10 s, and the second sweeps wrote nothing." if ok else
          "FAIL: a sweep took 10 s or more, or a second sweep wrote something.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
