"""Peer nominations: in a cycle that allows them, while it is a draft, an officer the
cycle reviews names up to `cycle.peers` peers they would like to be reviewed by; HR
approves (the nominee becomes a peer rater) or declines, and the officer sees which."""
import random
from dataclasses import dataclass

from sqlalchemy import func, select

from core import clock
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError, NotFound
from core.models import Officer, Role
from evaluations import rules
from evaluations.models import (
    CycleStatus,
    NominationStatus,
    PeerNomination,
    RaterGroup,
    ReviewAssignment,
    ReviewCycle,
)
from evaluations.services import cycles
from evaluations.services.common import get_cycle, officer_of

MAX_REASON = 300
# Which generated peer an approved nominee replaces when the subject already has
# cycle.peers peers: one chosen from another unit first, then one of the same unit.
REPLACEABLE = (rules.OTHER_UNIT_PEER, rules.SAME_UNIT_PEER)


@dataclass
class MyNominations:
    """What the officer's nomination page shows for one cycle."""
    cycle: ReviewCycle
    nominations: list            # PeerNomination, oldest first
    candidates: list             # Officer: whom they may still nominate (search results)
    left: int                    # how many more they may nominate
    is_open: bool                # the cycle still takes nominations


def _open(cycle: ReviewCycle) -> bool:
    return cycle.nominations and cycle.status == CycleStatus.DRAFT


def _counted(cycle_id: int, subject_id: int) -> int:
    """Nominations that use one of the subject's places: waiting or approved."""
    return db.session.scalar(select(func.count()).where(
        PeerNomination.cycle_id == cycle_id, PeerNomination.subject_id == subject_id,
        PeerNomination.status != NominationStatus.DECLINED))


def cycles_for(actor: Actor) -> list[tuple[ReviewCycle, list]]:
    """The officer's reviews page: cycles where they may nominate peers now (draft,
    nominations allowed, they are reviewed), and cycles not yet published where they
    have nominated, each with their nominations and HR's decisions."""
    me = officer_of(actor)
    if me is None:
        return []
    mine = {}
    for n in db.session.scalars(select(PeerNomination).join(ReviewCycle)
                                .where(PeerNomination.subject_id == me.id,
                                       ReviewCycle.status.in_([CycleStatus.DRAFT, CycleStatus.OPEN]))
                                .order_by(PeerNomination.id)):
        mine.setdefault(n.cycle_id, []).append(n)
    drafts = db.session.scalars(select(ReviewCycle).where(ReviewCycle.nominations,
                                                          ReviewCycle.status == CycleStatus.DRAFT))
    shown = {c.id: c for c in drafts if cycles.is_subject(c, me.id)}
    shown.update({c.id: c for c in db.session.scalars(select(ReviewCycle).where(ReviewCycle.id.in_(list(mine))))})
    return [(c, mine.get(c.id, [])) for c in sorted(shown.values(), key=lambda c: (c.opens_on, c.id))]


def my_cycle(actor: Actor, cycle_id: int) -> tuple[ReviewCycle, Officer]:
    """The cycle, for an officer it reviews in a cycle that takes nominations; anything
    else does not exist for them."""
    actor.require(Role.OFFICER)
    me = officer_of(actor)
    cycle = get_cycle(cycle_id)
    if me is None or not cycle.nominations or not cycles.is_subject(cycle, me.id):
        raise NotFound("No such review cycle.")
    return cycle, me


def my_page(actor: Actor, cycle_id: int, q: str = "") -> MyNominations:
    """An officer's nominations in one cycle and, while it takes them, the officers they
    may still nominate (same rank band, not in their chain of command, active with an
    account): their own unit's first; `q` finds others by name or badge."""
    cycle, me = my_cycle(actor, cycle_id)
    nominations = list(db.session.scalars(select(PeerNomination).where(
        PeerNomination.cycle_id == cycle.id, PeerNomination.subject_id == me.id).order_by(PeerNomination.id)))
    left = max(0, cycle.peers - sum(n.status != NominationStatus.DECLINED for n in nominations))
    candidates = []
    if _open(cycle) and left:
        candidates = cycles.peer_candidates(me, q=q, exclude=[n.nominee_id for n in nominations])
    return MyNominations(cycle, nominations, candidates, left, _open(cycle))


