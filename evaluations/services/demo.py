"""Demo data for reviews: every officer gets an account (the demo password), a published
cycle with reviews from every group, community metrics for two periods, a few logged
activities, and an open cycle where the demo officer has reviews to do, one upward
review of their sergeant already sealed and waiting under the threshold."""
import random
import uuid
from datetime import timedelta

from sqlalchemy import insert, select, update

from core import clock
from core.audit import Actor
from core.db import db
from core.department import today
from core.models import AccountStatus, Officer, OfficerStatus, Role, User, UserRole
from core.passwords import hash_password
from core.services.demo import DEMO_PASSWORD
from evaluations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    AnonymousReview,
    AssignmentStatus,
    RaterGroup,
    Review,
    ReviewAssignment,
    ReviewCycle,
    Rubric,
)
from evaluations.services import cycles, metrics, nominations, reviews

COMMENTS = {
    "self": ["I want to spend more time at the neighbourhood association meetings.",
             "My reports have improved; I still rush them at the end of a long shift."],
    "supervisor": ["Reliable on calls and calm under pressure. Report quality is consistent.",
                   "Builds good relationships with business owners on the beat. Could mentor newer officers."],
    "peer": ["Always backs up the team and shares information.", "Great with kids at the school crossing.",
             "Talks people down instead of escalating.", "Knows the residents by name."],
    "direct_report": ["Gives clear direction and listens before deciding.", "Fair with shift assignments.",
                      "Could give feedback more often, not only at review time.",
                      "Supports us after difficult calls.", "Sometimes plays favourites with overtime."],
}


def _accounts(actor: Actor) -> None:
    """Every active officer signs in with their roster email and the demo password."""
    password = hash_password(DEMO_PASSWORD)
    now = clock.now()
    missing = db.session.execute(
        select(Officer.id, Officer.email, Officer.first_name, Officer.last_name)
        .outerjoin(User, User.officer_id == Officer.id)
        .where(User.id.is_(None), Officer.status != OfficerStatus.SEPARATED)).all()
    for officer_id, email, first, last in missing:
        user = User(email=email, name=f"{first} {last}", status=AccountStatus.ACTIVE, officer_id=officer_id,
                    password_hash=password, password_changed_at=now, created_at=now, failed_logins=0)
        user.role_rows = [UserRole(role=Role.OFFICER)]
        db.session.add(user)
    db.session.commit()


def _scores(rng: random.Random, criteria, group: str, base: float) -> dict:
    out = {}
    for c in criteria:
        if c.answered_by(group):
            out[str(c.id)] = max(1, min(5, round(base + rng.uniform(-1.2, 1.2))))
    return out


def _published_cycle(actor: Actor, rng: random.Random, rubric: Rubric, day, period: str) -> ReviewCycle:
    cycle = cycles.create_cycle(actor, name=f"{day.year} spring review", rubric_id=rubric.id,
                                opens_on=day - timedelta(days=120), closes_on=day, all_units=True, unit_ids=[],
                                peers=3, threshold=3, anonymous_peers=False)
    cycles.generate(actor, cycle.id, seed=11)
    cycles.move(actor, cycle.id, "open")
    ability = {o: rng.uniform(2.6, 4.6) for o in db.session.scalars(select(Officer.id))}
    now = clock.now()
    named, anonymous = [], []
    for a in db.session.scalars(select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id)):
        if rng.random() < 0.08 and a.group != RaterGroup.DIRECT_REPORT:
            continue  # a few never answered
        scores = _scores(rng, rubric.criteria, a.group.value, ability[a.subject_id] + (0.4 if a.group == "self" else 0))
        comment = rng.choice(COMMENTS[a.group.value]) if rng.random() < 0.7 else ""
        a.status = AssignmentStatus.SUBMITTED
        if cycle.is_anonymous(a.group.value):
            anonymous.append(dict(id=uuid.uuid4(), cycle_id=cycle.id, subject_id=a.subject_id, group=a.group,
                                  scores=scores, comment=comment, score_total=sum(scores.values()),
                                  score_count=len(scores)))
        else:
            named.append(dict(assignment_id=a.id, scores=scores, comment=comment, score_total=sum(scores.values()),
                              score_count=len(scores), submitted_at=now, updated_at=now))
    rng.shuffle(anonymous)
    db.session.execute(insert(Review), named)
    db.session.execute(insert(AnonymousReview), anonymous)
    db.session.commit()
    cycles.move(actor, cycle.id, "close", period=period)
    cycles.move(actor, cycle.id, "publish")
    db.session.execute(update(ReviewCycle).where(ReviewCycle.id == cycle.id).values(
        opens_on=day - timedelta(days=120), closes_on=day - timedelta(days=60)))
    db.session.commit()
    return cycle


