"""Raters: the reviews they have to do, drafts, submission, and how a submitted
anonymous review reaches the results without a trace of its author."""
import logging
import secrets
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.pool import NullPool

from core import clock
from core.audit import Actor, record
from core.db import db
from core.department import today
from core.errors import DomainError, NotFound
from core.models import Officer
from evaluations import rules, seal
from evaluations.models import (
    GROUP_LABELS,
    AnonymousReview,
    AssignmentStatus,
    CycleStatus,
    HeldReview,
    RaterGroup,
    Review,
    ReviewAssignment,
    ReviewCycle,
)
from evaluations.services import metrics
from evaluations.services.common import officer_of
from evaluations.services.rubrics import competencies

log = logging.getLogger(__name__)
MAX_COMMENT = 2000
KIND = {"direct_report": "an upward review", "peer": "a peer review", "self": "a self review",
        "supervisor": "a supervisor's review"}


@dataclass
class Todo:
    open: list            # assignments not yet submitted, in open cycles
    submitted: int
    reports: list         # (cycle, subject_id) the officer may read: their own published reports
    # A supervisor's: how many officers report to them, the cycles holding their upward
    # feedback (newest first), and their reports' community activities to verify.
    supervises: int = 0
    upward: list = field(default_factory=list)
    to_verify: int = 0


def todo(actor: Actor) -> Todo:
    """The home page's "Reviews to do"."""
    me = officer_of(actor)
    if me is None:
        return Todo([], 0, [])
    rows = list(db.session.scalars(
        select(ReviewAssignment).join(ReviewCycle)
        .where(ReviewAssignment.rater_id == me.id, ReviewCycle.status == CycleStatus.OPEN)
        .order_by(ReviewCycle.closes_on, ReviewAssignment.group, ReviewAssignment.id)))
    pending = [a for a in rows if a.status != AssignmentStatus.SUBMITTED]
    reports = list(db.session.scalars(
        select(ReviewCycle).where(ReviewCycle.status == CycleStatus.PUBLISHED, ReviewCycle.id.in_(
            select(ReviewAssignment.cycle_id).where(ReviewAssignment.subject_id == me.id)))
        .order_by(ReviewCycle.closes_on.desc()).limit(3)))
    supervises = db.session.scalar(select(sa.func.count()).select_from(Officer).where(Officer.supervisor_id == me.id))
    upward = list(db.session.scalars(select(ReviewCycle).where(
        ReviewCycle.status != CycleStatus.DRAFT, ReviewCycle.id.in_(
            select(ReviewAssignment.cycle_id).where(ReviewAssignment.subject_id == me.id,
                                                    ReviewAssignment.group == RaterGroup.DIRECT_REPORT)))
        .order_by(ReviewCycle.closes_on.desc()).limit(3)))
    to_verify = len(metrics.to_verify(actor)) if supervises else 0
    return Todo(pending, len(rows) - len(pending), reports, supervises, upward, to_verify)


def my_assignments(actor: Actor) -> list[ReviewAssignment]:
    """Every review the signed-in officer has in open cycles, done or not."""
    me = officer_of(actor)
    if me is None:
        return []
    return list(db.session.scalars(
        select(ReviewAssignment).join(ReviewCycle)
        .where(ReviewAssignment.rater_id == me.id, ReviewCycle.status == CycleStatus.OPEN)
        .order_by(ReviewCycle.closes_on, ReviewAssignment.status, ReviewAssignment.group, ReviewAssignment.id)))


def for_rater(actor: Actor, assignment_id: int) -> ReviewAssignment:
    """The rater's own assignment; anyone else's does not exist for them."""
    me = officer_of(actor)
    assignment = db.session.get(ReviewAssignment, assignment_id)
    if me is None or assignment is None or assignment.rater_id != me.id or \
            assignment.cycle.status == CycleStatus.DRAFT:
        raise NotFound("No such review.")
    return assignment


@dataclass
class Sheet:
    """What the review form shows: the criteria this rater group answers, and the draft."""
    assignment: ReviewAssignment
    anonymous: bool
    sections: list         # [(competency, [Criterion])]
    scores: dict           # {criterion id: score}
    comment: str
    editable: bool
    group_label: str


