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
  under REVIEW_SEAL_KEY, see evaluations.seal), with no link to anybody.

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
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
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
        CheckConstraint("supervisor_share BETWEEN 1 AND 100", name="supervisor_share_range"),
        CheckConstraint("metrics_end IS NULL OR metrics_end >= metrics_start", name="metrics_in_order"),
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
    # Officers may nominate peers for themselves (HR approves) while the cycle is a draft.
    nominations: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Anyone who supervised a subject for at least this share (%) of the cycle's review
    # period (from the roster's supervisor history) is a supervisor rater.
    supervisor_share: Mapped[int] = mapped_column(Integer, default=25, server_default="25")
    # The community-metrics period the results use, chosen by HR (create or close);
    # metrics_chosen with no dates means "no community figures".
    metrics_start: Mapped[date | None] = mapped_column(Date)
    metrics_end: Mapped[date | None] = mapped_column(Date)
    metrics_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # What the close did with anonymous reviews still held: counts only, never whose.
    pooled_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    discarded_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
    it carries no time. An anonymous review's draft is never here: it stays in the rater's
    browser."""

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
    # Why this rater was chosen, for HR ("same unit and rank band", "supervised 40% of
    # the period", "nominated by the subject", "added by HR").
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")

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


class NominationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class PeerNomination(db.Model):
    """An officer asks for a peer to review them; HR approves (the peer becomes a peer
    rater) or declines."""

    __tablename__ = "peer_nominations"
    __table_args__ = (UniqueConstraint("cycle_id", "subject_id", "nominee_id", name="uq_peer_nominations_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    nominee_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    status: Mapped[NominationStatus] = mapped_column(enum_of(NominationStatus, "nomination_status"),
                                                     default=NominationStatus.PENDING)
    note: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at = mapped_column(UTCDateTime, nullable=False)
    decided_at = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    subject = relationship("Officer", foreign_keys=[subject_id], lazy="joined", innerjoin=True)
    nominee = relationship("Officer", foreign_keys=[nominee_id], lazy="joined", innerjoin=True)


class PooledReview(db.Model):
    """An upward review from a group that stayed under the threshold, released at the
    close into its unit's pool ("supervisors of this unit") with the other such groups of
    the unit, once the pool reaches the threshold. No subject, no rater, no time."""

    __tablename__ = "pooled_reviews"
    __table_args__ = (Index("ix_pooled_reviews_cycle_unit", "cycle_id", "unit_id"), {"sqlite_with_rowid": False})

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    score_total: Mapped[int] = mapped_column(Integer, default=0)
    score_count: Mapped[int] = mapped_column(Integer, default=0)


class ResultVersion(db.Model):
    """The results of a published cycle, fixed: version 1 is written at publication,
    each correction adds the next with its reason. Reports and the matrix read the
    latest version (or the one asked for), never the live metrics or settings."""

    __tablename__ = "result_versions"
    __table_args__ = (UniqueConstraint("cycle_id", "number", name="uq_result_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    made_at = mapped_column(UTCDateTime, nullable=False)
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    metrics_start: Mapped[date | None] = mapped_column(Date)
    metrics_end: Mapped[date | None] = mapped_column(Date)
    weights: Mapped[dict] = mapped_column(JSON, default=dict)
    threshold: Mapped[int] = mapped_column(Integer)


class ResultLine(db.Model):
    """One subject's fixed result in one version: what the matrix row and the subject's
    report show (group means per criterion, comments as shown, community figures,
    composite and ranks), with the roster facts as they were at publication."""

    __tablename__ = "result_lines"

    version_id: Mapped[int] = mapped_column(ForeignKey("result_versions.id", ondelete="CASCADE"), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(170))
    badge: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(120))
    rank_title: Mapped[str] = mapped_column(String(60))
    years: Mapped[float] = mapped_column(Float)
    group_means: Mapped[dict] = mapped_column(JSON, default=dict)
    community: Mapped[dict] = mapped_column(JSON, default=dict)
    community_score: Mapped[float | None] = mapped_column(Float)
    composite: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    seniority_rank: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict] = mapped_column(JSON, default=dict)


class ReportResponse(db.Model):
    """The subject's acknowledgement of their published report, and their written
    response, kept with the report."""

    __tablename__ = "report_responses"

    cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="CASCADE"), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    acknowledged_at = mapped_column(UTCDateTime, nullable=False)
    response: Mapped[str] = mapped_column(Text, default="", server_default="")
    responded_at = mapped_column(UTCDateTime)
