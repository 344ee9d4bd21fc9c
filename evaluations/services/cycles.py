"""Review cycles: HR creates one, generates and adjusts its assignments while it is a
draft, then opens, closes and publishes it."""
from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from core import clock
from core.audit import Actor, record
from core.db import db
from core.department import today, zone
from core.errors import DomainError, NotFound
from core.models import AccountStatus, Officer, OfficerStatus, Role, User
from core.pagination import Page, paginate
from core.services import outbox
from evaluations import rules
from evaluations.models import (
    AssignmentStatus,
    CycleStatus,
    Criterion,
    HeldReview,
    RaterGroup,
    ReviewAssignment,
    ReviewCycle,
    ReviewCycleUnit,
)
from evaluations.services.common import get_cycle
from evaluations.services.reviews import Released, lock_cycle, release

REVIEW_PUBLISHED = outbox.kind("review_published")


@dataclass(frozen=True)
class Progress:
    group: str
    total: int
    submitted: int


def list_cycles(actor: Actor) -> list[tuple[ReviewCycle, int, int]]:
    """Every cycle, newest first, with (assignments, submitted)."""
    actor.require(Role.HR)
    counts = {cid: (total, done) for cid, total, done in db.session.execute(
        select(ReviewAssignment.cycle_id, func.count(),
               func.count().filter(ReviewAssignment.status == AssignmentStatus.SUBMITTED))
        .group_by(ReviewAssignment.cycle_id))}
    cycles = db.session.scalars(select(ReviewCycle).order_by(ReviewCycle.opens_on.desc(), ReviewCycle.id.desc()))
    return [(c, *counts.get(c.id, (0, 0))) for c in cycles]


def defaults() -> tuple[int, int]:
    """Peers per officer and anonymity threshold a new cycle proposes (settings)."""
    return current_app.config["REVIEW_PEERS"], current_app.config["REVIEW_THRESHOLD"]


def cycle_for_hr(actor: Actor, cycle_id: int) -> ReviewCycle:
    actor.require(Role.HR)
    return get_cycle(cycle_id)


def _check_dates(opens_on: date, closes_on: date) -> None:
    if closes_on < opens_on:
        raise DomainError("The close date is before the open date.")


def create_cycle(actor: Actor, *, name: str, rubric_id: int, opens_on: date, closes_on: date, all_units: bool,
                 unit_ids: list[int], peers: int, threshold: int, anonymous_peers: bool) -> ReviewCycle:
    actor.require(Role.HR)
    name = name.strip()
    _check_dates(opens_on, closes_on)
    if closes_on < today():
        raise DomainError("The close date has already passed.")
    if not all_units and not unit_ids:
        raise DomainError("Choose the units whose officers are reviewed, or all active officers.")
    if threshold < 2:
        raise DomainError("The anonymity threshold must be at least 2.")
    if db.session.scalar(select(exists().where(func.lower(ReviewCycle.name) == name.lower()))):
        raise DomainError(f"A cycle named {name!r} already exists.")
    cycle = ReviewCycle(name=name, rubric_id=rubric_id, opens_on=opens_on, closes_on=closes_on, all_units=all_units,
                        peers=peers, threshold=threshold, anonymous_peers=anonymous_peers, status=CycleStatus.DRAFT,
                        created_at=clock.now())
    db.session.add(cycle)
    db.session.flush()
    if not all_units:
        db.session.add_all(ReviewCycleUnit(cycle_id=cycle.id, unit_id=u) for u in sorted(set(unit_ids)))
    record(actor, "cycle.create", target=f"cycle:{cycle.id}",
           detail=f"{name}; {opens_on} to {closes_on}; peers {peers}; threshold {threshold}"
                  + ("; anonymous peers" if anonymous_peers else ""))
    db.session.commit()
    return cycle


def reviews_exist(cycle_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        ReviewAssignment.cycle_id == cycle_id,
        ReviewAssignment.status != AssignmentStatus.PENDING))))


