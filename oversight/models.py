"""Quarterly compliance reports, kept as they were made."""
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db


class ComplianceReport(db.Model):
    """One report for the oversight body: the figures of one quarter as they stood when
    it was made (`figures`, JSON), the PDF made from them (its bytes and their SHA-256,
    so a download later is the same file), and the head of each audit chain at that
    moment, so the board can check that nothing in the log was edited since. Reports
    are never changed; a report made again for the same quarter is a new one."""

    __tablename__ = "compliance_reports"
    __table_args__ = (Index("ix_compliance_reports_period", "period_start", "made_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)   # the quarter's last day
    made_at = mapped_column(UTCDateTime, nullable=False)
    # Kept for the audit trail only; never shown on the command role's pages.
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    figures: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    general_head_seq: Mapped[int] = mapped_column(BigInteger)
    general_head_hash: Mapped[str] = mapped_column(String(64))
    wellness_head_seq: Mapped[int] = mapped_column(BigInteger)
    wellness_head_hash: Mapped[str] = mapped_column(String(64))
