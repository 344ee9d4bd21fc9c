"""Fault tests of the scheduler, as separate processes against PostgreSQL and a real
SMTP server on loopback: every reminder arrives exactly once through two schedulers
at once, a SIGKILL mid-batch, an SMTP outage, and three days of downtime."""
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.db import db
from core.models import OutboxMessage, OutboxStatus
from core.scheduler import LOCK_KEY
from tests import factories
from tests.conftest import _truncate_all, make_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg(postgres_database, smtp_server):
    """The test's PostgreSQL app (fresh tables) and the environment for schedulers."""
    _truncate_all(postgres_database)
    app = make_app(postgres_database, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_USE_TLS=False)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": postgres_database,
        "SECRET_KEY": "fault-test", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_server.port),
        "SMTP_USE_TLS": "false", "MAIL_FROM": "Beacon <beacon@beacon.test>", "BASE_URL": "http://beacon.test",
        "SCHEDULER_DELIVERY_SECONDS": "1", "SCHEDULER_REMINDER_SECONDS": "1", "SCHEDULER_STANDBY_POLL": "1",
        "OUTBOX_STALE_CLAIM_SECONDS": "2", "OUTBOX_RETRY_BASE_SECONDS": "1", "BEACON_TIMEZONE": "America/Chicago",
    }
    with app.app_context():
        yield app, env
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


class Schedulers:
    def __init__(self, env, tmp_path):
        self.env, self.tmp_path, self.procs = env, tmp_path, []

    def start(self):
        log = open(self.tmp_path / f"scheduler-{len(self.procs)}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"], cwd=ROOT,
                                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def logs(self):
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("scheduler-*.log")))

    def log(self, index):
        return (self.tmp_path / f"scheduler-{index}.log").read_text()

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def schedulers(pg, tmp_path):
    group = Schedulers(pg[1], tmp_path)
    yield group
    group.stop_all()


def appointments_within_a_day(count, hours_ahead=10, status="confirmed"):
    """`count` officers with accounts, each with an appointment `hours_ahead` from now."""
    now = datetime.now(timezone.utc)
    clinicians = [factories.clinician() for _ in range(3)]
    for i in range(count):
        officer = factories.officer()
        factories.user(roles=["officer"], officer_row=officer)
        start = (now + timedelta(hours=hours_ahead, minutes=i)).replace(second=0, microsecond=0)
        factories.appointment(factories.evaluation(officer), clinicians[i % 3], start, status=status)


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def sent_message_ids():
    db.session.expire_all()
    return {m.message_id for m in db.session.scalars(select(OutboxMessage))}


def assert_each_arrived_exactly_once(smtp_server, expected):
    received = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert [mid for mid, n in received.items() if n > 1] == [], "duplicates at the SMTP server"
    assert set(received) == sent_message_ids()
    assert len(received) == expected


def test_two_schedulers_at_once_deliver_each_reminder_exactly_once(pg, schedulers, smtp_server):
    appointments_within_a_day(40)
    schedulers.start()
    schedulers.start()
    wait_for(lambda: len(smtp_server.messages) >= 80, 90, "80 reminders")
    time.sleep(3)  # anything sent twice would have arrived by now
    assert_each_arrived_exactly_once(smtp_server, 80)
    logs = schedulers.logs()
    assert logs.count("leading the scheduler") == 1 and "standing by" in logs


def test_the_standby_takes_over_when_the_leader_dies(pg, schedulers, smtp_server):
    appointments_within_a_day(3)
    leader = schedulers.start()
    wait_for(lambda: len(smtp_server.messages) >= 6, 60, "the first reminders")
    schedulers.start()
    wait_for(lambda: "standing by" in schedulers.logs(), 30, "the standby")
    leader.send_signal(signal.SIGKILL)
    leader.wait(10)
    appointments_within_a_day(2, hours_ahead=20)
    wait_for(lambda: len(smtp_server.messages) >= 10, 60, "the standby to deliver new reminders")
    time.sleep(2)
    assert_each_arrived_exactly_once(smtp_server, 10)


def test_sigkill_in_the_middle_of_a_batch_loses_nothing_and_doubles_nothing(pg, schedulers, smtp_server):
    appointments_within_a_day(50)
    smtp_server.delay = 0.05  # a slow server: the batch takes seconds
    first = schedulers.start()
    wait_for(lambda: len(smtp_server.messages) >= 25, 90, "the batch to be under way")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    partial = len(smtp_server.messages)
    assert partial < 100, "the kill came after the batch had finished"
    schedulers.start()
    wait_for(lambda: len(smtp_server.messages) >= 100, 120, "every reminder after the restart")
    time.sleep(3)
    assert_each_arrived_exactly_once(smtp_server, 100)
    statuses = Counter(m.status for m in db.session.scalars(select(OutboxMessage)))
    assert statuses == {OutboxStatus.SENT: 100}


