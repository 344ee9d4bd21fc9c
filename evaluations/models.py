"""Review cycles, rubrics, assignments, reviews, community metrics and activities.

Two kinds of stored review, on purpose:

- `Review`: a named review (self, supervisor, and peers when the cycle does not make
  them anonymous), tied to its assignment, editable as a draft until submitted.
- `AnonymousReview`: an upward review (and a peer review in a cycle that says so). It
  references the cycle and the subject only. No rater, no account, no IP, no time, no
  sequential key: the key is a random UUID and, on SQLite, the table is WITHOUT ROWID,
  so storage order is the key's. Rows arrive only in *batches* of at least the cycle's
  threshold (see `HeldReview`), in shuffled order, in one transaction.
- `HeldReview`: a submitted anonymous review waiting for its batch, sealed (encrypted
  with a key derived from SECRET_KEY, see evaluations.seal), with no link to anybody.

Whether someone has submitted is `ReviewAssignment.status`, which has no timestamp and
no link to the review it produced.
"""
import enum
import uuid
from datetime import date

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of
from core.errors import DomainError
from evaluations import rules


class RaterGroup(enum.StrEnum):
    SELF = "self"
    SUPERVISOR = "supervisor"
    PEER = "peer"
    DIRECT_REPORT = "direct_report"


GROUP_LABELS = {"self": "Self", "supervisor": "Supervisor", "peer": "Peers", "direct_report": "Direct reports"}


class CycleStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class AssignmentStatus(enum.StrEnum):
    PENDING = "pending"
    DRAFT = "draft"
    SUBMITTED = "submitted"


class ActivityKind(enum.StrEnum):
    MEETING = "meeting"
    YOUTH = "youth_program"
    PROBLEM_SOLVING = "problem_solving"
    PATROL = "foot_bike_patrol"
    OTHER = "other"


ACTIVITY_LABELS = {"meeting": "Community meeting", "youth_program": "Youth program",
                   "problem_solving": "Neighbourhood problem-solving", "foot_bike_patrol": "Foot or bike patrol",
                   "other": "Other"}


class ActivityStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Rubric(db.Model):
    __tablename__ = "rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at = mapped_column(UTCDateTime, nullable=False)

    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="rubric", order_by="(Criterion.position, Criterion.id)", cascade="all, delete-orphan")


class Criterion(db.Model):
    """One thing rated 1-5, in a competency, answered by the groups it names."""

    __tablename__ = "review_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"), index=True)
    competency: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(300))
    anchor_1: Mapped[str] = mapped_column(String(300))
    anchor_3: Mapped[str] = mapped_column(String(300))
    anchor_5: Mapped[str] = mapped_column(String(300))
    by_self: Mapped[bool] = mapped_column(Boolean, default=True)
    by_supervisor: Mapped[bool] = mapped_column(Boolean, default=True)
    by_peer: Mapped[bool] = mapped_column(Boolean, default=True)
    by_direct_report: Mapped[bool] = mapped_column(Boolean, default=False)

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")

    def answered_by(self, group: str) -> bool:
        return bool(getattr(self, f"by_{group}"))

    @property
    def groups(self) -> list[str]:
        return [g.value for g in RaterGroup if self.answered_by(g.value)]


class ReviewCycle(db.Model):
    __tablename__ = "review_cycles"
    __table_args__ = (
        CheckConstraint("closes_on >= opens_on", name="dates_in_order"),
        CheckConstraint("threshold >= 2", name="threshold_min"),
        CheckConstraint("peers BETWEEN 0 AND 10", name="peers_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"), index=True)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    status: Mapped[CycleStatus] = mapped_column(enum_of(CycleStatus, "cycle_status"), default=CycleStatus.DRAFT)
    all_units: Mapped[bool] = mapped_column(Boolean, default=True)
    peers: Mapped[int] = mapped_column(Integer, default=3)
    threshold: Mapped[int] = mapped_column(Integer, default=3)
    anonymous_peers: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at = mapped_column(UTCDateTime, nullable=False)
    opened_at = mapped_column(UTCDateTime)
    closed_at = mapped_column(UTCDateTime)
    published_at = mapped_column(UTCDateTime)

    rubric: Mapped[Rubric] = relationship(lazy="joined", innerjoin=True)
    units = relationship("Unit", secondary="review_cycle_units", order_by="Unit.name")

    def is_anonymous(self, group: str) -> bool:
        return group == RaterGroup.DIRECT_REPORT or (group == RaterGroup.PEER and self.anonymous_peers)

    # The cycle's life: draft -> open -> closed -> published. Each move refuses (DomainError)
    # when it makes no sense now; the decision itself is rules.refuse_move.
    def _refuse(self, step: str, *, assignments: int = 0, criteria: int = 0, today: date | None = None) -> None:
        problem = rules.refuse_move(step, self.status.value, assignments=assignments, criteria=criteria,
                                    today=today or self.closes_on, closes_on=self.closes_on)
        if problem:
            raise DomainError(problem)

    def open(self, now, *, assignments: int, criteria: int, today: date) -> None:
        """Raters can start: needs criteria, assignments and a close date not passed."""
        self._refuse("open", assignments=assignments, criteria=criteria, today=today)
        self.status, self.opened_at = CycleStatus.OPEN, now

    def close(self, now) -> None:
        self._refuse("close")
        self.status, self.closed_at = CycleStatus.CLOSED, now

    def publish(self, now) -> None:
        self._refuse("publish")
        self.status, self.published_at = CycleStatus.PUBLISHED, now