def sheet(actor: Actor, assignment_id: int) -> Sheet:
    assignment = for_rater(actor, assignment_id)
    cycle = assignment.cycle
    anonymous = cycle.is_anonymous(assignment.group)
    scores, comment = {}, ""
    # A draft of an anonymous review is kept in the rater's browser only (static/js/review-draft.js).
    if assignment.status != AssignmentStatus.SUBMITTED and not anonymous:
        review = db.session.get(Review, assignment.id)
        if review is not None:
            scores, comment = {int(k): v for k, v in review.scores.items()}, review.comment
    editable = (assignment.status != AssignmentStatus.SUBMITTED and cycle.status == CycleStatus.OPEN
                and today() <= cycle.closes_on)
    return Sheet(assignment, anonymous, competencies(cycle.rubric, assignment.group.value), scores, comment,
                 editable, GROUP_LABELS[assignment.group.value])


def _clean(assignment: ReviewAssignment, scores: dict, comment: str, submitting: bool) -> tuple[dict, str]:
    allowed = {c.id for c in assignment.cycle.rubric.criteria if c.answered_by(assignment.group.value)}
    clean = {}
    for criterion_id, score in scores.items():
        if criterion_id not in allowed:
            raise DomainError("A score was given for a criterion this review does not ask about.")
        if score is None:
            continue
        if score not in (1, 2, 3, 4, 5):
            raise DomainError("Scores go from 1 to 5.")
        clean[str(criterion_id)] = score
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise DomainError(f"The comment is longer than {MAX_COMMENT:,} characters.")
    if submitting and not clean:
        raise DomainError("Rate at least one criterion before submitting.")
    return clean, comment


def lock_cycle(cycle_id: int) -> ReviewCycle | None:
    """Take the cycle's row for this transaction (a no-op UPDATE: a row lock on
    PostgreSQL, the write lock on SQLite) and read it afresh. Saves, releases and the
    close of one cycle thus happen one after another, each seeing the last one's work."""
    db.session.execute(update(ReviewCycle).where(ReviewCycle.id == cycle_id).values(status=ReviewCycle.status)
                       .execution_options(synchronize_session=False))
    return db.session.get(ReviewCycle, cycle_id, populate_existing=True)


DRAFT_REFUSED = ("A draft of an anonymous review is kept only in your browser, never on Beacon's server: "
                 "nothing was saved. Submit the review when it is ready.")
NOT_STORED = "Your review could not be stored, so it has not been submitted. Please submit it again."


def save(actor: Actor, assignment_id: int, scores: dict, comment: str, *, submit: bool) -> ReviewAssignment:
    """Save a draft, or submit (final). Commits. A draft of an anonymous review is
    refused (it stays in the rater's browser); a submitted one is sealed and held until
    its group has enough reviews to be released together (_submit_anonymous)."""
    assignment = for_rater(actor, assignment_id)
    cycle = lock_cycle(assignment.cycle_id)
    db.session.refresh(assignment)
    if cycle.status != CycleStatus.OPEN or today() > cycle.closes_on:
        raise DomainError("This review cycle is closed: reviews can no longer be changed.")
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise DomainError("This review has been submitted and cannot be changed.")
    group = assignment.group.value
    if cycle.is_anonymous(group) and not submit:
        db.session.rollback()
        raise DomainError(DRAFT_REFUSED)
    clean, comment = _clean(assignment, scores, comment, submit)
    total, count = sum(clean.values()), len(clean)
    if cycle.is_anonymous(group):
        return _submit_anonymous(actor, assignment, cycle, clean, comment)

    now = clock.now()
    review = db.session.get(Review, assignment.id) or Review(assignment_id=assignment.id)
    review.scores, review.comment, review.score_total, review.score_count = clean, comment, total, count
    review.updated_at = now
    if submit:
        review.submitted_at = now
    db.session.add(review)
    assignment.status = AssignmentStatus.SUBMITTED if submit else AssignmentStatus.DRAFT
    record(actor, "review.submit" if submit else "review.draft", target=f"cycle:{cycle.id}",
           detail=f"{'submitted' if submit else 'saved a draft of'} {KIND[group]} of "
                  f"{assignment.subject.badge_number} in cycle {cycle.name}")
    db.session.commit()
    return assignment


class _ClosedMeanwhile(Exception):
    """The cycle closed between the two transactions of a submission."""


