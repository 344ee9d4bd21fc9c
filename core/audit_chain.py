"""The audit log as a hash chain, so that no entry can be changed, removed or slipped in
unnoticed, even by someone who can write to the database.

Two logs share the table: the general one and the wellness one (`private` entries, which
HR reviews). Each is its own chain. An entry's hash covers its id, its content, its place
in its log (`seq`) and the hash of the entry before it (`prev_hash`).

Sealing happens in the transaction that wrote the entries, just before it commits (a
Session `before_commit` listener, for every session of the app): it locks its log's row
in `audit_chain_heads`, gives every unsealed entry it can see the next places in id
order, and moves the head. The lock makes concurrent writers extend the chain one after
another; it is held only from that moment to the commit, so a long transaction (an
import) does not hold up everyone's sign-in while it works. An entry inserted without
the ORM (a bulk load) is sealed by the next commit that seals, or by `seal_all`.

The database lets an entry be updated only to seal it (its chain columns, once, while
still unsealed), never deleted, and (PostgreSQL) refuses TRUNCATE: see migration 0016.

`verify` walks each chain from its anchor to its head and names the first entry that
does not hold: a changed field, a missing or inserted entry, an unsealed one, a head
that does not match. The chain's anchor is the zero hash at seq 1 until retention
removes the oldest entries; then `first_seq` and `first_prev` of the head row say where
the chain now starts (the removed entries' last hash), so what remains still verifies.
"""
import hashlib
import json
from dataclasses import dataclass, field
from datetime import timezone

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from core.models import AuditChainHead, AuditEntry

LOGS = {"general": False, "wellness": True}  # log name -> the entries' `private`
ZERO = "0" * 64
_DIRTY = "beacon.audit_unsealed"  # Session.info key: this transaction wrote audit entries


def entry_hash(row, seq: int, prev_hash: str) -> str:
    """The hash of one entry: its id and content, its place, the hash before it.
    Canonical JSON, so the same entry always hashes the same on any database."""
    at = row.at.astimezone(timezone.utc).isoformat(timespec="microseconds") if row.at else None
    content = [row.id, at, row.actor_id, row.actor_label, row.action, row.target, row.outcome, row.ip, row.detail,
               bool(row.private), seq, prev_hash]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


_COLUMNS = (AuditEntry.id, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor_label, AuditEntry.action,
            AuditEntry.target, AuditEntry.outcome, AuditEntry.ip, AuditEntry.detail, AuditEntry.private)


def seal(connection) -> int:
    """Seal every unsealed entry this connection can see, log by log (always in the
    same order, so two sealers never wait on each other crosswise). Returns how many."""
    sealed = 0
    for log, private in LOGS.items():
        pending = select(AuditEntry.id).where(AuditEntry.entry_hash.is_(None), AuditEntry.private.is_(private))
        if connection.execute(pending.limit(1)).first() is None:
            continue
        # Lock the head (UPDATE takes the row lock on PostgreSQL and the write lock on
        # SQLite), then read it: nobody else extends this log until we commit.
        connection.execute(update(AuditChainHead).where(AuditChainHead.log == log)
                           .values(seq=AuditChainHead.seq))
        head = connection.execute(select(AuditChainHead.seq, AuditChainHead.entry_hash)
                                  .where(AuditChainHead.log == log)).one()
        seq, prev = head.seq, head.entry_hash
        rows = connection.execute(select(*_COLUMNS).where(AuditEntry.entry_hash.is_(None),
                                                          AuditEntry.private.is_(private))
                                  .order_by(AuditEntry.id)).all()
        values = []
        for row in rows:
            seq += 1
            digest = entry_hash(row, seq, prev)
            values.append({"row_id": row.id, "seq": seq, "prev_hash": prev, "entry_hash": digest})
            prev = digest
        table = AuditEntry.__table__
        connection.execute(table.update().where(table.c.id == bindparam("row_id"))
                           .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"),
                                   entry_hash=bindparam("entry_hash")), values)
        connection.execute(update(AuditChainHead).where(AuditChainHead.log == log)
                           .values(seq=seq, entry_hash=prev))
        sealed += len(values)
    return sealed


