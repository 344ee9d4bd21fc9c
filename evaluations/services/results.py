"""A published cycle's results, fixed: what its reports and matrix show is computed once,
when HR publishes, and kept as version 1 (a `ResultVersion` and a `ResultLine` per
subject). Every later view reads that record, so importing metrics, verifying an
activity, changing the weights or editing the roster afterwards changes nothing a
decision was built on. A correction is a new version with its reason, audited; reports
say which version they show, and the earlier ones stay readable.

The community figures come from the metrics period HR chose for the cycle
(`ReviewCycle.metrics_start/end`; "no community figures" is a choice too), never from
whichever period happens to be latest. A cycle published before results were kept gets
its version 1 from the old rule (each officer's latest period started by the close
date) when it is first read.
"""
from datetime import date

from sqlalchemy import String, func, insert, select, type_coerce

from core import clock
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError, NotFound
from core.models import Officer, Role, Unit
from evaluations import rules
from evaluations.models import (
    AnonymousReview,
    AssignmentStatus,
    CommunityMetric,
    CycleStatus,
    RaterGroup,
    ResultLine,
    ResultVersion,
    Review,
    ReviewAssignment,
    ReviewCycle,
)
from evaluations.services import metrics
from evaluations.services.common import seed_of, weights
from evaluations.services.reviews import lock_cycle

CHUNK = 1000
MAX_REASON = 1000
# The reason of a version 1 recorded for a cycle published before results were kept:
# its community figures follow the old rule (each officer's latest period by the close).
LEGACY = "Recorded when Beacon began keeping published results: figures as they stood then"



# --- the metrics period a cycle uses ----------------------------------------------------------------

NO_METRICS = "none"


def period_value(start: date | None, end: date | None) -> str:
    return NO_METRICS if start is None else f"{start.isoformat()}/{end.isoformat()}"


def period_label(start: date | None, end: date | None) -> str:
    return "No community figures" if start is None else f"{start:%d %b %Y} to {end:%d %b %Y}"


def version_period(version: ResultVersion) -> str:
    """What a version's community figures are, as its pages say it."""
    if version.reason == LEGACY and version.metrics_start is None:
        return "Each officer's latest period by the close date (published before periods were chosen)"
    return period_label(version.metrics_start, version.metrics_end)


def period_choices() -> list[tuple[str, str]]:
    """The imported periods (newest first, with how many officers each covers), and
    "no community figures"."""
    rows = db.session.execute(
        select(CommunityMetric.period_start, CommunityMetric.period_end, func.count())
        .group_by(CommunityMetric.period_start, CommunityMetric.period_end)
        .order_by(CommunityMetric.period_end.desc(), CommunityMetric.period_start.desc())
        .limit(60)).all()
    return ([(period_value(a, b), f"{period_label(a, b)} ({n:,} officer{'s' if n != 1 else ''})") for a, b, n in rows]
            + [(NO_METRICS, "No community figures for this cycle")])


def parse_period(value: str) -> tuple[date | None, date | None]:
    """A choice from period_choices back to dates; DomainError for anything else."""
    value = (value or "").strip()
    if value == NO_METRICS:
        return None, None
    try:
        start, end = (date.fromisoformat(part) for part in value.split("/"))
    except ValueError:
        raise DomainError("Choose the community-metrics period from the list.") from None
    exists = db.session.scalar(select(func.count()).select_from(CommunityMetric).where(
        CommunityMetric.period_start == start, CommunityMetric.period_end == end))
    if not exists:
        raise DomainError(f"No community metrics were imported for {period_label(start, end)}.")
    return start, end


def choose_period(actor: Actor, cycle: ReviewCycle, value: str) -> bool:
    """HR sets the cycle's metrics period (before publication). The caller commits.
    Returns whether it changed."""
    actor.require(Role.HR)
    if cycle.status == CycleStatus.PUBLISHED:
        raise DomainError("The cycle is published: its results are fixed. Correct them with a new version.")
    start, end = parse_period(value)
    if cycle.metrics_chosen and (cycle.metrics_start, cycle.metrics_end) == (start, end):
        return False
    before = period_label(cycle.metrics_start, cycle.metrics_end) if cycle.metrics_chosen else "not chosen"
    cycle.metrics_start, cycle.metrics_end, cycle.metrics_chosen = start, end, True
    record(actor, "cycle.metrics_period", target=f"cycle:{cycle.id}",
           detail=f"{before} -> {period_label(start, end)}")
    return True


