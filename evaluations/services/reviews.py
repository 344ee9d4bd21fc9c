"""Raters: the reviews they have to do, drafts, submission, and how a submitted
anonymous review reaches the results without a trace of its author."""
import logging
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from core import clock
from core.audit import Actor, record
from core.db import db
from core.department import today
from core.errors import DomainError, NotFound
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
    return Todo(pending, len(rows) - len(pending), reports)


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
    if assignment.status != AssignmentStatus.SUBMITTED:
        if anonymous and assignment.sealed_draft:
            try:
                draft = seal.unseal(assignment.sealed_draft, f"draft:{assignment.id}")
                scores, comment = {int(k): v for k, v in draft["scores"].items()}, draft["comment"]
            except seal.Unreadable:
                log.warning("a saved draft could not be unsealed (SECRET_KEY changed?)")
        elif not anonymous:
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


def save(actor: Actor, assignment_id: int, scores: dict, comment: str, *, submit: bool) -> ReviewAssignment:
    """Save a draft, or submit (final). Commits. An anonymous review is sealed and held
    until its group has enough reviews to be released together (release())."""
    assignment = for_rater(actor, assignment_id)
    cycle = lock_cycle(assignment.cycle_id)
    db.session.refresh(assignment)
    if cycle.status != CycleStatus.OPEN or today() > cycle.closes_on:
        raise DomainError("This review cycle is closed: reviews can no longer be changed.")
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise DomainError("This review has been submitted and cannot be changed.")
    clean, comment = _clean(assignment, scores, comment, submit)
    total, count = sum(clean.values()), len(clean)
    group = assignment.group.value
    if cycle.is_anonymous(group):
        try:
            sealed = seal.seal({"scores": clean, "comment": comment},
                               f"held:{cycle.id}:{assignment.subject_id}:{group}" if submit
                               else f"draft:{assignment.id}")
        except ValueError:
            raise DomainError("The review is too long to store; shorten the comment.") from None
        if submit:
            db.session.add(HeldReview(id=uuid.uuid4(), cycle_id=cycle.id, subject_id=assignment.subject_id,
                                      group=assignment.group, sealed=sealed))
            assignment.status, assignment.sealed_draft = AssignmentStatus.SUBMITTED, None
            # What the audit log may say of an anonymous review, and nothing more.
            record(actor, "review.submit", target=f"cycle:{cycle.id}",
                   detail=f"submitted {KIND[group]} in cycle {cycle.name}")
        else:
            assignment.sealed_draft, assignment.status = sealed, AssignmentStatus.DRAFT
            record(actor, "review.draft", target=f"cycle:{cycle.id}",
                   detail=f"saved a draft of {KIND[group]} in cycle {cycle.name}")
        db.session.commit()
        if submit:
            release(cycle.id, assignment.subject_id, assignment.group)   # in a transaction of its own
            db.session.commit()
        return assignment

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


@dataclass
class Released:
    released: int = 0
    discarded: int = 0
    unreadable: int = 0


def release(cycle_id: int, subject_id: int, group, closing: bool = False) -> Released:
    """Move one subject-and-group's held reviews into the results, all together and in
    random order, once there are at least the threshold of them. When the cycle is
    closing, fewer than that are deleted unread (rules.ready_to_release says why). The
    caller commits."""
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
        log.error("%d held review(s) of cycle %s could not be unsealed (SECRET_KEY changed?); they stay held",
                  outcome.unreadable, cycle.id)
    if len(rows) < cycle.threshold:      # never release fewer than the threshold, whatever happened
        return outcome
    secrets.SystemRandom().shuffle(rows)
    db.session.execute(insert(AnonymousReview), rows)
    db.session.execute(delete(HeldReview).where(HeldReview.id.in_(done)))
    outcome.released = len(rows)
    return outcome