def nominate(actor: Actor, cycle_id: int, nominee_id: int) -> PeerNomination:
    """The officer nominates a peer for themselves (never for someone else): the cycle
    must allow nominations and be a draft, the nominee must be eligible, and they have
    at most cycle.peers places (declined nominations give theirs back). Commits."""
    cycle, me = my_cycle(actor, cycle_id)
    if not _open(cycle):
        raise DomainError("This cycle no longer takes nominations: it has opened.")
    nominee = db.session.get(Officer, nominee_id)
    if nominee is None:
        raise DomainError("That officer is not on the roster.")
    existing = db.session.scalar(select(PeerNomination).where(
        PeerNomination.cycle_id == cycle.id, PeerNomination.subject_id == me.id,
        PeerNomination.nominee_id == nominee.id))
    if existing is not None:
        raise DomainError(f"You have already nominated {nominee.full_name} in this cycle.")
    if _counted(cycle.id, me.id) >= cycle.peers:
        raise DomainError(f"You can nominate at most {cycle.peers} peer(s) in this cycle.")
    problem = cycles.peer_problem(me, nominee)
    if problem:
        raise DomainError(problem)
    nomination = PeerNomination(cycle_id=cycle.id, subject_id=me.id, nominee_id=nominee.id,
                                status=NominationStatus.PENDING, created_at=clock.now())
    db.session.add(nomination)
    db.session.flush()
    record(actor, "cycle.nomination.add", target=f"cycle:{cycle.id}",
           detail=f"{me.badge_number} nominates {nominee.badge_number} as a peer")
    db.session.commit()
    return nomination


def withdraw(actor: Actor, cycle_id: int, nomination_id: int) -> None:
    """The officer withdraws a nomination of theirs that HR has not decided. Commits."""
    cycle, me = my_cycle(actor, cycle_id)
    nomination = db.session.get(PeerNomination, nomination_id)
    if nomination is None or nomination.cycle_id != cycle.id or nomination.subject_id != me.id:
        raise NotFound("No such nomination.")
    if nomination.status != NominationStatus.PENDING:
        raise DomainError("HR has already decided on this nomination.")
    if not _open(cycle):
        raise DomainError("This cycle no longer takes nominations: it has opened.")
    record(actor, "cycle.nomination.withdraw", target=f"cycle:{cycle.id}",
           detail=f"{me.badge_number} withdraws the nomination of {nomination.nominee.badge_number}")
    db.session.delete(nomination)
    db.session.commit()


@dataclass
class CycleNominations:
    shown: list          # PeerNomination: those waiting first, then the latest decided; at most SHOWN
    counts: dict         # status value -> how many

    @property
    def total(self) -> int:
        return sum(self.counts.values())


SHOWN = 100


def for_cycle(actor: Actor, cycle_id: int) -> CycleNominations:
    """HR's cycle page: how many nominations wait, were approved, declined, and the
    first SHOWN of them, those waiting first (two queries, whatever the number)."""
    cycles.cycle_for_hr(actor, cycle_id)
    counts = {status.value: count for status, count in db.session.execute(
        select(PeerNomination.status, func.count()).where(PeerNomination.cycle_id == cycle_id)
        .group_by(PeerNomination.status))}
    shown = list(db.session.scalars(select(PeerNomination).where(PeerNomination.cycle_id == cycle_id).order_by(
        PeerNomination.status != NominationStatus.PENDING, PeerNomination.decided_at.desc(), PeerNomination.id)
        .limit(SHOWN)))
    return CycleNominations(shown, counts)