# --- computing a version ----------------------------------------------------------------------------

def _figures(period: metrics.Period | None) -> dict | None:
    if period is None:
        return None
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), **vars(period.figures)}


def _community(cycle: ReviewCycle, start: date | None, end: date | None, chosen: bool, ids: list[int]) -> dict:
    """officer id -> {"current": figures, "previous": figures} for the officers `ids`."""
    if chosen:
        if start is None:
            return {}
        current = metrics.community_in(ids, start, end)
        previous = metrics.community_before(ids, start)
    else:   # the rule of cycles published before results were kept
        current = metrics.community_for(ids, cycle.closes_on)
        previous = {}
        by_start: dict[date, list[int]] = {}
        for oid, period in current.items():
            by_start.setdefault(period.start, []).append(oid)
        for start, officers in by_start.items():   # one query per distinct start (usually one)
            previous.update(metrics.community_before(officers, start))
    return {oid: {"current": _figures(current.get(oid)), "previous": _figures(previous.get(oid))}
            for oid in ids if oid in current}


def _sums(cycle: ReviewCycle) -> dict[tuple[int, str], list[int]]:
    """(subject, group) -> [score total, score count, reviews], named and anonymous."""
    sums: dict[tuple[int, str], list[int]] = {}
    named = (select(ReviewAssignment.subject_id, type_coerce(ReviewAssignment.group, String),
                    func.sum(Review.score_total), func.sum(Review.score_count), func.count())
             .join(Review, Review.assignment_id == ReviewAssignment.id)
             .where(ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.status == AssignmentStatus.SUBMITTED)
             .group_by(ReviewAssignment.subject_id, ReviewAssignment.group))
    anonymous = (select(AnonymousReview.subject_id, type_coerce(AnonymousReview.group, String),
                        func.sum(AnonymousReview.score_total), func.sum(AnonymousReview.score_count), func.count())
                 .where(AnonymousReview.cycle_id == cycle.id)
                 .group_by(AnonymousReview.subject_id, AnonymousReview.group))
    for query in (named, anonymous):
        for subject_id, group, total, count, reviews in db.session.connection().execute(query):
            entry = sums.setdefault((subject_id, group), [0, 0, 0])
            entry[0] += int(total or 0)
            entry[1] += int(count or 0)
            entry[2] += reviews
    return sums


def _reports(cycle: ReviewCycle, ids: list[int]) -> dict[int, dict]:
    """officer id -> the report's review part: per group asked, responses, whether shown,
    criterion means and comments (in an order unrelated to submission)."""
    asked: dict[int, set[str]] = {}
    for subject_id, group in db.session.connection().execute(
            select(ReviewAssignment.subject_id, type_coerce(ReviewAssignment.group, String)).distinct()
            .where(ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id.in_(ids))):
        asked.setdefault(subject_id, set()).add(group)
    found: dict[tuple[int, str], tuple[list, list]] = {}
    named = (select(ReviewAssignment.subject_id, type_coerce(ReviewAssignment.group, String), Review.scores,
                    Review.comment)
             .join(Review, Review.assignment_id == ReviewAssignment.id)
             .where(ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id.in_(ids),
                    ReviewAssignment.status == AssignmentStatus.SUBMITTED))
    anonymous = (select(AnonymousReview.subject_id, type_coerce(AnonymousReview.group, String),
                        AnonymousReview.scores, AnonymousReview.comment)
                 .where(AnonymousReview.cycle_id == cycle.id, AnonymousReview.subject_id.in_(ids)))
    for query in (named, anonymous):
        for subject_id, group, scores, comment in db.session.execute(query):
            reviews, comments = found.setdefault((subject_id, group), ([], []))
            reviews.append(scores)
            if comment:
                comments.append(comment)
    out = {}
    for oid in ids:
        groups = []
        for g in RaterGroup:
            if g.value not in asked.get(oid, ()):
                continue
            result = rules.group_result(g.value, *found.get((oid, g.value), ([], [])),
                                        anonymous=cycle.is_anonymous(g.value), threshold=cycle.threshold,
                                        seed=seed_of(cycle.id, oid, g.value))
            groups.append({"group": result.group, "responses": result.responses, "shown": result.shown,
                           "means": result.means, "comments": list(result.comments)})
        out[oid] = {"groups": groups}
    return out


