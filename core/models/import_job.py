"""An uploaded roster or metrics file, stored once and checked, then written, by a job."""
import enum

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, enum_of


class ImportState(enum.StrEnum):
    CHECKING = "checking"      # waiting for a worker to check it (or being checked)
    READY = "ready"            # checked, no errors: the preview waits for HR's confirmation
    REJECTED = "rejected"      # checked, errors found: nothing was or will be written
    IMPORTING = "importing"    # confirmed: waiting for a worker to write it (or being written)
    DONE = "done"
    FAILED = "failed"          # the write failed: nothing was written
    CANCELLED = "cancelled"    # previewed and never confirmed (a dry run, or left over a day)

    @property
    def running(self) -> bool:
        return self in (ImportState.CHECKING, ImportState.IMPORTING)


class ImportJob(db.Model):
    """One upload. The file's bytes live here (not in a worker's memory or a form
    field), so any web worker or scheduler host can pick the job up; they are dropped
    once the job is finished. At most ERRORS_KEPT errors are stored, with the total."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_kind_created", "kind", "created_at"),
        Index("ix_import_jobs_state", "state"),
    )
    ERRORS_KEPT = 1000

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))                       # "roster" or "metrics"
    state: Mapped[ImportState] = mapped_column(enum_of(ImportState, "import_state"))
    filename: Mapped[str] = mapped_column(String(255))
    # Deferred: loading a job must never bring its file along (20 MB of bytea arrives as
    # 40 MB of hex on PostgreSQL); the worker reads it a megabyte at a time.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(254))                # actor label, for the audit
    ip: Mapped[str | None] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(20), default="")          # "checking" or "writing"
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)            # [[line, message], ...]
    summary: Mapped[dict] = mapped_column(JSON, default=dict)           # counts of the preview / the import
    options: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))  # e.g. {"replace": true}
    message: Mapped[str | None] = mapped_column(Text)                   # why it failed
    confirmed_at = mapped_column(UTCDateTime)
    claimed_at = mapped_column(UTCDateTime)                             # a worker is on it (heartbeat)
    created_at = mapped_column(UTCDateTime, nullable=False)
    updated_at = mapped_column(UTCDateTime, nullable=False)
    finished_at = mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        return min(100, self.rows_done * 100 // self.rows_total) if self.rows_total else 0