class ReviewCycleUnit(db.Model):
    __tablename__ = "review_cycle_units"

    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class ReviewAssignment(db.Model):
    """Rater X reviews subject Y in group G. `status` is all that records a submission;
    it carries no time. `sealed_draft` is an anonymous review's saved draft, encrypted,
    deleted when it is submitted."""

    __tablename__ = "review_assignments"
    __table_args__ = (
        UniqueConstraint("cycle_id", "subject_id", "rater_id", name="uq_review_assignments_pair"),
        Index("ix_review_assignments_rater", "rater_id", "status"),
        Index("ix_review_assignments_cycle_subject", "cycle_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    group: Mapped[RaterGroup] = mapped_column("rater_group", enum_of(RaterGroup, "rater_group"))
    status: Mapped[AssignmentStatus] = mapped_column(enum_of(AssignmentStatus, "assignment_status"),
                                                     default=AssignmentStatus.PENDING)
    sealed_draft: Mapped[bytes | None] = mapped_column(LargeBinary)

    cycle: Mapped[ReviewCycle] = relationship(lazy="joined", innerjoin=True)
    subject = relationship("Officer", foreign_keys=[subject_id], lazy="joined", innerjoin=True)
    rater = relationship("Officer", foreign_keys=[rater_id], lazy="select")


class Review(db.Model):
    """A named (not anonymous) review: its assignment says who wrote it."""

    __tablename__ = "reviews"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("review_assignments.id", ondelete="CASCADE"),
                                               primary_key=True)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)   # {criterion id (str): 1-5}
    comment: Mapped[str] = mapped_column(Text, default="")
    score_total: Mapped[int] = mapped_column(Integer, default=0)
    score_count: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at = mapped_column(UTCDateTime)
    updated_at = mapped_column(UTCDateTime, nullable=False)


class AnonymousReview(db.Model):
    """See the module docstring: nothing here refers to the rater or to a time."""

    __tablename__ = "anonymous_reviews"
    __table_args__ = (Index("ix_anonymous_reviews_cycle_subject", "cycle_id", "subject_id", "rater_group"),
                      {"sqlite_with_rowid": False})

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    group: Mapped[RaterGroup] = mapped_column("rater_group", enum_of(RaterGroup, "rater_group"))
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    score_total: Mapped[int] = mapped_column(Integer, default=0)
    score_count: Mapped[int] = mapped_column(Integer, default=0)


class HeldReview(db.Model):
    """A submitted anonymous review waiting until its (cycle, subject, group) has at
    least the threshold, or the cycle closes. Its content is sealed."""

    __tablename__ = "held_reviews"
    __table_args__ = (Index("ix_held_reviews_cycle_subject", "cycle_id", "subject_id", "rater_group"),
                      {"sqlite_with_rowid": False})

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    group: Mapped[RaterGroup] = mapped_column("rater_group", enum_of(RaterGroup, "rater_group"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class CommunityMetric(db.Model):
    """Counted community-policing facts for one officer and one period (HR's import)."""

    __tablename__ = "community_metrics"
    __table_args__ = (
        UniqueConstraint("officer_id", "period_start", "period_end", name="uq_community_metrics_officer_period"),
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        Index("ix_community_metrics_officer_end", "officer_id", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    compliments: Mapped[int] = mapped_column(Integer)
    complaints: Mapped[int] = mapped_column(Integer)
    complaints_sustained: Mapped[int] = mapped_column(Integer)
    community_meetings: Mapped[int] = mapped_column(Integer)
    problem_solving_projects: Mapped[int] = mapped_column(Integer)
    resident_safety_score = mapped_column(Numeric(3, 2))
    imported_at = mapped_column(UTCDateTime, nullable=False)


class Activity(db.Model):
    """A community-engagement activity an officer logged; counts once their supervisor
    has verified it."""

    __tablename__ = "community_activities"
    __table_args__ = (
        CheckConstraint("hours > 0 AND hours <= 24", name="hours_range"),
        Index("ix_community_activities_officer_day", "officer_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[ActivityKind] = mapped_column(enum_of(ActivityKind, "activity_kind"))
    hours = mapped_column(Numeric(4, 1), nullable=False)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ActivityStatus] = mapped_column(enum_of(ActivityStatus, "activity_status"),
                                                   default=ActivityStatus.PENDING)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, nullable=False)

    officer = relationship("Officer", lazy="joined", innerjoin=True)