def _submit_anonymous(actor: Actor, assignment: ReviewAssignment, cycle: ReviewCycle, clean: dict,
                      comment: str) -> ReviewAssignment:
    """Two transactions, so that nothing the database keeps ties a review to its rater:
    the first is the rater's (the assignment marked submitted, the audit entry) and holds
    nothing of what they wrote; the second holds the sealed review (and releases the
    group's batch once it reaches the threshold) and touches nothing of the rater. The
    first commits first, so a second submission is refused and a review never counts
    twice; if the second fails, the assignment is put back as it was and the rater is
    asked to submit again, so no review is lost without its rater being told. (A server
    that dies between the two commits loses that one review: the rater sees no
    "Review submitted", but the assignment says submitted.)"""
    group, subject_id, cycle_id, name = assignment.group, assignment.subject_id, cycle.id, cycle.name
    assignment_id = assignment.id
    try:
        sealed = seal.seal({"scores": clean, "comment": comment}, f"held:{cycle_id}:{subject_id}:{group.value}")
    except ValueError:
        raise DomainError("The review is too long to store; shorten the comment.") from None
    was = assignment.status
    assignment.status = AssignmentStatus.SUBMITTED
    # What the audit log may say of an anonymous review, and nothing more.
    record(actor, "review.submit", target=f"cycle:{cycle_id}", detail=f"submitted {KIND[group.value]} in cycle {name}")
    db.session.commit()
    try:
        _hold(cycle_id, subject_id, group, sealed)
    except Exception as exc:
        db.session.rollback()
        closed = isinstance(exc, _ClosedMeanwhile)
        if not closed:
            log.error("a submitted anonymous review could not be held (%s); its assignment is put back",
                      type(exc).__name__)
        _take_back(actor, assignment_id, was, cycle_id, name, group)
        if closed:
            raise DomainError("The review cycle closed before your review could be stored: it was not "
                              "submitted and can no longer be.") from None
        raise DomainError(NOT_STORED) from None
    vacuum_held()   # the group's earlier held rows were rewritten (or released): their old versions go
    return assignment


def _hold(cycle_id: int, subject_id: int, group: RaterGroup, sealed: bytes) -> "Released":
    """The second transaction of an anonymous submission: the sealed review and, when the
    group reaches the threshold, its release. Nothing in it is about the rater.

    The group's reviews already held are written again with it (resealed, new random
    ids, shuffled): every held row of a group then carries this transaction's xmin, so
    the database cannot tell which of them is the one just submitted, even though this
    transaction's id follows the rater's. (Their old versions are dead tuples until a
    VACUUM: vacuum_held() below, and autovacuum set to act on the first dead row.)"""
    cycle = lock_cycle(cycle_id)
    if cycle is None or cycle.status != CycleStatus.OPEN:
        raise _ClosedMeanwhile()
    purpose = f"held:{cycle_id}:{subject_id}:{group.value}"
    held = list(db.session.scalars(select(HeldReview).where(
        HeldReview.cycle_id == cycle_id, HeldReview.subject_id == subject_id, HeldReview.group == group)))
    blobs = [sealed]
    for item in held:
        try:
            blobs.append(seal.seal(seal.unseal(item.sealed, purpose), purpose))
        except seal.Unreadable:
            blobs.append(item.sealed)       # sealed under another key: moved as it is
    if held:
        db.session.execute(delete(HeldReview).where(HeldReview.id.in_([h.id for h in held])))
    secrets.SystemRandom().shuffle(blobs)
    db.session.execute(insert(HeldReview), [dict(id=uuid.uuid4(), cycle_id=cycle_id, subject_id=subject_id,
                                                 group=group, sealed=blob) for blob in blobs])
    outcome = release(cycle_id, subject_id, group)
    db.session.commit()
    return outcome


def _take_back(actor: Actor, assignment_id: int, was: AssignmentStatus, cycle_id: int, name: str,
               group: RaterGroup) -> None:
    """Undo the first transaction of a submission whose review could not be held."""
    db.session.execute(update(ReviewAssignment).where(
        ReviewAssignment.id == assignment_id, ReviewAssignment.status == AssignmentStatus.SUBMITTED)
        .values(status=was).execution_options(synchronize_session=False))
    record(actor, "review.submit_undone", target=f"cycle:{cycle_id}",
           detail=f"{KIND[group.value]} in cycle {name} could not be stored: not submitted after all")
    db.session.commit()


