"""The scheduler: one leader at a time runs the periodic jobs the domains registered.

Jobs are declared as data with fixed ids (`add_job`), so a restart never duplicates
them; each run is idempotent anyway (outbox de-duplication keys, claimed delivery).
Only one scheduler acts at a time: it must hold the leader lock, a PostgreSQL session
advisory lock (released by the server when the process dies) or, on SQLite, a file
lock beside the database file. A second `flask scheduler run` waits as a standby and
takes over within `SCHEDULER_STANDBY_POLL` seconds of the leader's death.
"""
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import filelock
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.pool import NullPool

from core import clock
from core.db import db

JOBS = "beacon.jobs"
REMINDER_SWEEPS = "beacon.reminder_sweeps"
LOCK_KEY = 0x6265_6163  # "beac": the advisory lock every Beacon scheduler competes for
log = logging.getLogger("beacon.scheduler")


@dataclass(frozen=True)
class Job:
    id: str
    func: object          # called with no arguments inside an app context
    trigger: str          # "interval" or "cron"
    options: dict = field(default_factory=dict)


def add_job(app, job_id: str, func, trigger: str, **options) -> None:
    """Declare a periodic job (domains call this from create_app)."""
    jobs = app.extensions.setdefault(JOBS, {})
    jobs[job_id] = Job(job_id, func, trigger, options)


def add_reminder_sweep(app, name: str, sweep) -> None:
    """Declare a domain's reminder sweep: `sweep(now)` returns a Counter of what it queued."""
    app.extensions.setdefault(REMINDER_SWEEPS, {})[name] = sweep


def run_reminder_sweeps(app, now) -> dict:
    totals = {}
    for name, sweep in app.extensions.get(REMINDER_SWEEPS, {}).items():
        for kind, count in sweep(now).items():
            totals[f"{name}.{kind}"] = totals.get(f"{name}.{kind}", 0) + count
    return totals


class LeaderLock:
    """Held by exactly one scheduler of the deployment at a time."""

    def __init__(self, database_url: str):
        self.url = sa.make_url(database_url)
        self._conn = None
        self._file = None

    def try_acquire(self) -> bool:
        if self.url.get_backend_name() == "postgresql":
            if self._conn is None:
                engine = sa.create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
                self._conn = engine.connect()
            if self._conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar():
                return True
            return False
        database = self.url.database
        if not database or database == ":memory:":
            return True
        self._file = self._file or filelock.FileLock(str(Path(database).resolve()) + ".scheduler-lock")
        try:
            self._file.acquire(timeout=0)
            return True
        except filelock.Timeout:
            return False

    def still_held(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
            except sa.exc.DBAPIError:
                return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                self._conn.close()
            except sa.exc.DBAPIError:
                pass
            self._conn = None
        if self._file is not None and self._file.is_locked:
            self._file.release()


def _run(app, job_id: str) -> None:
    job = app.extensions[JOBS][job_id]
    with app.app_context():
        try:
            result = job.func()
            if result:
                log.info("%s: %s", job_id, result)
        except Exception:  # a failed run is logged; the next one tries again
            log.exception("%s failed", job_id)
            db.session.rollback()
        finally:
            db.session.remove()


def _configure(scheduler, app, lock: LeaderLock) -> None:
    now = clock.now()
    for job in app.extensions.get(JOBS, {}).values():
        options = dict(job.options)
        if job.trigger == "interval":
            options.setdefault("next_run_time", now)  # run once at start, then on the interval
        scheduler.add_job(_run, job.trigger, args=[app, job.id], id=job.id, name=job.id, replace_existing=True,
                          coalesce=True, max_instances=1,
                          misfire_grace_time=app.config["SCHEDULER_MISFIRE_GRACE_SECONDS"], **options)

    def check_leadership():
        if not lock.still_held():
            log.error("lost the leader lock (database connection gone): stopping")
            scheduler.shutdown(wait=False)
    scheduler.add_job(check_leadership, "interval", seconds=30, id="leader-check", replace_existing=True)


def wait_for_leadership(app, lock: LeaderLock, stop: threading.Event | None = None) -> bool:
    poll = app.config["SCHEDULER_STANDBY_POLL"]
    announced = False
    while not lock.try_acquire():
        if not announced:
            log.warning("another scheduler leads; standing by")
            announced = True
        if stop is not None and stop.wait(poll):
            return False
        if stop is None:
            time.sleep(poll)
    log.warning("leading the scheduler")
    return True


def run_blocking(app) -> None:
    """`flask scheduler run`: stand by until leader, then run the jobs until stopped."""
    lock = LeaderLock(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        wait_for_leadership(app, lock)
        scheduler = BlockingScheduler(timezone=app.config["BEACON_TIMEZONE"])
        _configure(scheduler, app, lock)
        scheduler.start()
    finally:
        lock.release()


def start_embedded(app) -> threading.Thread:
    """SCHEDULER_EMBEDDED=1 (the single-machine demo): the same leader election and jobs
    in a background thread of the web process. Gunicorn deployments use
    `flask scheduler run` instead."""
    def lead():
        lock = LeaderLock(app.config["SQLALCHEMY_DATABASE_URI"])
        if wait_for_leadership(app, lock, threading.Event()):
            scheduler = BackgroundScheduler(timezone=app.config["BEACON_TIMEZONE"], daemon=True)
            _configure(scheduler, app, lock)
            scheduler.start()
    thread = threading.Thread(target=lead, name="beacon-scheduler", daemon=True)
    thread.start()
    return thread
