"""Review cycles: HR creates one, generates and adjusts its assignments while it is a
draft, then opens, closes and publishes it."""
from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import and_, case, delete, exists, func, insert, literal, or_, select
from sqlalchemy.orm import aliased

from core import clock
from core.audit import Actor, record
from core.db import db
from core.department import today, zone
from core.errors import DomainError, NotFound
from core.models import AccountStatus, Officer, OfficerStatus, Role, SupervisorSpell, User
from core.pagination import Page, paginate
from core.services import outbox
from evaluations import rules
from evaluations.models import (
    AssignmentStatus,
    CycleStatus,
    Criterion,
    HeldReview,
    NominationStatus,
    PeerNomination,
    RaterGroup,
    ReviewAssignment,
    ReviewCycle,
    ReviewCycleUnit,
)
from evaluations.services import pools, results, reviews
from evaluations.services.common import get_cycle
from evaluations.services.reviews import lock_cycle, release

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
                 unit_ids: list[int], peers: int, threshold: int, anonymous_peers: bool, nominations: bool = False,
                 supervisor_share: int = 25) -> ReviewCycle:
    """HR creates a draft cycle. `nominations`: officers may nominate peers while it is
    a draft; `supervisor_share`: who supervised a subject for at least this % of the
    review period is a supervisor rater. Commits."""
    actor.require(Role.HR)
    name = name.strip()
    _check_dates(opens_on, closes_on)
    if closes_on < today():
        raise DomainError("The close date has already passed.")
    if not all_units and not unit_ids:
        raise DomainError("Choose the units whose officers are reviewed, or all active officers.")
    if threshold < 2:
        raise DomainError("The anonymity threshold must be at least 2.")
    if not 1 <= supervisor_share <= 100:
        raise DomainError("The supervisor share must be from 1 to 100 per cent.")
    if db.session.scalar(select(exists().where(func.lower(ReviewCycle.name) == name.lower()))):
        raise DomainError(f"A cycle named {name!r} already exists.")
    cycle = ReviewCycle(name=name, rubric_id=rubric_id, opens_on=opens_on, closes_on=closes_on, all_units=all_units,
                        peers=peers, threshold=threshold, anonymous_peers=anonymous_peers, status=CycleStatus.DRAFT,
                        nominations=nominations, supervisor_share=supervisor_share, created_at=clock.now())
    db.session.add(cycle)
    db.session.flush()
    if not all_units:
        db.session.add_all(ReviewCycleUnit(cycle_id=cycle.id, unit_id=u) for u in sorted(set(unit_ids)))
    record(actor, "cycle.create", target=f"cycle:{cycle.id}",
           detail=f"{name}; {opens_on} to {closes_on}; peers {peers}; threshold {threshold}"
                  + ("; anonymous peers" if anonymous_peers else "") + ("; nominations" if nominations else "")
                  + f"; supervisor share {supervisor_share}%")
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


def is_subject(cycle: ReviewCycle, officer_id: int) -> bool:
    """Whether the officer is one of those the cycle reviews (active, in its units)."""
    query = select(Officer.id).where(Officer.id == officer_id, Officer.status == OfficerStatus.ACTIVE)
    if not cycle.all_units:
        query = query.where(Officer.unit_id.in_(select(ReviewCycleUnit.unit_id)
                                                .where(ReviewCycleUnit.cycle_id == cycle.id)))
    return db.session.scalar(query) is not None


def _raters() -> set[int]:
    """Officers who can sign in to write a review: active, with an active account."""
    return set(db.session.scalars(
        select(Officer.id).join(User, User.officer_id == Officer.id)
        .where(Officer.status == OfficerStatus.ACTIVE, User.status == AccountStatus.ACTIVE)))


def can_rate(officer_id: int) -> bool:
    """`_raters` for one officer."""
    return db.session.scalar(select(Officer.id).join(User, User.officer_id == Officer.id).where(
        Officer.id == officer_id, Officer.status == OfficerStatus.ACTIVE,
        User.status == AccountStatus.ACTIVE)) is not None


def rank_bands() -> dict[str, int]:
    return current_app.config["RANK_BANDS"]


def member(officer: Officer) -> rules.Member:
    return rules.Member(officer.id, officer.unit_id, officer.supervisor_id, True, officer.rank)


