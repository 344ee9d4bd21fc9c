"""Backup and restore at department scale: the recovery time.

    .venv/bin/python -m bench.backup [--sizes 50000] [--db sqlite|postgresql|both] [--passphrase]

Builds the synthetic department of bench.department (N officers, a year of wellness
and review history, the audit log sealed into its chain), then, as the commands do:
`backup create` (timed, with the file's size), `backup verify`, and `backup restore`
into a new, empty database (timed: loading, recounting every table and walking the
audit chain). Prints, per size and database, rows, file size, seconds for each step,
and rows per second restored.
"""
import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import department
from bench.harness import DB_LABELS, MIGRATIONS, fresh_database, make_app, say
from core import backup, clock
from core.db import db

PASSPHRASE = "bench passphrase for the recovery time"


def measure(kind: str, n: int, encrypted: bool) -> dict:
    with fresh_database(kind) as source_url, fresh_database(kind) as target_url, \
            tempfile.TemporaryDirectory(prefix="beacon-bench-backup-") as work:
        app = make_app(source_url)
        with clock.frozen(datetime.now(timezone.utc).replace(microsecond=0)), app.app_context():
            upgrade(directory=MIGRATIONS)
            started = time.perf_counter()
            department.build(n, clock.now())
            built = time.perf_counter() - started
            engine = db.engine
            path = Path(work) / "bench.backup"
            passphrase = PASSPHRASE if encrypted else None
            started = time.perf_counter()
            made = backup.create(path, engine, passphrase)
            create_s = time.perf_counter() - started
            started = time.perf_counter()
            backup.verify(path, passphrase)
            verify_s = time.perf_counter() - started
            db.session.remove()
        target = sa.create_engine(target_url)
        try:
            started = time.perf_counter()
            backup.restore(path, target, passphrase)
            restore_s = time.perf_counter() - started
        finally:
            target.dispose()
        rows = sum(made.manifest["counts"].values())
        return {"rows": rows, "audit": made.manifest["counts"].get("audit_entries", 0), "bytes": path.stat().st_size,
                "build": built, "create": create_s, "verify": verify_s, "restore": restore_s}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--passphrase", action="store_true", help="encrypt the backup, as BACKUP_PASSPHRASE does")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for n in [int(s) for s in args.sizes.split(",")]:
        for kind in kinds:
            say(f"N={n:,} on {DB_LABELS[kind]}{' (encrypted)' if args.passphrase else ''}: building…")
            r = measure(kind, n, args.passphrase)
            say(f"  {r['rows']:,} rows ({r['audit']:,} audit entries), built in {r['build']:.1f} s")
            say(f"  backup create {r['create']:.1f} s, {r['bytes'] / 1e6:.1f} MB; verify {r['verify']:.1f} s; "
                f"restore into an empty database (load, recount, walk the chain) {r['restore']:.1f} s "
                f"= {r['rows'] / max(r['restore'], 1e-9):,.0f} rows/s")


if __name__ == "__main__":
    main()
