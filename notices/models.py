"""Notices: a message from HR to many people, sent only once a second person approves it."""
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import Actor
from core.db import UTCDateTime, db, enum_of
from core.errors import DomainError, Forbidden


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"    # written, waiting for a second person
    SENT = "sent"          # approved and queued to every recipient
    REJECTED = "rejected"  # kept, with the reason
    WITHDRAWN = "withdrawn"  # the author took it back before anyone decided; kept


class Notice(db.Model):
    """A message from HR to many people. It goes out only once a second person (an
    administrator or another HR member, never the author) approves it; every notice,
    its author, approver and recipients stay on record.

    Its life is pending -> sent (approve) or pending -> rejected (reject); the methods
    refuse any other move. `status` is also the mapper's version column: the UPDATE
    that records a decision only takes effect while the row is still pending, so an
    approval and a rejection at the same moment cannot both win (the loser's flush
    raises StaleDataError)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(20))          # everyone | unit | role
    audience_value: Mapped[str] = mapped_column(String(120), default="", server_default="")
    audience_label: Mapped[str] = mapped_column(String(160))
    status: Mapped[NoticeStatus] = mapped_column(enum_of(NoticeStatus, "notice_status"), default=NoticeStatus.PENDING)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(254))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_label: Mapped[str] = mapped_column(String(254), default="", server_default="")
    decided_at = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at = mapped_column(UTCDateTime, nullable=False)
    edited_at = mapped_column(UTCDateTime)      # the author's last edit while pending
    withdrawn_at = mapped_column(UTCDateTime)   # when the author withdrew it
    __table_args__ = (CheckConstraint("decided_by_id IS NULL OR decided_by_id <> author_id", name="second_person"),)
    __mapper_args__ = {"version_id_col": status, "version_id_generator": False}

    def approve(self, by: Actor, now) -> None:
        """A second person approves: the notice is to be sent (the caller queues it)."""
        self._decide(NoticeStatus.SENT, by, now)

    def reject(self, by: Actor, reason: str, now) -> None:
        """A second person rejects it, with a reason for the author; it is kept."""
        self._decide(NoticeStatus.REJECTED, by, now, (reason or "").strip())

    def _decide(self, status: NoticeStatus, by: Actor, now, reason: str = "") -> None:
        if self.author_id == by.user_id:
            raise Forbidden("The author of a notice cannot approve or reject it: a second person must.")
        if self.status != NoticeStatus.PENDING:
            raise DomainError(f"This notice is already {self.status.value}.")
        if status == NoticeStatus.REJECTED and not reason:
            raise DomainError("Give the author a reason.")
        self.status = status
        self.decided_by_id, self.decided_by_label, self.decided_at = by.user_id, by.label, now
        self.reason = reason[:500]


class NoticeRecipient(db.Model):
    __tablename__ = "notice_recipients"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