def above(officer_id: int) -> list[int]:
    """The officer's chain of command on the current roster: supervisor first, in one query."""
    up = (select(Officer.supervisor_id.label("id"), literal(1).label("depth"))
          .where(Officer.id == officer_id, Officer.supervisor_id.is_not(None)).cte("up", recursive=True))
    boss = aliased(Officer)
    up = up.union_all(select(boss.supervisor_id, up.c.depth + 1).join(up, boss.id == up.c.id)
                      .where(boss.supervisor_id.is_not(None), up.c.depth < 50))
    return list(dict.fromkeys(db.session.scalars(select(up.c.id).order_by(up.c.depth))))


def _below(officer_id: int):
    """A query of everyone who reports to the officer, directly or through others."""
    down = (select(Officer.id.label("id"), literal(1).label("depth"))
            .where(Officer.supervisor_id == officer_id).cte("down", recursive=True))
    child = aliased(Officer)
    down = down.union_all(select(child.id, down.c.depth + 1).join(down, child.supervisor_id == down.c.id)
                          .where(down.c.depth < 50))
    return select(down.c.id)


def peer_problem(subject: Officer, rater: Officer) -> str | None:
    """Why `rater` cannot be a peer of `subject` now (rules.peer_problem, then an
    account to write with), or None."""
    problem = rules.peer_problem(member(subject), member(rater), above(subject.id), above(rater.id), rank_bands())
    if problem is None and not can_rate(rater.id):
        problem = "{rater} has no active account, so could not write the review."
    return problem.format(rater=rater.full_name, subject=subject.full_name) if problem else None


def peer_candidates(subject: Officer, *, q: str = "", exclude=(), limit: int = 25) -> list[Officer]:
    """Officers who may be the subject's peer (same rank band, neither above nor below
    them, active with an account), those of the subject's unit first, then by name;
    `q` narrows by name or badge. A few queries whatever the size of the roster."""
    bands = rank_bands()
    band = rules.rank_band(subject.rank, bands)
    ranks = [r for r in db.session.scalars(select(Officer.rank).distinct()) if rules.rank_band(r, bands) == band]
    query = (select(Officer).join(User, User.officer_id == Officer.id)
             .where(Officer.status == OfficerStatus.ACTIVE, User.status == AccountStatus.ACTIVE,
                    Officer.rank.in_(ranks), Officer.id.not_in([subject.id, *above(subject.id), *exclude]),
                    Officer.id.not_in(_below(subject.id))))
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Officer.first_name + literal(" ") + Officer.last_name).like(like),
                                func.lower(Officer.last_name).like(like), Officer.badge_number == q.strip()))
    return list(db.session.scalars(query.order_by(case((Officer.unit_id == subject.unit_id, 0), else_=1),
                                                  Officer.last_name, Officer.first_name, Officer.id).limit(limit)))


def review_period(cycle: ReviewCycle) -> tuple[date, date]:
    """The period whose supervisors count: the year before the cycle opens, to its close."""
    start = cycle.opens_on
    try:
        start = start.replace(year=start.year - 1)
    except ValueError:   # 29 February
        start = start.replace(year=start.year - 1, day=28)
    return start, cycle.closes_on


def _past_supervisors(cycle: ReviewCycle) -> dict[int, dict[int, float]]:
    start, end = review_period(cycle)
    spells = db.session.execute(
        select(SupervisorSpell.officer_id, SupervisorSpell.supervisor_id, SupervisorSpell.started_on,
               SupervisorSpell.ended_on)
        .where(or_(SupervisorSpell.started_on.is_(None), SupervisorSpell.started_on <= end),
               or_(SupervisorSpell.ended_on.is_(None), SupervisorSpell.ended_on > start)))
    return rules.supervision_shares((rules.Spell(*row) for row in spells), start, end)