def update_cycle(actor: Actor, cycle_id: int, *, opens_on: date, closes_on: date, threshold: int) -> ReviewCycle:
    """Dates while the cycle runs (the close date can move while it is open); the
    threshold can rise any time but never fall once a review has been saved."""
    cycle = cycle_for_hr(actor, cycle_id)
    if cycle.status in (CycleStatus.CLOSED, CycleStatus.PUBLISHED):
        raise DomainError("A closed cycle cannot change.")
    _check_dates(opens_on, closes_on)
    if cycle.status == CycleStatus.OPEN and opens_on != cycle.opens_on:
        raise DomainError("The cycle is open: only its close date can move.")
    if closes_on != cycle.closes_on and closes_on < today():
        raise DomainError("The close date cannot be in the past.")
    if not rules.threshold_change_allowed(threshold, cycle.threshold, reviews_exist(cycle.id)):
        raise DomainError("The anonymity threshold cannot be lowered once reviews have been started or submitted.")
    if threshold < 2:
        raise DomainError("The anonymity threshold must be at least 2.")
    changes = []
    for name, value in (("opens_on", opens_on), ("closes_on", closes_on), ("threshold", threshold)):
        if getattr(cycle, name) != value:
            changes.append(f"{name} {getattr(cycle, name)} -> {value}")
            setattr(cycle, name, value)
    if changes:
        record(actor, "cycle.update", target=f"cycle:{cycle.id}", detail="; ".join(changes))
    db.session.commit()
    return cycle


def delete_cycle(actor: Actor, cycle_id: int) -> None:
    cycle = cycle_for_hr(actor, cycle_id)
    if cycle.status != CycleStatus.DRAFT:
        raise DomainError("Only a draft cycle can be deleted.")
    record(actor, "cycle.delete", target=f"cycle:{cycle.id}", detail=cycle.name)
    db.session.execute(delete(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id))
    db.session.delete(cycle)
    db.session.commit()


# --- assignments ------------------------------------------------------------------------------

def _require_draft(cycle: ReviewCycle) -> None:
    if cycle.status != CycleStatus.DRAFT:
        raise DomainError("Assignments can change only while the cycle is a draft.")


def subject_ids(cycle: ReviewCycle) -> list[int]:
    query = select(Officer.id).where(Officer.status == OfficerStatus.ACTIVE)
    if not cycle.all_units:
        query = query.where(Officer.unit_id.in_(select(ReviewCycleUnit.unit_id)
                                                .where(ReviewCycleUnit.cycle_id == cycle.id)))
    return list(db.session.scalars(query.order_by(Officer.id)))


def _raters() -> set[int]:
    """Officers who can sign in to write a review: active, with an active account."""
    return set(db.session.scalars(
        select(Officer.id).join(User, User.officer_id == Officer.id)
        .where(Officer.status == OfficerStatus.ACTIVE, User.status == AccountStatus.ACTIVE)))


def _last_peers(cycle: ReviewCycle) -> set[tuple[int, int]]:
    previous = db.session.scalar(
        select(ReviewCycle.id).where(ReviewCycle.id != cycle.id, ReviewCycle.status != CycleStatus.DRAFT)
        .order_by(ReviewCycle.opens_on.desc(), ReviewCycle.id.desc()).limit(1))
    if previous is None:
        return set()
    return set(db.session.execute(select(ReviewAssignment.subject_id, ReviewAssignment.rater_id)
                                  .where(ReviewAssignment.cycle_id == previous,
                                         ReviewAssignment.group == RaterGroup.PEER)).all())


def generate(actor: Actor, cycle_id: int, seed: int | None = None) -> Counter:
    """(Re)build the draft cycle's assignments from the roster. Returns counts by group."""
    cycle = cycle_for_hr(actor, cycle_id)
    _require_draft(cycle)
    raters = _raters()
    roster = {oid: rules.Member(oid, unit, boss, oid in raters) for oid, unit, boss in db.session.execute(
        select(Officer.id, Officer.unit_id, Officer.supervisor_id).where(Officer.status == OfficerStatus.ACTIVE))}
    planned = [a for a in rules.assign(subject_ids(cycle), roster, peers=cycle.peers,
                                       last_cycle_peers=_last_peers(cycle), seed=seed)
               if a.rater_id in raters]
    db.session.execute(delete(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id))
    rows = [dict(cycle_id=cycle.id, subject_id=a.subject_id, rater_id=a.rater_id, group=RaterGroup(a.group),
                 status=AssignmentStatus.PENDING) for a in planned]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(ReviewAssignment), rows[start:start + 5000])
    counts = Counter(a.group for a in planned)
    record(actor, "cycle.assignments.generate", target=f"cycle:{cycle.id}",
           detail=f"{len(planned)} assignment(s): " + ", ".join(f"{g} {n}" for g, n in sorted(counts.items())))
    db.session.commit()
    return counts


