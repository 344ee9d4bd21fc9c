"""Small teams heard without being exposed.

An upward group (a supervisor's direct reports) that never reached the cycle's
threshold shows nothing on its own. At the close, such groups of one unit are pooled:
if together they hold at least the threshold, their reviews go, shuffled and with no
subject, into the unit's "supervisors of this unit" result (`PooledReview`); only what
still cannot be shown is discarded. Only groups shown nowhere else go in, so nothing
can be found by subtracting one published figure from another. Neither the pool nor
the cycle records which supervisors' groups went in; the cycle keeps the counts.

Before the close, HR sees which anonymous groups are still under the threshold (by
subject and group, never by rater) and can move the close date or add raters.
"""
import logging
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, select

from core.audit import Actor, record
from core.db import db
from core.errors import NotFound
from core.models import Officer, Role, Unit
from evaluations import rules, seal
from evaluations.models import (
    AnonymousReview,
    AssignmentStatus,
    CycleStatus,
    HeldReview,
    PooledReview,
    RaterGroup,
    ReviewAssignment,
    ReviewCycle,
)
from evaluations.services.common import get_cycle, officer_of, seed_of
from evaluations.services.rubrics import competencies

log = logging.getLogger(__name__)
UPWARD = RaterGroup.DIRECT_REPORT
MIN_GROUP = 2   # a group of one review is never pooled: its scores and words are its rater's alone



@dataclass(frozen=True)
class SmallGroup:
    subject_id: int
    subject: str
    unit: str
    group: str
    assigned: int


def under_threshold(cycle: ReviewCycle) -> list[SmallGroup]:
    """Anonymous groups of an open cycle with fewer submitted reviews than the threshold
    (by subject and group; how many have submitted is not shown, only that it is fewer)."""
    groups = [g for g in RaterGroup if cycle.is_anonymous(g.value)]
    rows = db.session.execute(
        select(ReviewAssignment.subject_id, Officer.last_name, Officer.first_name, Officer.badge_number, Unit.name,
               ReviewAssignment.group, func.count(),
               func.count().filter(ReviewAssignment.status == AssignmentStatus.SUBMITTED))
        .join(Officer, Officer.id == ReviewAssignment.subject_id).join(Unit, Unit.id == Officer.unit_id)
        .where(ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.group.in_(groups))
        .group_by(ReviewAssignment.subject_id, Officer.last_name, Officer.first_name, Officer.badge_number,
                  Unit.name, ReviewAssignment.group)
        .order_by(Unit.name, Officer.last_name, Officer.first_name, ReviewAssignment.group)).all()
    return [SmallGroup(sid, f"{last}, {first} (#{badge})", unit, group.value, assigned)
            for sid, last, first, badge, unit, group, assigned, submitted in rows if submitted < cycle.threshold]


@dataclass
class Pooled:
    pooled: int = 0
    discarded: int = 0
    unreadable: int = 0


def pool_at_close(cycle: ReviewCycle, subject_ids: list[int]) -> Pooled:
    """Pool the held upward reviews of `subject_ids` (groups under the threshold, none of
    them released) by the subjects' units. The caller holds the cycle's lock and commits."""
    outcome = Pooled()
    if not subject_ids:
        return outcome
    by_unit: dict[int, list[int]] = {}
    for officer_id, unit_id in db.session.execute(select(Officer.id, Officer.unit_id)
                                                  .where(Officer.id.in_(subject_ids))):
        by_unit.setdefault(unit_id, []).append(officer_id)
    for unit_id, members in sorted(by_unit.items()):
        held = list(db.session.scalars(select(HeldReview).where(
            HeldReview.cycle_id == cycle.id, HeldReview.group == UPWARD, HeldReview.subject_id.in_(members))))
        sizes: dict[int, int] = {}
        for item in held:
            sizes[item.subject_id] = sizes.get(item.subject_id, 0) + 1
        lone = [item for item in held if sizes[item.subject_id] < MIN_GROUP]
        if lone:   # one review about one supervisor is its rater's alone, pooled or not
            db.session.execute(delete(HeldReview).where(HeldReview.id.in_([h.id for h in lone])))
            outcome.discarded += len(lone)
        rows, done = [], []
        for item in held:
            if sizes[item.subject_id] < MIN_GROUP:
                continue
            try:
                content = seal.unseal(item.sealed, f"held:{cycle.id}:{item.subject_id}:{UPWARD.value}")
            except seal.Unreadable:
                outcome.unreadable += 1
                continue
            scores = {str(k): int(v) for k, v in content["scores"].items()}
            rows.append(dict(id=uuid.uuid4(), cycle_id=cycle.id, unit_id=unit_id, scores=scores,
                             comment=content["comment"], score_total=sum(scores.values()), score_count=len(scores)))
            done.append(item.id)
        if rules.ready_to_release(len(rows), cycle.threshold):
            secrets.SystemRandom().shuffle(rows)
            db.session.execute(insert(PooledReview), rows)
            outcome.pooled += len(rows)
        else:
            outcome.discarded += len(rows)
        if done:
            db.session.execute(delete(HeldReview).where(HeldReview.id.in_(done)))
    if outcome.unreadable:
        log.error("%d held upward review(s) of cycle %s could not be unsealed (the seal key changed?); they stay "
                  "held", outcome.unreadable, cycle.id)
    return outcome