def approved_nominations(cycle_id: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for subject_id, nominee_id in db.session.execute(
            select(PeerNomination.subject_id, PeerNomination.nominee_id)
            .where(PeerNomination.cycle_id == cycle_id, PeerNomination.status == NominationStatus.APPROVED)
            .order_by(PeerNomination.id)):
        out.setdefault(subject_id, []).append(nominee_id)
    return out


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
    """HR (re)builds the draft cycle's assignments from the roster (rules.assign): the
    supervisors from the roster's history, peers by rank band and chain of command, the
    peers HR approved from the subjects' nominations. Each assignment says why it was
    made. Returns counts by group. Commits."""
    cycle = cycle_for_hr(actor, cycle_id)
    _require_draft(cycle)
    planned = _plan(cycle, seed)
    db.session.execute(delete(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id))
    rows = [dict(cycle_id=cycle.id, subject_id=a.subject_id, rater_id=a.rater_id, rater_group=RaterGroup(a.group),
                 status=AssignmentStatus.PENDING, reason=a.reason) for a in planned]
    for start in range(0, len(rows), 5000):   # into the table: no ORM bulk bookkeeping for each row
        db.session.execute(insert(ReviewAssignment.__table__), rows[start:start + 5000])
    counts = Counter(a.group for a in planned)
    record(actor, "cycle.assignments.generate", target=f"cycle:{cycle.id}",
           detail=f"{len(planned)} assignment(s): " + ", ".join(f"{g} {n}" for g, n in sorted(counts.items())))
    db.session.commit()
    return counts


def _plan(cycle: ReviewCycle, seed: int | None = None) -> list:
    """The assignments `generate` would make now (rules.assign on the roster), writing nothing."""
    raters = _raters()
    roster = {oid: rules.Member(oid, unit, boss, oid in raters, rank) for oid, unit, boss, rank in db.session.execute(
        select(Officer.id, Officer.unit_id, Officer.supervisor_id, Officer.rank))}
    return [a for a in rules.assign(subject_ids(cycle), roster, peers=cycle.peers,
                                    last_cycle_peers=_last_peers(cycle), seed=seed, bands=rank_bands(),
                                    past_supervisors=_past_supervisors(cycle),
                                    supervisor_share=cycle.supervisor_share,
                                    nominated=approved_nominations(cycle.id))
            if a.rater_id in raters]


@dataclass(frozen=True)
class GenerateForecast:
    """What (re)generating a draft cycle's assignments would do, counted without changing
    anything: the assignments it removes (those HR added or swapped in by hand among
    them, and any review already started, which a draft cycle cannot have) and those it
    makes, by group."""
    removed: Counter
    by_hand: int
    started: int
    added: Counter
    subjects: int

    @property
    def removed_total(self) -> int:
        return sum(self.removed.values())

    @property
    def added_total(self) -> int:
        return sum(self.added.values())


def generate_forecast(actor: Actor, cycle_id: int) -> GenerateForecast:
    """The dry run of `generate` for its confirmation page. Writes nothing."""
    cycle = cycle_for_hr(actor, cycle_id)
    _require_draft(cycle)
    removed = Counter({group.value: n for group, n in db.session.execute(
        select(ReviewAssignment.group, func.count()).where(ReviewAssignment.cycle_id == cycle.id)
        .group_by(ReviewAssignment.group))})
    by_hand = db.session.scalar(select(func.count()).select_from(ReviewAssignment).where(
        ReviewAssignment.cycle_id == cycle.id,
        or_(ReviewAssignment.reason == rules.ADDED_BY_HR, ReviewAssignment.reason.like("swapped in by HR%"))))
    started = db.session.scalar(select(func.count()).select_from(ReviewAssignment).where(
        ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.status != AssignmentStatus.PENDING))
    planned = _plan(cycle)
    return GenerateForecast(removed=removed, by_hand=by_hand, started=started,
                            added=Counter(a.group for a in planned), subjects=len({a.subject_id for a in planned}))


def add_assignment(actor: Actor, cycle_id: int, subject_badge: str, rater_badge: str, group: str) -> ReviewAssignment:
    """HR adds one rater by hand to a draft or open cycle (while it is open, to give a
    group under the anonymity threshold more raters), within the rules of
    rules.rater_problem (someone above the subject only as a supervisor, peers from the
    same rank band...). Commits."""
    cycle_for_hr(actor, cycle_id)
    cycle = lock_cycle(cycle_id)   # not racing the close
    if cycle.status not in (CycleStatus.DRAFT, CycleStatus.OPEN):
        raise DomainError("Raters can be added only while the cycle is a draft or open.")
    subject = db.session.scalar(select(Officer).where(Officer.badge_number == subject_badge.strip()))
    rater = db.session.scalar(select(Officer).where(Officer.badge_number == rater_badge.strip()))
    if subject is None or rater is None:
        raise DomainError("Both badge numbers must be on the roster.")
    group = RaterGroup(group)
    problem = rules.rater_problem(group.value, member(subject), member(rater), above(subject.id), above(rater.id),
                                  rank_bands())
    if problem:
        raise DomainError(problem.format(rater=rater.full_name, subject=subject.full_name))
    if not can_rate(rater.id):
        raise DomainError(f"{rater.full_name} has no active account, so could not write the review.")
    if db.session.scalar(select(exists().where(ReviewAssignment.cycle_id == cycle.id,
                                               ReviewAssignment.subject_id == subject.id,
                                               ReviewAssignment.rater_id == rater.id))):
        raise DomainError(f"{rater.full_name} already reviews {subject.full_name} in this cycle.")
    assignment = ReviewAssignment(cycle_id=cycle.id, subject_id=subject.id, rater_id=rater.id, group=group,
                                  status=AssignmentStatus.PENDING, reason=rules.ADDED_BY_HR)
    db.session.add(assignment)
    db.session.flush()
    record(actor, "cycle.assignments.add", target=f"cycle:{cycle.id}",
           detail=f"{rater.badge_number} reviews {subject.badge_number} as {group.value}"
                  + (" (added while the cycle is open)" if cycle.status == CycleStatus.OPEN else ""))
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


def _peer_assignment(cycle: ReviewCycle, assignment_id: int) -> ReviewAssignment:
    assignment = db.session.get(ReviewAssignment, assignment_id)
    if assignment is None or assignment.cycle_id != cycle.id:
        raise NotFound("No such assignment.")
    if assignment.group != RaterGroup.PEER:
        raise DomainError("Only a peer can be swapped.")
    return assignment


def swap_choices(actor: Actor, cycle_id: int, assignment_id: int, q: str = "") -> tuple[ReviewAssignment, list]:
    """HR: a peer assignment of the cycle and the officers who could take its place
    (peer_candidates, minus whoever already reviews the subject)."""
    cycle = cycle_for_hr(actor, cycle_id)
    assignment = _peer_assignment(cycle, assignment_id)
    taken = db.session.scalars(select(ReviewAssignment.rater_id).where(
        ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id == assignment.subject_id)).all()
    return assignment, peer_candidates(assignment.subject, q=q, exclude=taken)


def swap_peer(actor: Actor, cycle_id: int, assignment_id: int, rater_id: int) -> ReviewAssignment:
    """HR puts another eligible peer in place of a peer of a draft cycle; the
    assignment's reason names whom they replace. Commits."""
    cycle = cycle_for_hr(actor, cycle_id)
    _require_draft(cycle)
    assignment = _peer_assignment(cycle, assignment_id)
    rater = db.session.get(Officer, rater_id)
    if rater is None:
        raise DomainError("That officer is not on the roster.")
    subject, old = assignment.subject, assignment.rater
    problem = peer_problem(subject, rater)
    if problem:
        raise DomainError(problem)
    if db.session.scalar(select(exists().where(ReviewAssignment.cycle_id == cycle.id,
                                               ReviewAssignment.subject_id == subject.id,
                                               ReviewAssignment.rater_id == rater.id))):
        raise DomainError(f"{rater.full_name} already reviews {subject.full_name} in this cycle.")
    assignment.rater_id = rater.id
    assignment.reason = f"swapped in by HR for {old.full_name} (#{old.badge_number})"[:200]
    record(actor, "cycle.assignments.swap", target=f"cycle:{cycle.id}",
           detail=f"{rater.badge_number} reviews {subject.badge_number} as peer in place of {old.badge_number}")
    db.session.commit()
    return assignment


@dataclass(frozen=True)
class AssignmentLine:
    id: int
    subject: str
    rater: str
    group: str
    status: str | None   # None for anonymous groups: HR sees their counts only
    reason: str = ""


def assignments_page(actor: Actor, cycle_id: int, *, q: str = "", group: str | None = None,
                     page: int = 1, per_page: int = 50) -> Page:
    cycle = cycle_for_hr(actor, cycle_id)
    subject, rater = aliased(Officer), aliased(Officer)
    query = (select(ReviewAssignment.id, subject.last_name, subject.first_name, subject.badge_number,
                    rater.last_name, rater.first_name, rater.badge_number, ReviewAssignment.group,
                    ReviewAssignment.status, ReviewAssignment.reason)
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
        aid, sl, sf, sb, rl, rf, rb, g, s, reason = row
        return AssignmentLine(aid, f"{sl}, {sf} (#{sb})", f"{rl}, {rf} (#{rb})", g.value,
                              None if cycle.is_anonymous(g) else s.value, reason)
    return paginate(query, page, per_page, rows=True).map(line)


def progress(cycle_id: int) -> list[Progress]:
    rows = db.session.execute(
        select(ReviewAssignment.group, func.count(),
               func.count().filter(ReviewAssignment.status == AssignmentStatus.SUBMITTED))
        .where(ReviewAssignment.cycle_id == cycle_id).group_by(ReviewAssignment.group)).all()
    found = {g.value: (t, s) for g, t, s in rows}
    return [Progress(g.value, *found.get(g.value, (0, 0))) for g in RaterGroup]


# --- the cycle's life -------------------------------------------------------------------------

def move(actor: Actor, cycle_id: int, step: str, *, period: str | None = None) -> ReviewCycle:
    """HR opens, closes or publishes a cycle (`step`); the cycle refuses a move that
    makes no sense now (ReviewCycle.open/close/publish). Closing or publishing may set
    the metrics period the results use (`period`, a choice of results.period_choices);
    publishing fixes the results (results.publish). Commits."""
    cycle_for_hr(actor, cycle_id)
    cycle = lock_cycle(cycle_id)
    try:
        detail = _move(actor, cycle, step, period)
    except DomainError:
        db.session.rollback()   # nothing half-done stays in the session
        raise
    record(actor, f"cycle.{step}", target=f"cycle:{cycle.id}", detail=detail)
    db.session.commit()
    if step == "close":
        reviews.vacuum_held()   # the held rows the close released, pooled or deleted
    return cycle


def _move(actor: Actor, cycle: ReviewCycle, step: str, period: str | None) -> str:
    detail = cycle.name
    if step == "open":
        cycle.open(clock.now(), today=today(),
                   assignments=db.session.scalar(select(func.count()).where(ReviewAssignment.cycle_id == cycle.id)),
                   criteria=db.session.scalar(select(func.count()).where(Criterion.rubric_id == cycle.rubric_id)))
    elif step == "close":
        if cycle.status != CycleStatus.OPEN:
            raise DomainError("Only an open cycle can be closed.")
        if period:
            results.choose_period(actor, cycle, period)
        detail += _close_summary(_close(cycle))
    elif step == "publish":
        if period:
            results.choose_period(actor, cycle, period)
        cycle.publish(clock.now())
        version = results.publish(actor, cycle)
        detail += f"; results fixed as version {version.number} (metrics " \
                  f"{results.period_label(cycle.metrics_start, cycle.metrics_end)})"
        _announce(cycle)
    else:
        raise DomainError("Unknown step.")
    return detail


def set_metrics_period(actor: Actor, cycle_id: int, period: str) -> ReviewCycle:
    """HR chooses the community-metrics period of a cycle not yet published. Commits."""
    cycle_for_hr(actor, cycle_id)
    cycle = lock_cycle(cycle_id)
    results.choose_period(actor, cycle, period)
    db.session.commit()
    return cycle


@dataclass
class Closed:
    released: int = 0
    pooled: int = 0
    discarded: int = 0
    unreadable: int = 0


def _close(cycle: ReviewCycle) -> Closed:
    """Held reviews of a group with at least the threshold go into the results
    (shuffled, together). Upward groups under the threshold, none of whose reviews were
    released, are pooled by unit (evaluations.services.pools); what still cannot be shown
    is deleted unread. The cycle keeps the counts. Reminders not yet sent are dropped."""
    cycle.close(clock.now())
    db.session.flush()  # release() reloads the cycle (locked): it must see it closed
    totals = Closed()
    small = set(pools.small_upward_groups(cycle))
    for subject_id, group in db.session.execute(select(HeldReview.subject_id, HeldReview.group).distinct()
                                                .where(HeldReview.cycle_id == cycle.id)).all():
        if group == RaterGroup.DIRECT_REPORT and subject_id in small:
            continue
        outcome = release(cycle.id, subject_id, group, closing=True)
        totals.released += outcome.released
        totals.discarded += outcome.discarded
        totals.unreadable += outcome.unreadable
    pooled = pools.pool_at_close(cycle, sorted(small))
    totals.discarded += pooled.discarded
    totals.unreadable += pooled.unreadable
    totals.pooled = pooled.pooled
    cycle.pooled_count, cycle.discarded_count = pooled.pooled, totals.discarded
    outbox.drop_pending(f"review:{cycle.id}:")
    return totals


def _close_summary(t: Closed) -> str:
    return (f"; at the close {t.released} anonymous review(s) released, {t.pooled} pooled into unit results, "
            f"{t.discarded} deleted unread (too few to show, even pooled)"
            + (f", {t.unreadable} unreadable (seal key changed?)" if t.unreadable else ""))


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
    if due:
        reviews.vacuum_held()
    return len(due)
