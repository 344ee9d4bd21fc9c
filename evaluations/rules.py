"""Pure decisions of 360-degree reviews: who reviews whom, which results may be shown
without exposing an anonymous reviewer, and how officers rank by performance.

Plain values in, plain values out (no Flask, no session, no clock). The models, pages
and services of review cycles build on these (issue 5).
"""
import random
from dataclasses import dataclass
from statistics import mean

SELF, SUPERVISOR, PEER, DIRECT_REPORT = "self", "supervisor", "peer", "direct_report"
GROUPS = (SELF, SUPERVISOR, PEER, DIRECT_REPORT)
DEFAULT_PEERS = 3
DEFAULT_THRESHOLD = 3


@dataclass(frozen=True)
class Member:
    """What assignment needs to know about one officer on the roster."""
    id: int
    unit_id: int
    supervisor_id: int | None
    active: bool = True


@dataclass(frozen=True)
class Assignment:
    subject_id: int
    rater_id: int
    group: str


def assign(subjects: list[int], roster: dict[int, Member], peers: int = DEFAULT_PEERS,
           last_cycle_peers: set[tuple[int, int]] = frozenset(), seed: int | None = None) -> list[Assignment]:
    """The raters of each subject: themselves, their supervisor, `peers` active members
    of their unit chosen at random (avoiding last cycle's (subject, rater) pairs where
    there are enough others), and every active direct report. Nobody reviews
    themselves as a peer, and no rater gets the same subject twice."""
    rng = random.Random(seed)
    by_unit: dict[int, list[int]] = {}
    reports: dict[int, list[int]] = {}
    for member in roster.values():
        if not member.active:
            continue
        by_unit.setdefault(member.unit_id, []).append(member.id)
        if member.supervisor_id is not None:
            reports.setdefault(member.supervisor_id, []).append(member.id)
    result = []
    for subject_id in subjects:
        subject = roster[subject_id]
        taken = {subject_id}
        result.append(Assignment(subject_id, subject_id, SELF))
        boss = roster.get(subject.supervisor_id) if subject.supervisor_id else None
        if boss is not None and boss.active:
            result.append(Assignment(subject_id, boss.id, SUPERVISOR))
            taken.add(boss.id)
        direct = sorted(reports.get(subject_id, []))
        taken.update(direct)
        candidates = sorted(m for m in by_unit.get(subject.unit_id, []) if m not in taken)
        fresh = [m for m in candidates if (subject_id, m) not in last_cycle_peers]
        repeat = [m for m in candidates if (subject_id, m) in last_cycle_peers]
        rng.shuffle(fresh)
        rng.shuffle(repeat)
        for rater in (fresh + repeat)[:peers]:
            result.append(Assignment(subject_id, rater, PEER))
        for rater in direct:
            result.append(Assignment(subject_id, rater, DIRECT_REPORT))
    return result


# --- results that keep anonymous reviewers anonymous ------------------------------------

@dataclass(frozen=True)
class GroupResult:
    group: str
    responses: int
    shown: bool
    means: dict          # criterion -> mean score (empty when not shown)
    comments: tuple      # in an order unrelated to submission (empty when not shown)


def group_result(group: str, reviews: list[dict], comments: list[str], anonymous: bool,
                 threshold: int = DEFAULT_THRESHOLD, seed: int = 0) -> GroupResult:
    """One rater group's result for one subject. `reviews` are {criterion: score}. An
    anonymous group below the threshold shows nothing: no means, no comments."""
    if anonymous and len(reviews) < threshold:
        return GroupResult(group, len(reviews), False, {}, ())
    criteria = sorted({c for review in reviews for c in review})
    means = {c: round(mean(r[c] for r in reviews if c in r), 2) for c in criteria}
    ordered = sorted(comments)  # alphabetical: says nothing about who wrote first
    random.Random(seed).shuffle(ordered)
    return GroupResult(group, len(reviews), True, means, tuple(ordered))


def overall(results: list[GroupResult]) -> dict:
    """Means across the shown groups only. A hidden group is left out of every total,
    so it cannot be recovered by subtracting the shown groups from an overall figure."""
    shown = [r for r in results if r.shown]
    criteria = sorted({c for r in shown for c in r.means})
    return {c: round(mean(r.means[c] for r in shown if c in r.means), 2) for c in criteria}


def threshold_change_allowed(new: int, current: int, reviews_exist: bool) -> bool:
    """The anonymity threshold can be raised any time, lowered only before any review."""
    return new >= 1 and (new >= current or not reviews_exist)


# --- ranking for retention and promotion ---------------------------------------------------

@dataclass(frozen=True)
class Ranked:
    subject_id: int
    composite: float | None
    rank: int | None
    years_of_service: float
    seniority_rank: int


def composite(group_means: dict[str, float | None], community: float | None, weights: dict[str, float]) -> float | None:
    """A weighted mean of the shown groups' mean scores and the community-policing score
    (all on 1-5). Missing or hidden parts drop out and the weights of the rest are
    renormalised; None when nothing is shown."""
    parts = [(weights.get(group, 0.0), value) for group, value in group_means.items() if value is not None]
    if community is not None:
        parts.append((weights.get("community", 0.0), community))
    total = sum(w for w, _ in parts if w > 0)
    if total == 0:
        return None
    return round(sum(w * v for w, v in parts if w > 0) / total, 3)


def rank(scores: dict[int, float | None], years: dict[int, float]) -> list[Ranked]:
    """Rank by composite (ties share a rank; no score, no rank) and, beside it, by
    seniority, so HR sees where performance and seniority disagree."""
    by_score = sorted((s for s in scores.values() if s is not None), reverse=True)
    by_years = sorted(years.values(), reverse=True)
    out = []
    for subject_id, score in scores.items():
        out.append(Ranked(subject_id, score, by_score.index(score) + 1 if score is not None else None,
                          years[subject_id], by_years.index(years[subject_id]) + 1))
    return sorted(out, key=lambda r: (r.rank is None, r.rank or 0, -r.years_of_service, r.subject_id))
