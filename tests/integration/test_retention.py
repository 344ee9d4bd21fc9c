"""The retention schedule (issue 13, part 4), at a frozen clock: what is past its period
goes, in batches, with one audit entry per run; the audit log loses only the start of
its chains, which is re-anchored so the rest still verifies; a broken chain loses
nothing; on PostgreSQL only the owner removes audit entries."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask import current_app
from sqlalchemy import func, select

from core import audit_chain, clock, retention
from core.audit import Actor, record
from core.db import db
from core.models import AccountToken, AuditChainHead, AuditEntry, LoginSession, OutboxMessage, TokenPurpose
from core.services import outbox
from tests import factories

START = datetime(2018, 1, 10, 12, 0, tzinfo=timezone.utc)


def owner_engine():
    owner = current_app.config.get("MIGRATIONS_DATABASE_URL")
    return sa.create_engine(owner, poolclass=sa.pool.NullPool) if owner else db.engine


def history():
    """Eight years of records: something every year, from START."""
    user = factories.user(roles=["officer"])
    for year in range(9):
        at = START + timedelta(days=365 * year)
        with clock.frozen(at):
            record(Actor.system("test"), "test.entry", detail=f"year {year}")
            record(Actor.system("test"), "test.wellness", detail=f"year {year}", private=True)
            outbox.enqueue(kind="test", recipient="x@pd.test", subject=f"year {year}", body=f"text of {year}",
                           dedup_key=f"year-{year}")
            db.session.add(LoginSession(sid_hash=f"{year:064d}", user_id=user.id, created_at=at, last_seen_at=at,
                                        ended_at=at))
            db.session.add(AccountToken(user_id=user.id, purpose=TokenPurpose.RESET, token_hash=f"{year:064x}",
                                        created_at=at, expires_at=at + timedelta(hours=72), used_at=at))
            db.session.commit()
    db.session.execute(sa.update(OutboxMessage).values(status="sent", sent_at=OutboxMessage.created_at))
    db.session.commit()
    return user


def test_the_schedule_at_a_frozen_clock(app):
    history()
    now = START + timedelta(days=365 * 8 + 10)  # 10 days after the last year's records
    engine = owner_engine()
    try:
        with clock.frozen(now):
            run = retention.apply(engine, current_app.config, now)
    finally:
        if engine is not db.engine:
            engine.dispose()
    db.session.expire_all()
    # Sessions and links: only those from the last 30 days stay.
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 1
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 1
    # Messages: kept 7 years (2,555 days: years 0 and 1 are older); their text 1 year.
    subjects = dict(db.session.execute(select(OutboxMessage.subject, OutboxMessage.body)).all())
    assert sorted(subjects) == [f"year {y}" for y in range(2, 9)]
    assert subjects["year 8"] == "text of 8" and subjects["year 7"] == retention.BODY_REMOVED
    # Audit entries: those older than 7 years go, from the start of each chain.
    details = db.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "test.entry")
                                 .order_by(AuditEntry.seq)).all()
    assert details == [f"year {y}" for y in range(2, 9)]
    assert run.counts["audit entries"] == 4 and set(run.anchors) == {"general", "wellness"}
    head = db.session.get(AuditChainHead, "general")
    first = db.session.scalars(select(AuditEntry).where(AuditEntry.private.is_(False))
                               .order_by(AuditEntry.seq)).first()
    assert (head.first_seq, head.first_prev) == (first.seq, first.prev_hash)
    assert audit_chain.verify(db.session.connection()).ok  # what remains verifies from the new anchor
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.applied")).all()
    assert "sessions 8" in entry.detail and "audit entries 4" in entry.detail and "anchor" in entry.detail

    # A second run at the same moment has nothing left to do.
    engine = owner_engine()
    try:
        again = retention.apply(engine, current_app.config, now)
    finally:
        if engine is not db.engine:
            engine.dispose()
    assert sum(again.counts.values()) == 0


def test_a_broken_chain_loses_nothing(app):
    history()
    victim = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "test.entry")
                                .order_by(AuditEntry.seq)).all()[4]
    engine = owner_engine()
    try:
        with engine.begin() as conn:
            from tests.integration.test_audit_chain import bypassing_triggers
            bypassing_triggers(conn, "UPDATE audit_entries SET detail = 'edited' WHERE id = :id", id=victim.id)
        run = retention.apply(engine, current_app.config, START + timedelta(days=365 * 9))
    finally:
        if engine is not db.engine:
            engine.dispose()
    assert "nothing removed, it is evidence" in run.audit_skipped and "audit entries" not in run.counts
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "test.entry")) == 9


def test_the_runtime_role_cannot_remove_audit_entries(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no roles")
    history()
    run = retention.apply(db.engine, current_app.config, START + timedelta(days=365 * 9))  # as the app connects
    assert "runtime role" in run.audit_skipped
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "test.entry")) == 9
    with pytest.raises(retention.RetentionRefused):
        retention.apply(db.engine, current_app.config, START + timedelta(days=365 * 9), audit=True)
    with pytest.raises(sa.exc.DBAPIError, match="permission denied|append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL beacon.retention = 'on'"))
            conn.execute(sa.text("DELETE FROM audit_entries"))


def test_the_command_applies_the_schedule(app, runner):
    history()
    result = runner.invoke(args=["retention", "run", "--now", (START + timedelta(days=365 * 9)).isoformat()])
    assert result.exit_code == 0, result.output
    assert "audit entries 4" in result.output and "general log now starts at place 3" in result.output
    assert audit_chain.verify(db.session.connection()).ok