def add_assignment(actor: Actor, cycle_id: int, subject_badge: str, rater_badge: str, group: str) -> ReviewAssignment:
    cycle = cycle_for_hr(actor, cycle_id)
    _require_draft(cycle)
    subject = db.session.scalar(select(Officer).where(Officer.badge_number == subject_badge.strip()))
    rater = db.session.scalar(select(Officer).where(Officer.badge_number == rater_badge.strip()))
    if subject is None or rater is None:
        raise DomainError("Both badge numbers must be on the roster.")
    group = RaterGroup(group)
    if (group == RaterGroup.SELF) != (subject.id == rater.id):
        raise DomainError("Only a self review has the same officer as subject and rater.")
    if group == RaterGroup.DIRECT_REPORT and rater.supervisor_id != subject.id:
        raise DomainError(f"{rater.full_name} does not report to {subject.full_name}.")
    if rater.id not in _raters():
        raise DomainError(f"{rater.full_name} has no active account, so could not write the review.")
    if db.session.scalar(select(exists().where(ReviewAssignment.cycle_id == cycle.id,
                                               ReviewAssignment.subject_id == subject.id,
                                               ReviewAssignment.rater_id == rater.id))):
        raise DomainError(f"{rater.full_name} already reviews {subject.full_name} in this cycle.")
    assignment = ReviewAssignment(cycle_id=cycle.id, subject_id=subject.id, rater_id=rater.id, group=group,
                                  status=AssignmentStatus.PENDING)
    db.session.add(assignment)
    db.session.flush()
    record(actor, "cycle.assignments.add", target=f"cycle:{cycle.id}",
           detail=f"{rater.badge_number} reviews {subject.badge_number} as {group.value}")
    db.session.commit()
    return assignment


def remove_assignment(actor: Actor, cycle_id: int, assignment_id: int) -> None:
    cycle = cycle_for_hr(actor, cycle_id)
    _require_draft(cycle)
    assignment = db.session.get(ReviewAssignment, assignment_id)
    if assignment is None or assignment.cycle_id != cycle.id:
        raise NotFound("No such assignment.")
    record(actor, "cycle.assignments.remove", target=f"cycle:{cycle.id}",
           detail=f"{assignment.rater.badge_number} no longer reviews {assignment.subject.badge_number} "
                  f"as {assignment.group.value}")
    db.session.delete(assignment)
    db.session.commit()


@dataclass(frozen=True)
class AssignmentLine:
    id: int
    subject: str
    rater: str
    group: str
    status: str | None   # None for anonymous groups: HR sees their counts only


def assignments_page(actor: Actor, cycle_id: int, *, q: str = "", group: str | None = None,
                     page: int = 1, per_page: int = 50) -> Page:
    cycle = cycle_for_hr(actor, cycle_id)
    subject, rater = aliased(Officer), aliased(Officer)
    query = (select(ReviewAssignment.id, subject.last_name, subject.first_name, subject.badge_number,
                    rater.last_name, rater.first_name, rater.badge_number, ReviewAssignment.group,
                    ReviewAssignment.status)
             .join(subject, subject.id == ReviewAssignment.subject_id)
             .join(rater, rater.id == ReviewAssignment.rater_id)
             .where(ReviewAssignment.cycle_id == cycle.id))
    if group in {g.value for g in RaterGroup}:
        query = query.where(ReviewAssignment.group == group)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(subject.last_name).like(like), subject.badge_number == q.strip(),
                                func.lower(rater.last_name).like(like), rater.badge_number == q.strip()))
    query = query.order_by(subject.last_name, subject.first_name, subject.id, ReviewAssignment.group,
                           rater.last_name)

    def line(row):
        aid, sl, sf, sb, rl, rf, rb, g, s = row
        return AssignmentLine(aid, f"{sl}, {sf} (#{sb})", f"{rl}, {rf} (#{rb})", g.value,
                              None if cycle.is_anonymous(g) else s.value)
    return paginate(query, page, per_page, rows=True).map(line)


