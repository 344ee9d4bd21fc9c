"""An officer's personal email address for wellness messages (the private channel)."""
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db


class PrivateAddress(db.Model):
    """At most one per account. `email` is the confirmed address wellness mail goes to
    (None until one is confirmed); `pending_email` waits for its confirmation link, of
    which only the hash is kept. Department email stays the default: without a
    confirmed address, nothing changes."""

    __tablename__ = "private_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    confirmed_at = mapped_column(UTCDateTime)
    pending_email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at = mapped_column(UTCDateTime)
    requested_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, nullable=False)

    user = relationship("User", lazy="joined", innerjoin=True)
