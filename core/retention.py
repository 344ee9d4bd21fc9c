"""Keeping records as long as the schedule says, and no longer.

The schedule (settings, in days; README gives the reason for each):

| what | setting | default |
|---|---|---|
| signed-in sessions, once ended or idle | RETAIN_SESSIONS_DAYS | 30 |
| used or lapsed invitation, reset and email links; used recovery codes | RETAIN_TOKENS_DAYS | 30 |
| an outbox message's text and calendar file (headers stay) | RETAIN_OUTBOX_BODY_DAYS | 365 |
| outbox messages | RETAIN_OUTBOX_DAYS | 2555 (7 years) |
| audit entries | RETAIN_AUDIT_DAYS | 2555 (7 years) |

Wellness evaluations, incidents and review cycles are employment records (a promotion
may be grieved years later): they are not removed by this schedule.

`apply` runs daily (the scheduler) and as `flask --app app retention run`. It deletes
in batches of BATCH rows, each its own transaction, and writes one audit entry per run
with the counts. Audit entries can only be removed by the database's owner (on
PostgreSQL the runtime role has no DELETE on them, and the trigger refuses a DELETE
unless the owner's transaction sets `beacon.retention`): the daily job removes them only
when it runs as the owner; otherwise the command, run as the owner, does.

Audit entries are removed oldest first, from the start of each log's chain, never past
an entry younger than the cutoff, and only after the whole chain verifies (a broken
chain is evidence: nothing is removed, and the run says so). The chain is then
re-anchored: the head row's `first_seq` and `first_prev` become the first kept entry's
place and `prev_hash`, so what remains still verifies from there; the last removed
entry's hash, the anchor, is written into the run's audit entry, so a backup taken
before can prove the removed part.
"""
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import delete, func, select, update

from core import audit_chain, clock
from core.models import AccountToken, AuditChainHead, AuditEntry, LoginSession, OutboxMessage, OutboxStatus, \
    RecoveryCode

BATCH = 5000
DEFAULTS = {"RETAIN_SESSIONS_DAYS": 30, "RETAIN_TOKENS_DAYS": 30, "RETAIN_OUTBOX_BODY_DAYS": 365,
            "RETAIN_OUTBOX_DAYS": 2555, "RETAIN_AUDIT_DAYS": 2555}
BODY_REMOVED = "(text removed after the retention period)"
DONE = (OutboxStatus.SENT, OutboxStatus.DROPPED, OutboxStatus.EXPIRED)


class RetentionRefused(RuntimeError):
    pass


@dataclass
class Run:
    counts: dict = field(default_factory=dict)
    anchors: dict = field(default_factory=dict)   # log -> (first kept seq, its prev_hash)
    audit_skipped: str = ""

    def summary(self) -> str:
        parts = [f"{what} {n}" for what, n in self.counts.items()]
        parts += [f"{log} log now starts at place {seq} (anchor {prev})" for log, (seq, prev) in
                  self.anchors.items()]
        if self.audit_skipped:
            parts.append(f"audit entries not removed: {self.audit_skipped}")
        return "; ".join(parts) or "nothing was due"


def _in_batches(engine, statement_for_ids, id_query) -> int:
    """Run `statement_for_ids(ids)` on BATCH ids of `id_query` at a time, each batch
    its own transaction, until none is left. Returns how many rows."""
    total = 0
    while True:
        with engine.begin() as conn:
            ids = conn.execute(id_query.limit(BATCH)).scalars().all()
            if not ids:
                return total
            conn.execute(statement_for_ids(ids))
        total += len(ids)