def progress(cycle_id: int) -> list[Progress]:
    rows = db.session.execute(
        select(ReviewAssignment.group, func.count(),
               func.count().filter(ReviewAssignment.status == AssignmentStatus.SUBMITTED))
        .where(ReviewAssignment.cycle_id == cycle_id).group_by(ReviewAssignment.group)).all()
    found = {g.value: (t, s) for g, t, s in rows}
    return [Progress(g.value, *found.get(g.value, (0, 0))) for g in RaterGroup]


# --- the cycle's life -------------------------------------------------------------------------

def move(actor: Actor, cycle_id: int, step: str) -> ReviewCycle:
    """HR opens, closes or publishes a cycle (`step`); the cycle refuses a move that
    makes no sense now (ReviewCycle.open/close/publish). Commits."""
    cycle_for_hr(actor, cycle_id)
    cycle = lock_cycle(cycle_id)
    detail = cycle.name
    if step == "open":
        cycle.open(clock.now(), today=today(),
                   assignments=db.session.scalar(select(func.count()).where(ReviewAssignment.cycle_id == cycle.id)),
                   criteria=db.session.scalar(select(func.count()).where(Criterion.rubric_id == cycle.rubric_id)))
    elif step == "close":
        detail += _close_summary(_close(cycle))
    elif step == "publish":
        cycle.publish(clock.now())
        _announce(cycle)
    else:
        raise DomainError("Unknown step.")
    record(actor, f"cycle.{step}", target=f"cycle:{cycle.id}", detail=detail)
    db.session.commit()
    return cycle


def _close(cycle: ReviewCycle) -> Released:
    """Held reviews of a group with at least the threshold go into the results
    (shuffled, together); fewer are deleted unread. Sealed drafts of anonymous reviews
    never sent are deleted (named drafts stay, uncounted), and reminders not yet sent
    are dropped."""
    cycle.close(clock.now())
    db.session.flush()  # release() reloads the cycle (locked): it must see it closed
    totals = Released()
    for subject_id, group in db.session.execute(select(HeldReview.subject_id, HeldReview.group).distinct()
                                                .where(HeldReview.cycle_id == cycle.id)).all():
        outcome = release(cycle.id, subject_id, group, closing=True)
        totals.released += outcome.released
        totals.discarded += outcome.discarded
        totals.unreadable += outcome.unreadable
    db.session.execute(update(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id,
                                                      ReviewAssignment.sealed_draft.is_not(None))
                       .values(sealed_draft=None))
    outbox.drop_pending(f"review:{cycle.id}:")
    return totals


def _close_summary(t: Released) -> str:
    return (f"; at the close {t.released} anonymous review(s) released, {t.discarded} deleted unread (group under "
            f"the threshold)" + (f", {t.unreadable} unreadable (SECRET_KEY changed?)" if t.unreadable else ""))


def _announce(cycle: ReviewCycle) -> None:
    """Tell each subject with an account that their report is ready (their own news)."""
    batch = outbox.Batch()
    rows = db.session.execute(
        select(Officer.id, Officer.first_name, Officer.last_name, User.email)
        .join(User, and_(User.officer_id == Officer.id, User.status == AccountStatus.ACTIVE))
        .where(Officer.id.in_(select(ReviewAssignment.subject_id).where(ReviewAssignment.cycle_id == cycle.id)))
    ).all()
    for officer_id, first, last, email in rows:
        batch.add("published", f"review-published:{cycle.id}:{officer_id}", lambda o=officer_id, n=f"{first} {last}",
                  e=email: dict(kind=REVIEW_PUBLISHED, recipient=e, subject="Beacon: your review report is ready",
                                body=outbox.render_email("review_published.txt", name=n, cycle=cycle, officer_id=o)))
    batch.flush()


def close_due(now=None) -> int:
    """Close every open cycle whose close date has passed (run by the reminder sweep,
    so a cycle closes even if nobody remembers to). Commits; returns how many."""
    day = today() if now is None else now.astimezone(zone()).date()
    due = list(db.session.scalars(select(ReviewCycle).where(ReviewCycle.status == CycleStatus.OPEN,
                                                            ReviewCycle.closes_on < day)))
    for cycle in due:
        cycle = lock_cycle(cycle.id)
        if cycle.status != CycleStatus.OPEN:
            db.session.commit()
            continue
        closed = _close(cycle)
        record(Actor.system("scheduler"), "cycle.close", target=f"cycle:{cycle.id}",
               detail=f"{cycle.name}: close date {cycle.closes_on} passed" + _close_summary(closed))
        db.session.commit()
    return len(due)
