"""The audit log as a hash chain (issue 13, part 1): every committed entry is sealed into
its log's chain (general, wellness); `flask audit verify` walks both and names the
first entry that breaks them, when a row is changed or removed bypassing the database's
own refusals (as only the database's owner could); the daily check emails the
administrators; concurrent writers never fork a chain; the migration seals the entries
written before it."""
import threading

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit_chain, clock
from core.audit import Actor, record
from core.db import db
from core.models import AuditChainHead, AuditEntry
from core.services import audit_log, outbox
from tests import factories
from tests.conftest import MIGRATIONS


@pytest.fixture
def app_config(mail_app_config):
    return mail_app_config


def write(n, private=False, label="writer"):
    for i in range(n):
        record(Actor.system(label), "test.entry", detail=f"{label} {i}", private=private)
    db.session.commit()


def owner_engine():
    """A connection that may bypass the audit log's triggers, as the database's owner
    (or anyone with the file) could: the tampering these tests detect. (On PostgreSQL
    the suite runs as the runtime role, which may not.)"""
    owner = current_app.config.get("MIGRATIONS_DATABASE_URL")
    return sa.create_engine(owner, poolclass=sa.pool.NullPool) if owner else db.engine


def bypassing_triggers(conn, statement, **params):
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(statement), params)
    else:
        triggers = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                        "AND tbl_name = 'audit_entries'")).all()
        for name, _ in triggers:
            conn.execute(sa.text(f"DROP TRIGGER {name}"))
        conn.execute(sa.text(statement), params)
        for _, sql in triggers:
            conn.execute(sa.text(sql))


def entries(private=False):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.private.is_(private))
                              .order_by(AuditEntry.seq)).all()


def test_every_committed_entry_is_sealed_into_its_logs_chain(app):
    write(3)
    write(2, private=True)
    general, wellness = entries(), entries(private=True)
    assert [e.seq for e in general] == [1, 2, 3] and [e.seq for e in wellness] == [1, 2]
    assert general[0].prev_hash == "0" * 64 and general[1].prev_hash == general[0].entry_hash
    heads = {h.log: h for h in db.session.scalars(select(AuditChainHead))}
    assert heads["general"].seq == 3 and heads["general"].entry_hash == general[-1].entry_hash
    assert heads["wellness"].seq == 2
    assert audit_chain.verify(db.session.connection()).ok


def test_an_entry_cannot_be_changed_or_removed_through_the_app(app):
    write(2)
    refused = "append-only|permission denied"  # the trigger, or before it the runtime role's privileges
    with pytest.raises(sa.exc.DBAPIError, match=refused):
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_entries SET detail = 'nothing happened' WHERE seq = 1"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.engine.begin() as conn:  # nor resealed with a hash of one's choosing
            conn.execute(sa.text("UPDATE audit_entries SET entry_hash = :h WHERE seq = 1"), {"h": "f" * 64})
    with pytest.raises(sa.exc.DBAPIError, match=refused):
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_entries WHERE seq = 2"))
    if db.engine.dialect.name == "postgresql":
        for engine in (db.engine, owner_engine()):  # the runtime role lacks the right; the owner meets the trigger
            with pytest.raises(sa.exc.DBAPIError, match="TRUNCATE is refused|permission denied"):
                with engine.begin() as conn:
                    conn.execute(sa.text("TRUNCATE audit_entries CASCADE"))
    assert audit_chain.verify(db.session.connection()).ok


def test_a_changed_entry_is_named_by_verify_and_the_administrators_are_told(app, runner, smtp_server):
    admin = factories.user(roles=["admin"], name="Dana Whitfield")
    write(5)
    target = entries()[2]
    with owner_engine().begin() as conn:
        bypassing_triggers(conn, "UPDATE audit_entries SET detail = 'nothing happened' WHERE id = :id", id=target.id)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "general: 6 entries" not in result.output  # it stops at the break
    assert f"BROKEN at entry {target.id}: entry was changed after it was written" in result.output
    assert "wellness: 0 entries, head at 0: holds" in result.output
    check = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.verified")).all()[-1]
    assert check.outcome == "failure" and f"entry {target.id}" in check.detail
    outbox.deliver()
    [mail] = [smtp_server.text(m) for m in smtp_server.to(admin.email)]
    assert f"the general log breaks at entry {target.id}" in mail and "flask --app app audit verify" in mail


def test_a_removed_entry_is_found(app):
    write(4)
    second = entries()[1]
    with owner_engine().begin() as conn:
        bypassing_triggers(conn, "DELETE FROM audit_entries WHERE id = :id", id=second.id)
    report = audit_chain.verify(db.session.connection())
    broken = report.first_problem()
    assert broken.entry_id == entries()[1].id and "entries before it are missing" in broken.problem


