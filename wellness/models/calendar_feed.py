"""A private calendar feed: an address a calendar app subscribes to, holding the
appointments of one clinician or one officer."""
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db


class CalendarFeed(db.Model):
    """Only the SHA-256 of the feed's secret is kept: the address is shown once, when it
    is made. A person has at most one live feed (the database holds that); making a new
    one or revoking it ends the old address at once. Revoked feeds stay on record."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        Index("uq_calendar_feeds_live", "user_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime)
    last_fetched_at = mapped_column(UTCDateTime)

    user = relationship("User", lazy="joined", innerjoin=True)

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
