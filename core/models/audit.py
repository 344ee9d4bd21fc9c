"""The audit log: append-only, enforced here and by a database trigger."""
from sqlalchemy import Boolean, ForeignKey, Index, String, Text, event
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


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper, connection, target):
    raise AppendOnlyError("audit entries are append-only")