@event.listens_for(Session, "after_flush")
def _note_new_entries(session, flush_context):
    if any(isinstance(obj, AuditEntry) for obj in session.new):
        session.info[_DIRTY] = True


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session):
    if session.in_nested_transaction():
        return  # a savepoint's release: the outermost commit seals (what is still there then)
    if session.info.get(_DIRTY) or any(isinstance(obj, AuditEntry) for obj in session.new):
        session.flush()
        seal(session.connection())
        session.info.pop(_DIRTY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget(session, transaction):
    if transaction.parent is None:  # the whole transaction ended (a savepoint's rollback does not count)
        session.info.pop(_DIRTY, None)


# --- verifying --------------------------------------------------------------------------

@dataclass
class LogReport:
    log: str
    entries: int = 0
    head_seq: int = 0
    problem: str | None = None   # the first break, in words
    entry_id: int | None = None  # the entry where it is


@dataclass
class Report:
    logs: list[LogReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(log.problem is None for log in self.logs)

    def first_problem(self) -> LogReport | None:
        return next((log for log in self.logs if log.problem), None)


def verify(connection, batch: int = 5000) -> Report:
    """Walk each log's chain from its anchor to its head. Changes nothing."""
    report = Report()
    for log, private in LOGS.items():
        result = LogReport(log)
        report.logs.append(result)
        head = connection.execute(select(AuditChainHead).where(AuditChainHead.log == log)).one_or_none()
        if head is None:
            result.problem = "the chain's head is missing"
            continue
        result.head_seq = head.seq
        unsealed = connection.execute(select(AuditEntry.id).where(AuditEntry.entry_hash.is_(None),
                                                                  AuditEntry.private.is_(private))
                                      .order_by(AuditEntry.id).limit(1)).scalar()
        if unsealed is not None:
            result.problem, result.entry_id = "entry is not sealed into the chain", unsealed
            continue
        stray = connection.execute(select(AuditEntry.id).where(
            AuditEntry.private.is_(private), AuditEntry.entry_hash.is_not(None),
            (AuditEntry.seq.is_(None)) | (AuditEntry.prev_hash.is_(None))).order_by(AuditEntry.id).limit(1)).scalar()
        if stray is not None:
            result.problem, result.entry_id = "entry carries a seal Beacon did not give it (no place)", stray
            continue
        expected_seq, prev = head.first_seq, head.first_prev
        query = (select(*_COLUMNS, AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.entry_hash)
                 .where(AuditEntry.private.is_(private)).order_by(AuditEntry.seq)
                 .execution_options(yield_per=batch))
        for row in connection.execute(query):
            result.entries += 1
            if row.seq is None or row.seq != expected_seq:
                result.problem = (f"entry at place {row.seq} follows place {expected_seq - 1}: "
                                  + ("entries before it are missing" if (row.seq or 0) > expected_seq else
                                     "it repeats a place, or comes before the chain's anchor"))
                result.entry_id = row.id
                break
            if row.prev_hash != prev:
                result.problem, result.entry_id = "entry does not follow the one before it (its prev_hash)", row.id
                break
            if entry_hash(row, row.seq, row.prev_hash) != row.entry_hash:
                result.problem, result.entry_id = "entry was changed after it was written (its hash)", row.id
                break
            prev, expected_seq = row.entry_hash, expected_seq + 1
        else:
            if expected_seq - 1 != head.seq or prev != head.entry_hash:
                result.problem = (f"the chain ends at place {expected_seq - 1} but its head says {head.seq}: "
                                  "the last entries are missing" if expected_seq - 1 < head.seq else
                                  "the chain's head does not match its last entry")
    return report
