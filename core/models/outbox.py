"""The outbox: every message Beacon sends, kept before and after it is sent."""
import enum

from sqlalchemy import Boolean, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, enum_of


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"      # waiting for its first attempt
    SENDING = "sending"    # claimed by a delivery run (marked before the SMTP call)
    SENT = "sent"
    FAILED = "failed"      # last attempt failed; retried at next_attempt_at (fast, then hourly)
    DROPPED = "dropped"    # no longer true before it went out (a cancelled appointment's reminder)
    EXPIRED = "expired"    # not delivered before its expires_at (a lapsed reset link): never sent late


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        Index("ix_outbox_messages_created_at", "created_at"),
        Index("ix_outbox_messages_expiry", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What makes a message "the same message": a second enqueue with the same key is a no-op.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Health-related (an appointment, a reminder to book): administrators see that such a
    # message exists and how delivery went, never to whom or about what.
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Optional calendar attachment (text/calendar), used by appointment messages.
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[OutboxStatus] = mapped_column(
        enum_of(OutboxStatus, "outbox_status"),
        default=OutboxStatus.QUEUED,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # The Message-ID header, fixed at enqueue time, so a resend after a crash carries
    # the same id and a receiving server or client can recognise the duplicate.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False)
    next_attempt_at = mapped_column(UTCDateTime)
    claimed_at = mapped_column(UTCDateTime)
    # Committed just before the final "." of the SMTP transaction: after a crash, a
    # message with it set was in the server's hands; one without it never arrived.
    end_of_data_at = mapped_column(UTCDateTime)
    sent_at = mapped_column(UTCDateTime)
    # Given by the caller that queues it (the outbox knows no domain): the moment the
    # message stops being true. Not delivered by then, it is expired, never sent late.
    expires_at = mapped_column(UTCDateTime)
    expired_at = mapped_column(UTCDateTime)

    @property
    def ref(self) -> str:
        """How administrators' pages address the message: the random part of its
        Message-ID (uuid4), never the sequential id, whose order would place a
        health-related message between others to the second."""
        return self.message_id.strip("<>").split("@", 1)[0]