def make_version(actor: Actor, cycle: ReviewCycle, reason: str) -> ResultVersion:
    """Compute every subject's result now and keep it as the cycle's next version. A fixed
    number of queries per thousand subjects. The caller audits and commits."""
    number = (db.session.scalar(select(func.max(ResultVersion.number))
                                .where(ResultVersion.cycle_id == cycle.id)) or 0) + 1
    w = weights()
    version = ResultVersion(cycle_id=cycle.id, number=number, reason=reason, made_at=clock.now(),
                            made_by_id=actor.user_id, metrics_start=cycle.metrics_start,
                            metrics_end=cycle.metrics_end, weights=w, threshold=cycle.threshold)
    db.session.add(version)
    db.session.flush()
    subjects = db.session.connection().execute(
        select(Officer.id, Officer.first_name, Officer.last_name, Officer.badge_number, Unit.name, Officer.rank,
               Officer.hire_date)
        .join(Unit, Unit.id == Officer.unit_id)
        .where(Officer.id.in_(select(ReviewAssignment.subject_id).where(ReviewAssignment.cycle_id == cycle.id)))
        .order_by(Officer.id)).all()
    sums = _sums(cycle)
    nothing = (0, 0, 0)
    means, years = {}, {}
    for s in subjects:
        means[s.id] = {}
        for g in RaterGroup:
            total, count, reviews = sums.get((s.id, g.value), nothing)
            hidden = cycle.is_anonymous(g.value) and reviews < cycle.threshold
            means[s.id][g.value] = None if hidden else rules.group_mean(total, count)
        years[s.id] = rules.years_of_service(s.hire_date, cycle.closes_on)
    community, scores, community_scores = {}, {}, {}
    ids = [s.id for s in subjects]
    for start in range(0, len(ids), CHUNK):
        community.update(_community(cycle, cycle.metrics_start, cycle.metrics_end, cycle.metrics_chosen,
                                    ids[start:start + CHUNK]))
    for s in subjects:
        current = (community.get(s.id) or {}).get("current")
        community_scores[s.id] = rules.community_score(_as_community(current))
        scores[s.id] = rules.composite(means[s.id], community_scores[s.id], w)
    ranked = {r.subject_id: r for r in rules.rank(scores, years)} if subjects else {}
    for start in range(0, len(subjects), CHUNK):
        chunk = subjects[start:start + CHUNK]
        reports = _reports(cycle, [s.id for s in chunk])
        db.session.execute(insert(ResultLine), [dict(
            version_id=version.id, officer_id=s.id, name=f"{s.last_name}, {s.first_name}", badge=s.badge_number,
            unit=s.name, rank_title=s.rank, years=years[s.id], group_means=means[s.id],
            community=community.get(s.id) or {}, community_score=community_scores[s.id],
            composite=ranked[s.id].composite, rank=ranked[s.id].rank, seniority_rank=ranked[s.id].seniority_rank,
            report=reports[s.id]) for s in chunk])
    return version


def _as_community(figures: dict | None) -> rules.Community | None:
    if not figures:
        return None
    return rules.Community(**{k: v for k, v in figures.items() if k not in ("start", "end")})


def as_period(figures: dict | None) -> metrics.Period | None:
    if not figures:
        return None
    return metrics.Period(date.fromisoformat(figures["start"]), date.fromisoformat(figures["end"]),
                          _as_community(figures))


def publish(actor: Actor, cycle: ReviewCycle) -> ResultVersion:
    """Version 1, at publication (cycles.move). Refuses until HR has chosen the metrics
    period, and when the period chosen is no longer imported (a replacing import may
    have removed it since). The caller audits the publication and commits."""
    if not cycle.metrics_chosen:
        raise DomainError("Choose the community-metrics period the results use (in the cycle's settings) "
                          "before publishing.")
    if cycle.metrics_start is not None:
        parse_period(period_value(cycle.metrics_start, cycle.metrics_end))
    return make_version(actor, cycle, "Published")


