"""What a daily job could not do for one officer, kept so HR can see it and fix the roster."""
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db


class JobProblem(db.Model):
    """One officer a job could not process on its last run. Each run replaces its job's
    rows, so what is here is what the last run saw; `first_seen` says since when.
    The reason is a short fixed phrase or an error class: never names or free text."""

    __tablename__ = "job_problems"
    __table_args__ = (UniqueConstraint("job", "officer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(120))
    first_seen = mapped_column(UTCDateTime, nullable=False)
    last_seen = mapped_column(UTCDateTime, nullable=False)