def apply(engine, config, now=None, audit: bool | None = None) -> Run:
    """Apply the schedule on `engine` at `now`. With `audit` None, audit entries are
    removed when `engine` may (it is the owner); True requires it. Then one audit
    entry records the run. Returns what was done."""
    now = now or clock.now()
    days = {name: int(config.get(name, default)) for name, default in DEFAULTS.items()}
    run = Run()
    before = lambda name: now - timedelta(days=days[name])  # noqa: E731

    sessions = before("RETAIN_SESSIONS_DAYS")
    run.counts["sessions"] = _in_batches(
        engine, lambda ids: delete(LoginSession).where(LoginSession.id.in_(ids)),
        select(LoginSession.id).where(func.coalesce(LoginSession.ended_at, LoginSession.last_seen_at) < sessions))
    tokens = before("RETAIN_TOKENS_DAYS")
    run.counts["links"] = _in_batches(
        engine, lambda ids: delete(AccountToken).where(AccountToken.id.in_(ids)),
        select(AccountToken.id).where(func.coalesce(AccountToken.used_at, AccountToken.expires_at) < tokens))
    run.counts["recovery codes"] = _in_batches(
        engine, lambda ids: delete(RecoveryCode).where(RecoveryCode.id.in_(ids)),
        select(RecoveryCode.id).where(RecoveryCode.used_at < tokens))
    bodies = before("RETAIN_OUTBOX_BODY_DAYS")
    run.counts["message texts"] = _in_batches(
        engine, lambda ids: update(OutboxMessage).where(OutboxMessage.id.in_(ids))
        .values(body=BODY_REMOVED, ics=None),
        select(OutboxMessage.id).where(OutboxMessage.created_at < bodies, OutboxMessage.status.in_(DONE),
                                       OutboxMessage.body != BODY_REMOVED))
    messages = before("RETAIN_OUTBOX_DAYS")
    run.counts["messages"] = _in_batches(
        engine, lambda ids: delete(OutboxMessage).where(OutboxMessage.id.in_(ids)),
        select(OutboxMessage.id).where(OutboxMessage.created_at < messages, OutboxMessage.status.in_(DONE)))

    may = owns_audit_log(engine)
    if audit and not may:
        raise RetentionRefused("Only the database's owner may remove audit entries: run this with "
                               "MIGRATIONS_DATABASE_URL set to the owner.")
    if audit is False or not may:
        run.audit_skipped = "the daily job runs as the runtime role; `flask --app app retention run` as the owner"
    else:
        _prune_audit(engine, before("RETAIN_AUDIT_DAYS"), run)
    with engine.begin() as conn:
        conn.execute(sa.insert(AuditEntry).values(
            at=clock.now(), actor_label="retention", action="retention.applied", target="", outcome="success",
            detail=run.summary()[:2000], private=False))
        audit_chain.seal(conn)
    return run


def owns_audit_log(engine) -> bool:
    """May this connection remove audit entries? (SQLite: whoever holds the file.)"""
    if engine.dialect.name == "sqlite":
        return True
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT has_table_privilege(current_user, 'audit_entries', 'DELETE')"))
                    .scalar())


def _prune_audit(engine, cutoff, run: Run) -> None:
    with engine.connect() as conn:
        report = audit_chain.verify(conn)
    if not report.ok:
        broken = report.first_problem()
        run.audit_skipped = (f"the {broken.log} log's chain breaks at entry {broken.entry_id} ({broken.problem}): "
                             "nothing removed, it is evidence")
        return
    removed = 0
    for log, private in audit_chain.LOGS.items():
        while True:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SET LOCAL beacon.retention = 'on'"))
                head = conn.execute(select(AuditChainHead).where(AuditChainHead.log == log)
                                    .with_for_update()).one()
                # The oldest entries of the chain, up to (not past) the first one to keep.
                rows = conn.execute(select(AuditEntry.id, AuditEntry.seq, AuditEntry.at)
                                    .where(AuditEntry.private.is_(private))
                                    .order_by(AuditEntry.seq).limit(BATCH + 1)).all()
                due = []
                for row in rows:
                    if row.at >= cutoff or row.seq >= head.seq:  # keep the head's own entry: the chain ends there
                        break
                    due.append(row)
                if not due:
                    break
                keep = conn.execute(select(AuditEntry.seq, AuditEntry.prev_hash)
                                    .where(AuditEntry.private.is_(private), AuditEntry.seq > due[-1].seq)
                                    .order_by(AuditEntry.seq).limit(1)).one()
                _delete_entries(conn, [row.id for row in due])
                conn.execute(update(AuditChainHead).where(AuditChainHead.log == log)
                             .values(first_seq=keep.seq, first_prev=keep.prev_hash))
                run.anchors[log] = (keep.seq, keep.prev_hash)
                removed += len(due)
    run.counts["audit entries"] = removed


def _delete_entries(conn, ids) -> None:
    """As the owner: PostgreSQL's trigger lets this transaction through (it set
    beacon.retention); SQLite's DELETE trigger is set aside for the statement."""
    if conn.dialect.name == "postgresql":
        conn.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
        return
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                               "AND name = 'audit_entries_no_delete'")).scalar()
    conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
    conn.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
    if sql:
        conn.execute(sa.text(sql))