def small_upward_groups(cycle: ReviewCycle) -> list[int]:
    """Subjects whose held upward reviews are under the threshold and none of whose
    upward reviews were released: the groups that may be pooled."""
    released = select(AnonymousReview.subject_id).where(AnonymousReview.cycle_id == cycle.id,
                                                       AnonymousReview.group == UPWARD)
    return [sid for sid, n in db.session.execute(
        select(HeldReview.subject_id, func.count()).where(
            HeldReview.cycle_id == cycle.id, HeldReview.group == UPWARD, HeldReview.subject_id.not_in(released))
        .group_by(HeldReview.subject_id)) if not rules.ready_to_release(n, cycle.threshold)]


# --- reading a unit's pooled result --------------------------------------------------------------

@dataclass
class UnitPool:
    cycle: ReviewCycle
    unit: Unit
    result: rules.GroupResult
    sections: list          # [(competency, [(criterion text, mean)])]
    comments_shown: bool = True   # HR only: a supervisor sees the scores


def pooled_units(cycle_id: int) -> list[tuple[int, str, int]]:
    """(unit id, unit name, reviews) of the cycle's pools."""
    return db.session.execute(
        select(Unit.id, Unit.name, func.count()).join(PooledReview, PooledReview.unit_id == Unit.id)
        .where(PooledReview.cycle_id == cycle_id).group_by(Unit.id, Unit.name).order_by(Unit.name)).all()


def may_see_pool(actor: Actor, cycle: ReviewCycle, unit_id: int) -> bool:
    """HR, and supervisors of the unit who were reviewed by their direct reports in the cycle."""
    if actor.has_role(Role.HR):
        return True
    me = officer_of(actor)
    return me is not None and me.unit_id == unit_id and bool(db.session.scalar(select(func.count()).where(
        ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id == me.id,
        ReviewAssignment.group == UPWARD)))


def unit_pool(actor: Actor, cycle_id: int, unit_id: int) -> UnitPool:
    cycle = get_cycle(cycle_id)
    unit = db.session.get(Unit, unit_id)
    if unit is None or cycle.status not in (CycleStatus.CLOSED, CycleStatus.PUBLISHED) \
            or not may_see_pool(actor, cycle, unit_id):
        raise NotFound("No such result.")
    reviews, comments = [], []
    for scores, comment in db.session.execute(select(PooledReview.scores, PooledReview.comment).where(
            and_(PooledReview.cycle_id == cycle.id, PooledReview.unit_id == unit_id))):
        reviews.append(scores)
        if comment:
            comments.append(comment)
    if not reviews:   # (HR, or a supervisor of the unit: nothing was pooled there)
        result = rules.GroupResult(UPWARD.value, 0, False, {}, ())
        return UnitPool(cycle, unit, result, [])
    result = rules.group_result(UPWARD.value, reviews, comments, anonymous=True, threshold=cycle.threshold,
                                seed=seed_of("pool", cycle.id, unit_id))
    sections = [(competency, [(c.text, result.means.get(str(c.id))) for c in criteria])
                for competency, criteria in competencies(cycle.rubric, UPWARD.value)]
    # Comments go to HR only: written about one supervisor of a small team, a comment can
    # name them, and then whoever else went into the pool can tell it from the rest.
    hr = actor.has_role(Role.HR)
    if not hr:
        result = rules.GroupResult(result.group, result.responses, result.shown, result.means, ())
    record(actor, "review.pool.view", target=f"cycle:{cycle.id}:unit:{unit_id}",
           detail=f"pooled upward feedback of the supervisors of {unit.name}")
    db.session.commit()
    return UnitPool(cycle, unit, result, sections, comments_shown=hr)


def pool_for(actor: Actor, cycle: ReviewCycle, officer: Officer) -> tuple[int, str, int] | None:
    """The pool of the officer's unit in this cycle, if there is one (for the upward page)."""
    for unit_id, name, n in pooled_units(cycle.id):
        if unit_id == officer.unit_id:
            return unit_id, name, n
    return None


@dataclass
class Forecast:
    released: int = 0
    pooled: int = 0
    pooled_units: int = 0
    discarded: int = 0


def forecast(cycle: ReviewCycle) -> Forecast:
    """What closing now would do with the held reviews, in counts (for the confirmation)."""
    out = Forecast()
    small = set(small_upward_groups(cycle))
    by_unit: dict[int, int] = {}
    units = dict(db.session.execute(select(Officer.id, Officer.unit_id).where(Officer.id.in_(small))).all()) \
        if small else {}
    for subject_id, group, n in db.session.execute(
            select(HeldReview.subject_id, HeldReview.group, func.count()).where(HeldReview.cycle_id == cycle.id)
            .group_by(HeldReview.subject_id, HeldReview.group)):
        if group == UPWARD and subject_id in small and n < MIN_GROUP:
            out.discarded += n
        elif group == UPWARD and subject_id in small:
            by_unit[units[subject_id]] = by_unit.get(units[subject_id], 0) + n
        elif rules.ready_to_release(n, cycle.threshold):
            out.released += n
        else:
            out.discarded += n
    for n in by_unit.values():
        if rules.ready_to_release(n, cycle.threshold):
            out.pooled += n
            out.pooled_units += 1
        else:
            out.discarded += n
    return out