def test_messages_wait_out_an_smtp_outage_and_all_arrive_once(pg, schedulers, smtp_server):
    appointments_within_a_day(5)
    smtp_server.stop()
    schedulers.start()
    wait_for(lambda: db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.FAILED).limit(1)) is not None, 60, "failed attempts")
    time.sleep(2)
    smtp_server.start()
    wait_for(lambda: len(smtp_server.messages) >= 10, 90, "delivery once the server is back")
    time.sleep(2)
    assert_each_arrived_exactly_once(smtp_server, 10)
    db.session.expire_all()
    assert all(m.attempts > 1 for m in db.session.scalars(select(OutboxMessage)))


def test_after_three_days_stopped_one_sweep_catches_up_without_stale_reminders(pg, schedulers, smtp_server):
    """Data as the scheduler finds it after three days down: the 72-hour moments of
    these appointments and the 30- and 14-day moments of these evaluations passed
    while it was stopped. Only what still makes sense is sent, once."""
    appointments_within_a_day(4, hours_ahead=10)
    today = datetime.now(timezone.utc).date()
    for _ in range(3):
        officer = factories.officer()
        factories.user(roles=["officer"], officer_row=officer)
        factories.evaluation(officer, due_on=today + timedelta(days=5))
    schedulers.start()
    wait_for(lambda: len(smtp_server.messages) >= 11, 60, "the catch-up")
    time.sleep(3)
    assert_each_arrived_exactly_once(smtp_server, 11)
    keys = Counter(k.rsplit(":", 1)[1] for k in db.session.scalars(select(OutboxMessage.dedup_key)))
    assert keys == {"24h": 8, "7d": 3}


def lock_holder_pid():
    """The PostgreSQL backend holding the schedulers' advisory lock, if any."""
    return db.session.scalar(text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = :key AND objsubid = 1"),
        {"key": LOCK_KEY})


def cut_the_lock_connection():
    pid = lock_holder_pid()
    assert pid is not None
    assert db.session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()


def after(log, marker):
    return log.split(marker, 1)[1] if marker in log else ""


def queue_messages(count, prefix):
    from core.services import outbox
    for i in range(count):
        outbox.enqueue(kind="test", recipient=f"{prefix}{i}@pd.test", subject="Beacon: test", body="b",
                       dedup_key=f"{prefix}:{i}")
    db.session.commit()


def test_a_leader_whose_lock_connection_is_cut_steps_down_and_can_lead_again(pg, schedulers, smtp_server):
    first = schedulers.start()
    wait_for(lambda: "leading the scheduler" in schedulers.log(0), 30, "the first to lead")
    wait_for(lambda: "Running job" in schedulers.log(0), 30, "its first jobs")
    second = schedulers.start()
    wait_for(lambda: "standing by" in schedulers.log(1), 30, "the second to stand by")

    cut_the_lock_connection()
    wait_for(lambda: "stepped down: standing by" in schedulers.log(0), 30, "the leader to step down")
    wait_for(lambda: "leading the scheduler" in schedulers.log(1), 30, "the standby to take over")
    queue_messages(6, "second")
    wait_for(lambda: len(smtp_server.messages) >= 6, 60, "the new leader to deliver")
    assert first.poll() is None, "the old leader exited instead of standing by"
    first_log = schedulers.log(0)
    assert "lost the leader lock" in first_log
    assert "Running job" not in after(first_log, "stepped down"), "the old leader ran a job after stepping down"
    assert "Traceback" not in first_log and "PendingRollbackError" not in first_log

    second.terminate()  # the new leader goes away: the first leads again
    second.wait(15)
    wait_for(lambda: schedulers.log(0).count("leading the scheduler") == 2, 30, "the first to lead again")
    queue_messages(4, "first-again")
    wait_for(lambda: len(smtp_server.messages) >= 10, 60, "the first to deliver again")
    time.sleep(2)  # anything sent twice would have arrived by now
    assert_each_arrived_exactly_once(smtp_server, 10)
    assert "Traceback" not in schedulers.logs()


def test_the_embedded_scheduler_steps_down_and_leads_again(pg):
    from core.scheduler import start_embedded
    app, _ = pg
    app.config.update(SCHEDULER_STANDBY_POLL=1, SCHEDULER_DELIVERY_SECONDS=1)
    thread = start_embedded(app)
    leader = thread.leader
    try:
        wait_for(lambda: lock_holder_pid() is not None, 30, "the embedded scheduler to lead")
        held_by = lock_holder_pid()
        cut_the_lock_connection()
        wait_for(lambda: lock_holder_pid() not in (None, held_by), 30, "it to step down and lead again")
        assert thread.is_alive() and leader.lock.still_held()
    finally:
        leader.stop()
        thread.join(30)
    assert not thread.is_alive() and lock_holder_pid() is None


def test_on_sqlite_a_file_lock_elects_one_scheduler(tmp_path):
    from core.scheduler import LeaderLock
    url = f"sqlite:///{tmp_path}/beacon.db"
    first, second = LeaderLock(url), LeaderLock(url)
    assert first.try_acquire()
    assert not second.try_acquire()
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as jobs:  # the jobs' threads see the lock the main thread holds
        assert jobs.submit(first.still_held).result() and not jobs.submit(second.still_held).result()
    first.release()
    assert second.try_acquire()
    second.release()
