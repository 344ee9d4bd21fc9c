"""The reminder sweep at department scale.

    .venv/bin/python -m bench.reminders [--sizes 10000,50000] [--db sqlite|postgresql|both]

Builds the synthetic department of bench.department (a year of wellness history, open
evaluations, future bookings), then runs the reminder sweep twice at the same moment
and prints, for each size: the seconds each run took, the statements it made, what
the first queued by kind, and that the second queued nothing. The target: under 10
seconds at 50,000 officers, and nothing queued by the second run.
"""
import argparse
import sys
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import department
from bench.harness import DB_LABELS, MIGRATIONS, QueryCounter, fresh_database, make_app, say
from core import clock
from core.db import db
from core.models import OutboxMessage
from wellness.services import reminders

TARGET_S = 10.0


def measure(kind: str, n: int) -> tuple[list[float], list[int], dict, int]:
    with fresh_database(kind) as url:
        app = make_app(url)
        with clock.frozen(datetime.now(timezone.utc).replace(microsecond=0)):
            with app.app_context():
                upgrade(directory=MIGRATIONS)
                department.build(n, clock.now())
                if kind == "postgresql":
                    department.analyze()
                engine = db.engine
                db.session.remove()
                counter = QueryCounter(engine)
                times, statements, first = [], [], {}
                try:
                    for run in (1, 2):
                        db.session.remove()
                        with counter.request():
                            started = time.perf_counter()
                            queued = reminders.sweep(clock.now())
                            times.append(time.perf_counter() - started)
                        statements.append(counter.count)
                        if run == 1:
                            first = dict(queued)
                        else:
                            second = sum(queued.values())
                    outbox = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
                finally:
                    counter.close()
                    db.session.remove()
                say(f"  N={n:,} on {DB_LABELS[kind]}: outbox now {outbox:,} messages")
                return times, statements, first, second


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    ok = True
    print(f"{'database':<11} {'N':>7}  {'run 1 s':>8} {'run 2 s':>8}  {'statements':>10}  queued by run 1 -> run 2")
    for kind in kinds:
        for n in sizes:
            times, statements, first, second = measure(kind, n)
            kinds_text = ", ".join(f"{k} {v:,}" for k, v in sorted(first.items())) or "nothing"
            print(f"{DB_LABELS[kind]:<11} {n:>7,}  {times[0]:>8.2f} {times[1]:>8.2f}  "
                  f"{statements[0]:>4}/{statements[1]:<5}  {kinds_text} -> {second}")
            if times[0] > TARGET_S or second:
                ok = False
    print("OK: every sweep under 10 s, and a second sweep at the same moment queued nothing." if ok else
          "FAIL: a sweep took 10 s or more, or a second sweep queued something.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