def _pending(actor: Actor, cycle_id: int, nomination_id: int) -> tuple[ReviewCycle, PeerNomination]:
    cycle = cycles.cycle_for_hr(actor, cycle_id)
    nomination = db.session.get(PeerNomination, nomination_id)
    if nomination is None or nomination.cycle_id != cycle.id:
        raise NotFound("No such nomination.")
    if nomination.status != NominationStatus.PENDING:
        raise DomainError("This nomination has already been decided.")
    if cycle.status != CycleStatus.DRAFT:
        raise DomainError("Nominations can be decided only while the cycle is a draft.")
    return cycle, nomination


def approve(actor: Actor, cycle_id: int, nomination_id: int) -> str:
    """HR approves a nomination: the nominee (still eligible) becomes a peer rater of the
    subject. When the assignments are generated and the subject already has
    cycle.peers peers, the nominee replaces a generated peer (one from another unit
    first, else one of the same unit, at random); a later regeneration keeps approved
    nominees. Returns what happened, for HR. Commits."""
    cycle, nomination = _pending(actor, cycle_id, nomination_id)
    subject, nominee = nomination.subject, nomination.nominee
    problem = cycles.peer_problem(subject, nominee)
    if problem:
        raise DomainError(problem + " Decline the nomination instead.")
    outcome = f"Approved: {nominee.full_name} will review {subject.full_name} as a peer."
    detail = f"{nominee.badge_number} reviews {subject.badge_number} as a peer"
    assigned = list(db.session.scalars(select(ReviewAssignment).where(
        ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id == subject.id)))
    if assigned:
        already = next((a for a in assigned if a.rater_id == nominee.id), None)
        if already is not None and already.group != RaterGroup.PEER:
            raise DomainError(f"{nominee.full_name} already reviews {subject.full_name} as "
                              f"{already.group.value.replace('_', ' ')}.")
        if already is not None:
            already.reason = rules.NOMINATED
        else:
            peers = [a for a in assigned if a.group == RaterGroup.PEER]
            if len(peers) >= cycle.peers:
                replaced = _to_replace(peers)
                if replaced is not None:
                    outcome += f" {replaced.rater.full_name} no longer does."
                    detail += f", in place of {replaced.rater.badge_number}"
                    db.session.delete(replaced)
                    db.session.flush()
            db.session.add(ReviewAssignment(cycle_id=cycle.id, subject_id=subject.id, rater_id=nominee.id,
                                            group=RaterGroup.PEER, reason=rules.NOMINATED))
    nomination.status, nomination.decided_at, nomination.decided_by_id = (
        NominationStatus.APPROVED, clock.now(), actor.user_id)
    record(actor, "cycle.nomination.approve", target=f"cycle:{cycle.id}", detail=detail)
    db.session.commit()
    return outcome


def _to_replace(peers: list[ReviewAssignment]) -> ReviewAssignment | None:
    for reason in REPLACEABLE:
        generated = sorted((a for a in peers if a.reason == reason), key=lambda a: a.id)
        if generated:
            return random.SystemRandom().choice(generated)
    return None


def decline(actor: Actor, cycle_id: int, nomination_id: int, reason: str = "") -> PeerNomination:
    """HR declines a nomination, with a reason the officer sees (optional). The
    officer's place is given back. Commits."""
    cycle, nomination = _pending(actor, cycle_id, nomination_id)
    reason = (reason or "").strip()[:MAX_REASON]
    nomination.status, nomination.note = NominationStatus.DECLINED, reason
    nomination.decided_at, nomination.decided_by_id = clock.now(), actor.user_id
    record(actor, "cycle.nomination.decline", target=f"cycle:{cycle.id}",
           detail=f"{nomination.nominee.badge_number} for {nomination.subject.badge_number}"
                  + (f": {reason}" if reason else ""))
    db.session.commit()
    return nomination