def test_dropping_the_last_entries_leaves_the_head_pointing_past_them(app):
    write(3)
    last = entries()[-1]
    with owner_engine().begin() as conn:
        bypassing_triggers(conn, "DELETE FROM audit_entries WHERE id = :id", id=last.id)
    broken = audit_chain.verify(db.session.connection()).first_problem()
    assert broken.log == "general" and "the last entries are missing" in broken.problem


def test_an_entry_slipped_in_unsealed_is_found(app):
    write(2)
    with db.engine.begin() as conn:  # a bulk insert that no commit of the app has sealed
        conn.execute(sa.insert(AuditEntry.__table__).values(
            at=entries()[0].at, actor_label="intruder", action="test.entry", target="", outcome="success",
            detail="", private=False))
    broken = audit_chain.verify(db.session.connection()).first_problem()
    assert broken.problem == "entry is not sealed into the chain"
    write(1)  # the next commit that writes an entry seals what it finds, in id order
    assert audit_chain.verify(db.session.connection()).ok


def test_concurrent_writers_never_fork_the_chain(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    errors = []

    def writer(n):
        try:
            with app.app_context():
                write_some(n)
        except Exception as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    def write_some(n):
        for i in range(15):
            with Session(db.engine) as session:
                session.add(AuditEntry(at=clock.now(), actor_label=f"w{n}", action="test.entry",
                                       target="", outcome="success", detail=str(i), private=n % 2 == 0))
                session.commit()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = audit_chain.verify(db.session.connection())
    assert report.ok, report.first_problem()
    assert sorted(log.entries for log in report.logs) == [60, 60]


def test_the_daily_check_records_that_the_chains_hold(app):
    write(2)
    report = audit_log.check_chain()
    assert report.ok
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.verified")).one()
    assert entry.outcome == "success" and "general 2 entries" in entry.detail
    assert "audit-verify" in app.extensions["beacon.jobs"]


def test_the_migration_seals_the_entries_written_before_it(database_url):
    from tests.conftest import make_app
    app = make_app(database_url)
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0015_two_step_sign_in")
        with db.engine.begin() as conn:
            for i in range(3):
                conn.execute(sa.text("INSERT INTO audit_entries (at, actor_label, action, target, outcome, detail, "
                                     "private) VALUES (CURRENT_TIMESTAMP, 'old', 'legacy', '', 'success', :d, :p)"),
                             {"d": f"before {i}", "p": i == 2})
        upgrade(directory=MIGRATIONS)
        assert db.session.scalar(select(func.count()).where(AuditEntry.entry_hash.is_(None))) == 0
        report = audit_chain.verify(db.session.connection())
        assert report.ok and sorted(log.entries for log in report.logs) == [1, 2]
        db.session.remove()


def test_entries_written_around_a_rolled_back_savepoint_are_sealed_at_the_commit(app):
    """Forgot-password rolls a savepoint back for an unknown address (core.services.
    accounts): the entry written before it is still sealed when the request commits."""
    from core.services import accounts
    accounts.request_password_reset("nobody@nowhere.test", "127.0.0.1")
    factories.user(roles=["officer"])
    accounts.request_password_reset(db.session.scalars(select(factories.User.email)).first(), "127.0.0.1")
    assert db.session.scalar(select(func.count()).where(AuditEntry.entry_hash.is_(None))) == 0
    assert audit_chain.verify(db.session.connection()).ok


def test_an_entry_cannot_be_written_with_a_seal_nor_a_head_moved_back(app):
    write(3)
    with pytest.raises(sa.exc.DBAPIError, match="written unsealed|permission denied"):
        with db.engine.begin() as conn:
            conn.execute(sa.insert(AuditEntry.__table__).values(
                at=clock.now(), actor_label="x", action="forged", target="", outcome="success", detail="",
                private=False, seq=4, prev_hash="0" * 64, entry_hash="f" * 64))
    with pytest.raises(sa.exc.DBAPIError, match="only moves forward|permission denied"):
        with db.engine.begin() as conn:
            conn.execute(sa.update(AuditChainHead).where(AuditChainHead.log == "general").values(seq=1))
    with pytest.raises(sa.exc.DBAPIError, match="only moves forward|permission denied"):
        with db.engine.begin() as conn:
            conn.execute(sa.update(AuditChainHead).where(AuditChainHead.log == "general")
                         .values(first_seq=0))
    write(1)  # sealing still works
    assert audit_chain.verify(db.session.connection()).ok


def test_an_entry_slipped_in_with_a_seal_is_named_not_a_crash(app):
    write(2)
    with owner_engine().begin() as conn:
        bypassing_triggers(conn, "INSERT INTO audit_entries (at, actor_label, action, target, outcome, detail, "
                                 "private, entry_hash) VALUES (CURRENT_TIMESTAMP, 'x', 'forged', '', 'success', '', "
                                 ":p, :h)", p=False, h="f" * 64)
    broken = audit_chain.verify(db.session.connection()).first_problem()
    assert broken is not None and "did not give it" in broken.problem
