"""A change of an account's sign-in email, waiting for the new address to confirm it."""
import enum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of
from core.errors import DomainError


class EmailChangeStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REPLACED = "replaced"     # a newer change for the same account took its place
    CANCELLED = "cancelled"   # the roster went back to the sign-in address, or the account was disabled


class EmailChange(db.Model):
    """users.email moves to `new_email` only when the holder of `new_email` confirms
    with the token mailed there (only its hash is kept). One pending change per
    account: the database holds that invariant."""

    __tablename__ = "email_changes"
    __table_args__ = (
        Index("uq_email_changes_pending", "user_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    old_email: Mapped[str] = mapped_column(String(254))
    new_email: Mapped[str] = mapped_column(String(254))
    status: Mapped[EmailChangeStatus] = mapped_column(enum_of(EmailChangeStatus, "email_change_status"),
                                                      default=EmailChangeStatus.PENDING)
    # Who asked: an account (the HR officer whose import job it was, an administrator),
    # or None for the command line; the label keeps the name if that account goes.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_by_label: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(200))   # "roster import r.csv"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    decided_at = mapped_column(UTCDateTime)

    user = relationship("User", foreign_keys=[user_id], lazy="select")

    def _close(self, status: EmailChangeStatus, now) -> None:
        if self.status != EmailChangeStatus.PENDING:
            raise DomainError(f"This change of sign-in address is already {self.status.value}.")
        self.status, self.decided_at = status, now

    def confirm(self, now) -> None:
        if self.status == EmailChangeStatus.PENDING and now >= self.expires_at:
            raise DomainError("This confirmation link has expired.")
        self._close(EmailChangeStatus.CONFIRMED, now)

    def replace(self, now) -> None:
        self._close(EmailChangeStatus.REPLACED, now)

    def cancel(self, now) -> None:
        self._close(EmailChangeStatus.CANCELLED, now)