def _metrics(actor: Actor, rng: random.Random, close) -> None:
    officers = db.session.scalars(select(Officer).where(Officer.status != OfficerStatus.SEPARATED)).all()
    lines = ["badge_number,period_start,period_end,compliments,complaints,complaints_sustained,community_meetings,"
             "problem_solving_projects,resident_safety_score"]
    for start, end in ((close - timedelta(days=180), close - timedelta(days=91)),
                       (close - timedelta(days=90), close - timedelta(days=1))):
        for o in officers:
            complaints = rng.choice([0, 0, 0, 1, 1, 2])
            safety = f"{rng.uniform(2.8, 4.7):.2f}" if rng.random() < 0.85 else ""
            lines.append(f"{o.badge_number},{start},{end},{rng.randint(0, 6)},{complaints},"
                         f"{rng.randint(0, complaints)},{rng.randint(0, 5)},{rng.randint(0, 3)},{safety}")
    report = metrics.import_metrics(actor, "\n".join(lines) + "\n", dry_run=False, filename="demo-metrics.csv")
    assert report.ok, report.errors


def seed(rng: random.Random) -> None:
    actor = Actor.system("seed-demo")
    day = today()
    _accounts(actor)
    rubric = db.session.scalar(select(Rubric).order_by(Rubric.id))
    if rubric is None or not rubric.criteria:
        return
    close = day - timedelta(days=60)
    _metrics(actor, rng, close)
    # HR chooses the quarter before the close as the cycle's metrics period.
    _published_cycle(actor, rng, rubric, day, f"{close - timedelta(days=90)}/{close - timedelta(days=1)}")

    demo_user = db.session.scalar(select(User)
                                  .where(User.email.like("%@beacon-pd.example"), User.officer_id.is_not(None))
                                  .order_by(User.id))
    officer = db.session.get(Officer, demo_user.officer_id)
    now = clock.now()
    for back, kind, hours, status in ((70, ActivityKind.YOUTH, 3, ActivityStatus.VERIFIED),
                                      (80, ActivityKind.MEETING, 2, ActivityStatus.VERIFIED),
                                      (4, ActivityKind.PATROL, 4, ActivityStatus.PENDING)):
        db.session.add(Activity(officer_id=officer.id, day=day - timedelta(days=back), kind=kind, hours=hours,
                                note="Demo activity", status=status, created_at=now,
                                verified_at=now if status == ActivityStatus.VERIFIED else None))
    db.session.commit()

    # The open cycle: the demo officer's unit, closing in ten days.
    current = cycles.create_cycle(actor, name=f"{day.year} autumn check-in", rubric_id=rubric.id,
                                  opens_on=day - timedelta(days=4), closes_on=day + timedelta(days=10),
                                  all_units=False, unit_ids=[officer.unit_id], peers=3, threshold=3,
                                  anonymous_peers=False)
    cycles.generate(actor, current.id, seed=5)
    cycles.move(actor, current.id, "open")
    # One of the sergeant's other officers has already sent an upward review: it waits, sealed.
    other = db.session.scalar(
        select(ReviewAssignment).where(ReviewAssignment.cycle_id == current.id,
                                       ReviewAssignment.group == RaterGroup.DIRECT_REPORT,
                                       ReviewAssignment.subject_id == officer.supervisor_id,
                                       ReviewAssignment.rater_id != officer.id).order_by(ReviewAssignment.id))
    if other is not None:
        rater = db.session.scalar(select(User).where(User.officer_id == other.rater_id))
        criteria = [c for c in rubric.criteria if c.answered_by("direct_report")]
        reviews.save(Actor(rater.id, rater.email, None, frozenset({"officer"})), other.id,
                     {c.id: rng.randint(3, 5) for c in criteria}, "Supportive after hard calls.", submit=True)
    # A few self reviews are in already.
    for a in db.session.scalars(select(ReviewAssignment).where(
            ReviewAssignment.cycle_id == current.id, ReviewAssignment.group == RaterGroup.SELF,
            ReviewAssignment.rater_id != officer.id).order_by(ReviewAssignment.id).limit(3)):
        scores = _scores(rng, rubric.criteria, "self", 3.8)
        db.session.add(Review(assignment_id=a.id, scores=scores, comment="", score_total=sum(scores.values()),
                              score_count=len(scores), submitted_at=now, updated_at=now))
        a.status = AssignmentStatus.SUBMITTED
    db.session.commit()
    _nominations_cycle(actor, rubric, officer, day)


def _nominations_cycle(actor: Actor, rubric: Rubric, officer: Officer, day) -> None:
    """A draft cycle of the demo officer's unit in which officers may nominate peers: the
    demo officer has nominated one, waiting for HR."""
    draft = cycles.create_cycle(actor, name=f"{day.year} winter review", rubric_id=rubric.id,
                                opens_on=day + timedelta(days=20), closes_on=day + timedelta(days=50),
                                all_units=False, unit_ids=[officer.unit_id], peers=3, threshold=3,
                                anonymous_peers=False, nominations=True, supervisor_share=25)
    cycles.generate(actor, draft.id, seed=9)
    me = db.session.scalar(select(User).where(User.officer_id == officer.id))
    peer = next(iter(cycles.peer_candidates(officer)), None)
    if me is not None and peer is not None:
        nominations.nominate(Actor(me.id, me.email, None, frozenset({"officer"})), draft.id, peer.id)