def correct(actor: Actor, cycle_id: int, reason: str, period: str | None = None) -> ResultVersion:
    """HR recomputes a published cycle's results as a new version, with a reason (and,
    if given, another metrics period). Audited; commits."""
    actor.require(Role.HR)
    cycle = db.session.get(ReviewCycle, cycle_id)
    if cycle is None:
        raise NotFound("No such review cycle.")
    if cycle.status != CycleStatus.PUBLISHED:
        raise DomainError("Only a published cycle's results can be corrected.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError("Say why the results are corrected (at least 10 characters): the reason is kept with "
                          "the new version and shown on every report.")
    if len(reason) > MAX_REASON:
        raise DomainError(f"The reason can be at most {MAX_REASON:,} characters.")
    current(cycle)   # a cycle published before results were kept gets its version 1 first (commits)
    cycle = lock_cycle(cycle_id)    # two corrections at once number one after the other
    if period is not None:
        start, end = parse_period(period)
        if (start, end) != (cycle.metrics_start, cycle.metrics_end) or not cycle.metrics_chosen:
            record(actor, "cycle.metrics_period", target=f"cycle:{cycle.id}",
                   detail=f"{period_label(cycle.metrics_start, cycle.metrics_end)} -> {period_label(start, end)} "
                          "(correction)")
        cycle.metrics_start, cycle.metrics_end, cycle.metrics_chosen = start, end, True
    version = make_version(actor, cycle, reason)
    record(actor, "review.results.correct", target=f"cycle:{cycle.id}",
           detail=f"version {version.number}: metrics {version_period(version)}; "
                  f"reason: {reason}")
    db.session.commit()
    return version


# --- reading ----------------------------------------------------------------------------------------

def versions(cycle_id: int) -> list[ResultVersion]:
    return list(db.session.scalars(select(ResultVersion).where(ResultVersion.cycle_id == cycle_id)
                                   .order_by(ResultVersion.number)))


def current(cycle: ReviewCycle, number: int | None = None) -> ResultVersion:
    """The version to show: the latest, or `number`. A cycle published before results
    were kept gets its version 1 now (audited, committed)."""
    query = select(ResultVersion).where(ResultVersion.cycle_id == cycle.id)
    query = query.where(ResultVersion.number == number) if number else \
        query.order_by(ResultVersion.number.desc()).limit(1)
    version = db.session.scalar(query)
    if version is not None:
        return version
    if number and number != 1:
        raise NotFound("No such version of the results.")
    if cycle.status != CycleStatus.PUBLISHED or \
            db.session.scalar(select(func.count()).where(ResultVersion.cycle_id == cycle.id)):
        raise NotFound("No such version of the results.")
    return _record_legacy(cycle.id)


def _record_legacy(cycle_id: int) -> ResultVersion:
    """Version 1 of a cycle published before results were kept, under the cycle's lock
    (two first reads at once record it once). Audited; commits."""
    db.session.commit()                 # end the read, then take the lock and look again
    cycle = lock_cycle(cycle_id)
    version = db.session.scalar(select(ResultVersion).where(ResultVersion.cycle_id == cycle_id)
                                .order_by(ResultVersion.number.desc()).limit(1))
    if version is None:
        version = make_version(Actor.system("results"), cycle, LEGACY)
        record(Actor.system("results"), "review.results.record", target=f"cycle:{cycle.id}",
               detail="version 1 of a cycle published before results were kept")
    db.session.commit()
    return version


def record_missing() -> int:
    """Record version 1 of every published cycle that has none (`flask reviews
    record-results`, and before every metrics import, so a later import can never move
    a published figure). Returns how many were recorded."""
    missing = list(db.session.scalars(select(ReviewCycle.id).where(
        ReviewCycle.status == CycleStatus.PUBLISHED,
        ~select(ResultVersion.id).where(ResultVersion.cycle_id == ReviewCycle.id).exists())))
    for cycle_id in missing:
        _record_legacy(cycle_id)
    return len(missing)


def line(version: ResultVersion, officer_id: int) -> ResultLine | None:
    return db.session.get(ResultLine, (version.id, officer_id))


def lines(version: ResultVersion) -> list:
    """Every line of a version, as plain rows (the matrix reads tens of thousands)."""
    return db.session.connection().execute(
        select(ResultLine.officer_id, ResultLine.name, ResultLine.badge, ResultLine.unit, ResultLine.rank_title,
               ResultLine.years, ResultLine.group_means, ResultLine.community_score, ResultLine.composite)
        .where(ResultLine.version_id == version.id)).all()
