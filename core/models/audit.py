"""The audit log: append-only, enforced here and by a database trigger, and
tamper-evident: each entry is sealed into a hash chain (core.audit_chain)."""
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false as sa_false

from core.db import UTCDateTime, db


class AppendOnlyError(RuntimeError):
    pass


class AuditEntry(db.Model):
    """Who did what to which record, when, from where, and whether it worked."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_actor_at", "actor_id", "at"),
        Index("ix_audit_entries_action_at", "action", "at"),
        # An officer's "who looked at my record" reads the entries about their records.
        Index("ix_audit_entries_target_at", "target", "at"),
        Index("uq_audit_entries_chain", "private", "seq", unique=True),
        Index("ix_audit_entries_unsealed", "private", "id",
              sqlite_where=text("entry_hash IS NULL"), postgresql_where=text("entry_hash IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The actor's email at the time (accounts can be renamed; the record must not change).
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="", server_default="")
    outcome: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Health-related (wellness) entries: HR reviews them; the administrators' log leaves
    # them out, since who booked or viewed a wellness record is health information.
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The hash chain of its log (the general log, or the wellness one: `private`),
    # written just before the transaction commits (core.audit_chain.seal): the entry's
    # place in its log, the hash of the entry before it, and the hash of this entry's
    # content with both. Null only until then.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(db.Model):
    """The last sealed entry of each log: its place and hash. Sealing locks this row,
    so concurrent transactions extend the chain one after another, never fork it.
    `first_seq`/`first_prev` anchor the chain where it starts (1 and the zero hash,
    until retention removes the oldest entries: core.audit_chain)."""

    __tablename__ = "audit_chain_heads"

    log: Mapped[str] = mapped_column(String(16), primary_key=True)  # "general" | "wellness"
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    first_prev: Mapped[str] = mapped_column(String(64))


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper, connection, target):
    raise AppendOnlyError("audit entries are append-only")
