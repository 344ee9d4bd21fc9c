"""The scheduler: one leader at a time runs the periodic jobs the domains registered.

Jobs are declared as data with fixed ids (`add_job`), so a restart never duplicates
them; each run is idempotent anyway (outbox de-duplication keys, claimed delivery).
Only one scheduler acts at a time: it must hold the leader lock, a PostgreSQL session
advisory lock (released by the server when the process dies) or, on SQLite, a file
lock beside the database file. A second `flask scheduler run` waits as a standby and
takes over within `SCHEDULER_STANDBY_POLL` seconds of the leader's death.

A leader that loses its lock (its lock connection cut, the database restarted) steps
down at once: it checks the lock before every job run and between delivery batches,
runs nothing more once it is gone, shuts its APScheduler down, drops its sessions and
the dead connection, and stands by again, so it can lead again later.
"""
import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import filelock
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
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
    func: object          # called inside an app context: func(), or func(keep_going=...) if it is long
    trigger: str          # "interval" or "cron"
    options: dict = field(default_factory=dict)
    checks_leadership: bool = False


def add_job(app, job_id: str, func, trigger: str, *, checks_leadership: bool = False, **options) -> None:
    """Declare a periodic job (packages call this when they plug themselves in). A long job declared
    with `checks_leadership` is called as `func(keep_going=...)` and asks `keep_going()`
    between its batches: False means this scheduler no longer leads and must stop."""
    jobs = app.extensions.setdefault(JOBS, {})
    jobs[job_id] = Job(job_id, func, trigger, options, checks_leadership)


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
    """Held by exactly one scheduler of the deployment at a time. Safe to use from the
    scheduler's threads at once (its connection is used by one at a time)."""

    def __init__(self, database_url: str):
        self.url = sa.make_url(database_url)
        self._engine = None
        self._conn = None
        self._file = None
        self._mutex = threading.Lock()

    def try_acquire(self) -> bool:
        with self._mutex:
            if self.url.get_backend_name() == "postgresql":
                try:
                    if self._conn is None:
                        self._engine = self._engine or sa.create_engine(self.url, poolclass=NullPool,
                                                                        isolation_level="AUTOCOMMIT")
                        self._conn = self._engine.connect()
                    return bool(self._conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"),
                                                   {"key": LOCK_KEY}).scalar())
                except sa.exc.SQLAlchemyError:
                    self._drop_connection()  # the database is away: try again on the next poll
                    return False
            database = self.url.database
            if not database or database == ":memory:":
                return True
            # Not thread-local: the jobs' threads ask still_held() of the lock the main thread took.
            self._file = self._file or filelock.FileLock(str(Path(database).resolve()) + ".scheduler-lock",
                                                         thread_local=False)
            try:
                self._file.acquire(timeout=0)
                return True
            except filelock.Timeout:
                return False

    def still_held(self) -> bool:
        """Whether this scheduler still holds the lock: on PostgreSQL, whether the
        server still lists the advisory lock as granted to this very connection (a
        connection that answers is not enough: it may be a new one, or the lock gone)."""
        with self._mutex:
            if self.url.get_backend_name() == "postgresql":
                if self._conn is None:
                    return False
                try:
                    return bool(self._conn.execute(sa.text(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"),
                        {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFF_FFFF}).scalar())
                except sa.exc.SQLAlchemyError:
                    self._drop_connection()
                    return False
            if self._file is not None:
                return self._file.is_locked
            return True

    def release(self) -> None:
        """Let the lock go (a no-op for a lock already lost); never raises."""
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                except sa.exc.SQLAlchemyError:
                    pass  # a dead connection holds nothing any more
                self._drop_connection()
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
            if self._file is not None and self._file.is_locked:
                self._file.release()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except sa.exc.SQLAlchemyError:
                pass
            self._conn = None


class Leader:
    """One scheduler's life: stand by until it holds the lock, run the jobs while it
    holds it, step down the moment it is lost, stand by again; until `stop()`."""

    def __init__(self, app, lock: LeaderLock | None = None):
        self.app = app
        self.lock = lock or LeaderLock(app.config["SQLALCHEMY_DATABASE_URI"])
        self._stopping = threading.Event()
        self._step_down = threading.Event()  # set by a lost lock or by stop(); wakes the leader loop

    def stop(self) -> None:
        self._stopping.set()
        self._step_down.set()

    def run(self) -> None:
        """Blocks until stop() (or Ctrl-C / SIGTERM in `flask scheduler run`)."""
        try:
            while not self._stopping.is_set():
                if not wait_for_leadership(self.app, self.lock, self._stopping):
                    break
                self._lead()
                # Leave the next turn to a standby (it polls every SCHEDULER_STANDBY_POLL):
                # a leader whose connection was cut is the likelier one to lose it again.
                self._stopping.wait(2 * self.app.config["SCHEDULER_STANDBY_POLL"])
        finally:
            self.lock.release()

    def keep_going(self) -> bool:
        """Asked before every job run and between delivery batches."""
        if self._step_down.is_set():
            return False
        if not self.lock.still_held():
            log.error("lost the leader lock: stopping every job and standing by")
            self._step_down.set()
            return False
        return True

    def _lead(self) -> None:
        self._step_down.clear()
        if self._stopping.is_set():
            return
        scheduler = BackgroundScheduler(timezone=self.app.config["BEACON_TIMEZONE"], daemon=True)
        _configure(scheduler, self.app, self)
        scheduler.start()
        try:
            # Idle between jobs, the lock is still checked every poll, so a lost one is
            # noticed even when no job is due.
            while not self._step_down.wait(self.app.config["SCHEDULER_STANDBY_POLL"]):
                self.keep_going()
        finally:
            # Running jobs see keep_going() False at their next batch; wait for them, so
            # nothing of this leadership runs once another scheduler may lead.
            scheduler.shutdown(wait=True)
            self.lock.release()
            if not self._stopping.is_set():
                log.warning("stepped down: standing by")

    def run_job(self, job_id: str) -> None:
        if not self.keep_going():
            return
        job = self.app.extensions[JOBS][job_id]
        with self.app.app_context():
            try:
                result = job.func(keep_going=self.keep_going) if job.checks_leadership else job.func()
                if result:
                    log.info("%s: %s", job_id, result)
            except Exception:  # a failed run is logged; the next one tries again
                log.exception("%s failed", job_id)
            finally:
                db.session.rollback()  # nothing half done survives (a no-op after a commit)
                db.session.remove()


def _configure(scheduler, app, leader: Leader) -> None:
    now = clock.now()
    for job in app.extensions.get(JOBS, {}).values():
        options = dict(job.options)
        if job.trigger == "interval":
            options.setdefault("next_run_time", now)  # run once at start, then on the interval
        scheduler.add_job(leader.run_job, job.trigger, args=[job.id], id=job.id, name=job.id, replace_existing=True,
                          coalesce=True, max_instances=1,
                          misfire_grace_time=app.config["SCHEDULER_MISFIRE_GRACE_SECONDS"], **options)


def wait_for_leadership(app, lock: LeaderLock, stop: threading.Event | None = None) -> bool:
    """Stand by until this scheduler holds the lock (True), or `stop` is set (False)."""
    poll = app.config["SCHEDULER_STANDBY_POLL"]
    stop = stop or threading.Event()
    announced = False
    while not lock.try_acquire():
        if not announced:
            log.warning("another scheduler leads; standing by")
            announced = True
        if stop.wait(poll):
            return False
    if stop.is_set():
        lock.release()
        return False
    log.warning("leading the scheduler")
    return True


def run_blocking(app) -> None:
    """`flask scheduler run`: stand by until leader, lead until the lock is lost, stand
    by again, ... until stopped (Ctrl-C or SIGTERM)."""
    leader = Leader(app)
    # A signal only asks: running jobs stop at their next batch, the lock is let go.
    previous = {sig: signal.signal(sig, lambda *_: leader.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        leader.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def start_embedded(app) -> threading.Thread:
    """SCHEDULER_EMBEDDED=1 (the single-machine demo): the same leader election and jobs
    in a background thread of the web process. Gunicorn deployments use
    `flask scheduler run` instead."""
    leader = Leader(app)
    thread = threading.Thread(target=leader.run, name="beacon-scheduler", daemon=True)
    thread.leader = leader  # so the process (or a test) can stop it
    thread.start()
    return thread