@dataclass
class Released:
    released: int = 0
    discarded: int = 0
    unreadable: int = 0


def release(cycle_id: int, subject_id: int, group, closing: bool = False) -> Released:
    """Move one subject-and-group's held reviews into the results, all together and in
    random order, once there are at least the threshold of them. When the cycle is
    closing, fewer than that are deleted unread (rules.ready_to_release says why). The
    released rows are written afresh (new random ids, shuffled) in the caller's
    transaction, apart from any rater's. The caller commits, then calls vacuum_held()
    when anything was released or discarded."""
    cycle = lock_cycle(cycle_id)
    outcome = Released()
    if cycle is None:
        return outcome
    group = RaterGroup(group)
    held = list(db.session.scalars(select(HeldReview).where(
        HeldReview.cycle_id == cycle.id, HeldReview.subject_id == subject_id, HeldReview.group == group)))
    if not rules.ready_to_release(len(held), cycle.threshold):
        if closing and held:
            db.session.execute(delete(HeldReview).where(HeldReview.id.in_([h.id for h in held])))
            outcome.discarded = len(held)
        return outcome
    rows, done = [], []
    for item in held:
        try:
            content = seal.unseal(item.sealed, f"held:{cycle.id}:{subject_id}:{group.value}")
        except seal.Unreadable:
            outcome.unreadable += 1
            continue
        scores = {str(k): int(v) for k, v in content["scores"].items()}
        rows.append(dict(id=uuid.uuid4(), cycle_id=cycle.id, subject_id=subject_id, group=group, scores=scores,
                         comment=content["comment"], score_total=sum(scores.values()), score_count=len(scores)))
        done.append(item.id)
    if outcome.unreadable:
        log.error("%d held review(s) of cycle %s could not be unsealed (REVIEW_SEAL_KEY changed?); they stay held",
                  outcome.unreadable, cycle.id)
    if len(rows) < cycle.threshold:      # never release fewer than the threshold, whatever happened
        return outcome
    secrets.SystemRandom().shuffle(rows)
    db.session.execute(insert(AnonymousReview), rows)
    db.session.execute(delete(HeldReview).where(HeldReview.id.in_(done)))
    outcome.released = len(rows)
    return outcome


def vacuum_held() -> bool:
    """On PostgreSQL, VACUUM held_reviews, so the held rows a release or a close deleted
    (and their xmin, the transaction that held them) are gone from the table's pages.
    Call it after the transaction that deleted them has committed. Returns whether
    VACUUM ran.

    Only the table's owner (or a superuser) may VACUUM it on PostgreSQL before 17; the
    runtime role owns nothing (core/db_roles.py), and PostgreSQL skips a VACUUM it may
    not do with a warning only. So this runs as the runtime role when it may, else as
    the owner when MIGRATIONS_DATABASE_URL is set in this process, else logs that it
    could not (autovacuum then removes the rows in its own time). SQLite: nothing to do
    (it has no xmin; deleted held rows were sealed)."""
    if db.engine.dialect.name != "postgresql":
        return False
    may = sa.text("SELECT pg_has_role(current_user, c.relowner, 'USAGE') OR r.rolsuper FROM pg_class c, pg_roles r "
                  "WHERE c.oid = 'held_reviews'::regclass AND r.rolname = current_user")
    owner_url = current_app.config.get("MIGRATIONS_DATABASE_URL")
    engines = [(db.engine, False)] + ([(sa.create_engine(owner_url, poolclass=NullPool), True)] if owner_url else [])
    try:
        for engine, own in engines:
            try:
                with engine.connect() as conn:
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                    if conn.execute(may).scalar():
                        conn.execute(sa.text("VACUUM held_reviews"))
                        return True
            except sa.exc.SQLAlchemyError as exc:
                log.warning("VACUUM held_reviews failed (%s)", type(exc).__name__)
    finally:
        for engine, own in engines:
            if own:
                engine.dispose()
    log.warning("held_reviews was not vacuumed: the runtime role does not own it and MIGRATIONS_DATABASE_URL "
                "is not set here; autovacuum will remove the released rows in its own time")
    return False
