"""Pure decisions of 360-degree reviews: who reviews whom, which results may be shown
without exposing an anonymous reviewer, and how officers rank by performance.

Plain values in, plain values out (no Flask, no session, no clock). The models, pages
and services of review cycles build on these (issue 5).
"""
import random
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from core import rules as core_rules
from core.rules import LineError

SELF, SUPERVISOR, PEER, DIRECT_REPORT = "self", "supervisor", "peer", "direct_report"
GROUPS = (SELF, SUPERVISOR, PEER, DIRECT_REPORT)
DEFAULT_PEERS = 3
DEFAULT_THRESHOLD = 3


@dataclass(frozen=True)
class Member:
    """What assignment needs to know about one officer on the roster. `active`: can
    write a review (active, with an account); inactive members still count for the
    chain of command."""
    id: int
    unit_id: int
    supervisor_id: int | None
    active: bool = True
    rank: str = ""


@dataclass(frozen=True)
class Assignment:
    subject_id: int
    rater_id: int
    group: str
    reason: str = ""


@dataclass(frozen=True)
class Spell:
    """One officer supervised by one supervisor from `started_on` (None: before the
    history began) until `ended_on`, the day the next spell began (None: still)."""
    officer_id: int
    supervisor_id: int
    started_on: date | None
    ended_on: date | None


SELF_REASON = "self"
CURRENT_SUPERVISOR = "current supervisor"
NEXT_LEVEL_UP = "next level up"
DIRECT_REPORT_REASON = "reports to the subject"
SAME_UNIT_PEER = "same unit and rank band"
OTHER_UNIT_PEER = "same rank band, another unit"
NOMINATED = "nominated by the subject, approved by HR"
ADDED_BY_HR = "added by HR"


def supervised_reason(percent: float) -> str:
    return f"supervised {int(percent)}% of the period"


def rank_band(rank: str, bands: dict[str, int] | None) -> tuple:
    """The band of a roster rank (settings' RANK_BANDS, keys compared without case or
    extra spaces); a rank not listed is a band of its own."""
    key = " ".join(str(rank).split()).casefold()
    band = (bands or {}).get(key)
    return ("band", band) if band is not None else ("rank", key)


def chain_above(officer_id: int, roster: dict[int, Member]) -> list[int]:
    """The officer's supervisor, theirs, ... to the top (a loop in the roster stops it)."""
    out, seen = [], {officer_id}
    member = roster.get(officer_id)
    while member is not None and member.supervisor_id is not None and member.supervisor_id not in seen:
        out.append(member.supervisor_id)
        seen.add(member.supervisor_id)
        member = roster.get(member.supervisor_id)
    return out


def peer_problem(subject: Member, rater: Member, above_subject, above_rater,
                 bands: dict[str, int] | None) -> str | None:
    """Why `rater` cannot be a peer of `subject`, or None: peers share a rank band and
    neither is above the other in the chain of command. The message names them
    "{rater}" and "{subject}" for the caller to fill in."""
    if rater.id == subject.id:
        return "{rater} cannot be their own peer."
    if rater.id in above_subject:
        return "{rater} is above {subject} in the chain of command, so can review them only as a supervisor."
    if subject.id in above_rater:
        return "{rater} reports to {subject} (directly or through others), so cannot review them as a peer."
    if rank_band(rater.rank, bands) != rank_band(subject.rank, bands):
        return "{rater} is not in the rank band of {subject}: peers come from the same rank band."
    return None


def rater_problem(group: str, subject: Member, rater: Member, above_subject, above_rater,
                  bands: dict[str, int] | None) -> str | None:
    """Why `rater` cannot review `subject` in `group`, or None (HR adding or swapping a
    rater by hand): only the subject reviews themselves; someone above the subject
    only as a supervisor; someone below them never as a supervisor or peer, and as a
    direct report only when they report to them directly; peers as `peer_problem`."""
    if (group == SELF) != (subject.id == rater.id):
        return "Only a self review has the same officer as subject and rater."
    if group == SELF:
        return None
    if group == PEER:
        return peer_problem(subject, rater, above_subject, above_rater, bands)
    if rater.id in above_subject and group != SUPERVISOR:
        return "{rater} is above {subject} in the chain of command, so can review them only as a supervisor."
    if group == DIRECT_REPORT and rater.supervisor_id != subject.id:
        return "{rater} does not report to {subject}."
    if group == SUPERVISOR and subject.id in above_rater:
        return "{rater} reports to {subject} (directly or through others), so cannot review them as a supervisor."
    return None


def supervision_shares(spells, start: date, end: date) -> dict[int, dict[int, float]]:
    """officer -> supervisor -> the percentage of the days from `start` to `end`
    (both included) on which that supervisor supervised that officer."""
    total = (end - start).days + 1
    if total <= 0:
        return {}
    spans: dict[tuple[int, int], list[tuple[date, date]]] = {}
    stop = end + timedelta(days=1)
    for spell in spells:
        begin = max(spell.started_on or start, start)
        finish = min(spell.ended_on or stop, stop)
        if finish > begin:
            spans.setdefault((spell.officer_id, spell.supervisor_id), []).append((begin, finish))
    out: dict[int, dict[int, float]] = {}
    for (officer_id, supervisor_id), parts in spans.items():
        days, reach = 0, None
        for begin, finish in sorted(parts):  # overlapping spells of one pair count once
            if reach is not None and begin < reach:
                begin = reach
            if finish > begin:
                days += (finish - begin).days
                reach = finish
        out.setdefault(officer_id, {})[supervisor_id] = 100 * days / total
    return out


def _random_order(rng: random.Random, items: list) -> Iterator:
    """`items` in a random order, drawn as needed: a subject who needs three peers from
    a band of thousands does not shuffle the thousands."""
    n = len(items)
    if n <= 64:
        order = list(items)
        rng.shuffle(order)
        yield from order
        return
    seen: set[int] = set()
    while len(seen) < n // 2:
        index = rng.randrange(n)
        if index not in seen:
            seen.add(index)
            yield items[index]
    rest = [items[i] for i in range(n) if i not in seen]
    rng.shuffle(rest)
    yield from rest


def assign(subjects: list[int], roster: dict[int, Member], peers: int = DEFAULT_PEERS,
           last_cycle_peers: set[tuple[int, int]] = frozenset(), seed: int | None = None, *,
           bands: dict[str, int] | None = None, past_supervisors: dict[int, dict[int, float]] | None = None,
           supervisor_share: int = 25, nominated: dict[int, list[int]] | None = None) -> list[Assignment]:
    """The raters of each subject, each with the reason they were chosen:

    - themselves;
    - supervisors: the current one, the next level up (the supervisor's supervisor),
      and anyone who supervised them for at least `supervisor_share` % of the period
      (`past_supervisors`: subject -> supervisor -> %, see `supervision_shares`),
      unless that person now reports to the subject;
    - every active direct report;
    - `peers` peers: first the nominees HR approved (`nominated`), then members of the
      same rank band (`bands`, see `rank_band`) chosen at random in the subject's unit,
      and, when the unit has too few, in other units; never anyone above or below the
      subject in the chain of command; last cycle's (subject, rater) pairs are avoided
      where there are enough others.

    Only active members rate; nobody reviews the same subject twice."""
    rng = random.Random(seed)
    past_supervisors = past_supervisors or {}
    nominated = nominated or {}
    band_of = {m.id: rank_band(m.rank, bands) for m in roster.values()}
    by_unit_band: dict[tuple, list[int]] = {}
    by_band: dict[tuple, list[int]] = {}
    reports: dict[int, list[int]] = {}
    for member in sorted(roster.values(), key=lambda m: m.id):
        if not member.active:
            continue
        by_unit_band.setdefault((member.unit_id, band_of[member.id]), []).append(member.id)
        by_band.setdefault(band_of[member.id], []).append(member.id)
        if member.supervisor_id is not None:
            reports.setdefault(member.supervisor_id, []).append(member.id)
    above_memo: dict[int, frozenset] = {}

    def above(officer_id: int) -> frozenset:
        if officer_id not in above_memo:
            above_memo[officer_id] = frozenset(chain_above(officer_id, roster))
        return above_memo[officer_id]

    result = []
    for subject_id in subjects:
        subject = roster[subject_id]
        chain = chain_above(subject_id, roster)
        taken = {subject_id}
        mine: list[Assignment] = [Assignment(subject_id, subject_id, SELF, SELF_REASON)]

        def add(rater_id: int, group: str, reason: str) -> None:
            taken.add(rater_id)
            mine.append(Assignment(subject_id, rater_id, group, reason))

        def usable(rater_id: int) -> bool:
            member = roster.get(rater_id)
            return member is not None and member.active and rater_id not in taken

        for rater_id, reason in zip(chain[:2], (CURRENT_SUPERVISOR, NEXT_LEVEL_UP)):
            if usable(rater_id):
                add(rater_id, SUPERVISOR, reason)
        direct = sorted(reports.get(subject_id, []))
        for rater_id, share in sorted(past_supervisors.get(subject_id, {}).items(), key=lambda p: (-p[1], p[0])):
            if share >= supervisor_share and usable(rater_id) and rater_id not in direct \
                    and subject_id not in above(rater_id):
                add(rater_id, SUPERVISOR, supervised_reason(share))
        peer_list: list[Assignment] = []
        taken.update(direct)

        def can_be_peer(rater_id: int) -> bool:
            return usable(rater_id) and peer_problem(subject, roster[rater_id], chain, above(rater_id), bands) is None

        for rater_id in nominated.get(subject_id, []):
            if can_be_peer(rater_id):
                taken.add(rater_id)
                peer_list.append(Assignment(subject_id, rater_id, PEER, NOMINATED))
        need = peers - len(peer_list)
        if need > 0:
            candidates = [m for m in by_unit_band.get((subject.unit_id, band_of[subject_id]), []) if can_be_peer(m)]
            fresh = [m for m in candidates if (subject_id, m) not in last_cycle_peers]
            repeat = [m for m in candidates if (subject_id, m) in last_cycle_peers]
            rng.shuffle(fresh)
            rng.shuffle(repeat)
            for rater_id in (fresh + repeat)[:need]:
                taken.add(rater_id)
                peer_list.append(Assignment(subject_id, rater_id, PEER, SAME_UNIT_PEER))
            need = peers - len(peer_list)
        if need > 0:
            repeats = []
            for rater_id in _random_order(rng, by_band.get(band_of[subject_id], [])):
                if need == 0:
                    break
                if roster[rater_id].unit_id == subject.unit_id or not can_be_peer(rater_id):
                    continue
                if (subject_id, rater_id) in last_cycle_peers:
                    repeats.append(rater_id)
                    continue
                taken.add(rater_id)
                peer_list.append(Assignment(subject_id, rater_id, PEER, OTHER_UNIT_PEER))
                need -= 1
            for rater_id in repeats[:need]:
                peer_list.append(Assignment(subject_id, rater_id, PEER, OTHER_UNIT_PEER))
        mine.extend(peer_list)
        for rater_id in direct:
            mine.append(Assignment(subject_id, rater_id, DIRECT_REPORT, DIRECT_REPORT_REASON))
        result.extend(mine)
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
    means = {c: _mean([r[c] for r in reviews if c in r]) for c in criteria}
    ordered = sorted(comments)  # alphabetical: says nothing about who wrote first
    random.Random(seed).shuffle(ordered)
    return GroupResult(group, len(reviews), True, means, tuple(ordered))


def overall(results: list[GroupResult]) -> dict:
    """Means across the shown groups only. A hidden group is left out of every total,
    so it cannot be recovered by subtracting the shown groups from an overall figure."""
    shown = [r for r in results if r.shown]
    criteria = sorted({c for r in shown for c in r.means})
    return {c: _mean([r.means[c] for r in shown if c in r.means]) for c in criteria}


def _mean(values: list) -> float:
    """The mean to 2 places. Integer scores sum exactly and one division rounds once, so
    this equals statistics.mean for them, at a fraction of its cost (a department's
    publication takes hundreds of thousands)."""
    return round(sum(values) / len(values), 2)


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


def _competition_ranks(values) -> dict:
    """value -> its rank, highest first, ties sharing the better rank (1, 1, 3)."""
    ranks = {}
    for position, value in enumerate(sorted(values, reverse=True), start=1):
        ranks.setdefault(value, position)
    return ranks


def rank(scores: dict[int, float | None], years: dict[int, float]) -> list[Ranked]:
    """Rank by composite (ties share a rank; no score, no rank) and, beside it, by
    seniority, so HR sees where performance and seniority disagree."""
    score_rank = _competition_ranks(s for s in scores.values() if s is not None)
    years_rank = _competition_ranks(years.values())
    out = []
    for subject_id, score in scores.items():
        out.append(Ranked(subject_id, score, score_rank[score] if score is not None else None,
                          years[subject_id], years_rank[years[subject_id]]))
    return sorted(out, key=lambda r: (r.rank is None, r.rank or 0, -r.years_of_service, r.subject_id))


# --- community-policing metrics ---------------------------------------------------------------

METRIC_COLUMNS = ("badge_number", "period_start", "period_end", "compliments", "complaints",
                  "complaints_sustained", "community_meetings", "problem_solving_projects", "resident_safety_score")
COUNT_COLUMNS = ("compliments", "complaints", "complaints_sustained", "community_meetings", "problem_solving_projects")
MAX_COUNT = 100_000
COUNT_RE = re.compile(r"[0-9]{1,6}")  # ASCII digits only ("²".isdigit() is true)


@dataclass(frozen=True, slots=True)   # slots: a file holds hundreds of thousands of rows
class MetricRow:
    line: int
    badge_number: str
    period_start: "date"
    period_end: "date"
    compliments: int
    complaints: int
    complaints_sustained: int
    community_meetings: int
    problem_solving_projects: int
    resident_safety_score: Decimal | None


@dataclass
class MetricCheck:
    rows: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_metrics(data: bytes | str, known_badges: Container[str]) -> MetricCheck:
    """Validate a whole community-metrics file (line 1 is the header): every problem
    with its line; `rows` only mean something when there are none. Holds every row:
    for small files (a large import reads with MetricScan and keeps none)."""
    scan = MetricScan(known_badges)
    rows = list(scan.rows(data))
    scan.errors.sort(key=lambda e: e.line)
    return MetricCheck(rows, scan.errors)


class MetricScan:
    """A metrics file checked in one streaming pass: `rows()` yields each good row and
    forgets it, keeping only, per period, each badge's line (to refuse a repeat). The
    caller may add errors of its own; `errors` is in line order once it sorts them."""

    def __init__(self, known_badges: Container[str]):
        self.known_badges = known_badges
        self.errors: list[LineError] = []
        self.seen: dict[tuple[date, date], dict[str, int]] = {}   # period -> badge -> line
        self.by_badge: dict[str, list] | None = None   # badge -> [(period, line)], past FEW_PERIODS periods
        self.count = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def periods(self) -> list[tuple[date, date]]:
        return sorted(self.seen)

    FEW_PERIODS = 8

    def _clash(self, badge: str, this: tuple[date, date]) -> tuple | None:
        """A period of the file already read for `badge` that overlaps `this`, with its
        line. A file has a period or two: each is looked at. Past FEW_PERIODS it keeps
        each badge's own periods instead, so the check stays linear."""
        if self.by_badge is None and len(self.seen) > self.FEW_PERIODS:
            self.by_badge = {}
            for period, lines in self.seen.items():
                for b, at in lines.items():
                    self.by_badge.setdefault(b, []).append((period, at))
        candidates = self.by_badge.get(badge, ()) if self.by_badge is not None else \
            ((p, others[badge]) for p, others in self.seen.items() if badge in others)
        return next(((p, at) for p, at in candidates if p != this and periods_overlap(p, this)), None)

    def rows(self, data: bytes | str) -> Iterator[MetricRow]:
        lines, self.errors = core_rules.read_csv(data, METRIC_COLUMNS)
        for line, raw in lines:
            row = _metric_row(line, raw, self.known_badges, self.errors)
            if row is None:
                continue
            badges = self.seen.setdefault((row.period_start, row.period_end), {})
            if row.badge_number in badges:
                self.errors.append(LineError(line, f"badge_number {row.badge_number} for this period is already "
                                                   f"on line {badges[row.badge_number]}"))
                continue
            this = (row.period_start, row.period_end)
            clash = self._clash(row.badge_number, this)
            if clash:
                (a, b), at = clash
                self.errors.append(LineError(line, f"badge_number {row.badge_number}: the period overlaps {a} to {b} "
                                                   f"on line {at} (one officer's periods never overlap)"))
                continue
            badges[row.badge_number] = line
            if self.by_badge is not None:
                self.by_badge.setdefault(row.badge_number, []).append((this, line))
            self.count += 1
            yield row
        if not self.count and not self.errors:
            self.errors.append(LineError(2, "the file has a header but no rows"))


def periods_overlap(a: tuple[date, date], b: tuple[date, date]) -> bool:
    """Two periods (first day, last day, both included) share at least one day."""
    return a[0] <= b[1] and b[0] <= a[1]


def metric_rows_again(data: bytes | str) -> Iterator[MetricRow]:
    """The rows of a file MetricScan found good, read a second time: the write reads
    the stored file again, a chunk at a time, rather than keep every row in memory."""
    lines, errors = core_rules.read_csv(data, METRIC_COLUMNS)
    for line, raw in lines:
        row = _metric_row(line, raw, _ANY_BADGE, errors)
        if row is None:
            raise ValueError(f"line {line} of the metrics file is not the one that was checked")
        yield row


class _AnyBadge:
    def __contains__(self, badge) -> bool:
        return True


_ANY_BADGE = _AnyBadge()


def _metric_row(line: int, raw: dict, known_badges: set[str], errors: list) -> MetricRow | None:
    before = len(errors)
    badge = raw["badge_number"]
    if not badge:
        errors.append(LineError(line, "badge_number is required"))
    elif badge not in known_badges:
        errors.append(LineError(line, f"badge_number {badge} is not on the roster"))
    dates = {}
    for name in ("period_start", "period_end"):
        try:
            if not core_rules.DATE_RE.match(raw[name]):
                raise ValueError
            dates[name] = date.fromisoformat(raw[name])
        except ValueError:
            errors.append(LineError(line, f"{name} {raw[name]!r} is not a date in the form YYYY-MM-DD"))
    if len(dates) == 2 and dates["period_end"] < dates["period_start"]:
        errors.append(LineError(line, "period_end is before period_start"))
    counts = {}
    for name in COUNT_COLUMNS:
        value = raw[name]
        if not COUNT_RE.fullmatch(value) or int(value) > MAX_COUNT:
            errors.append(LineError(line, f"{name} {value!r} must be a whole number from 0 to {MAX_COUNT:,}"))
        else:
            counts[name] = int(value)
    if "complaints" in counts and "complaints_sustained" in counts and \
            counts["complaints_sustained"] > counts["complaints"]:
        errors.append(LineError(line, "complaints_sustained is more than complaints"))
    safety = None
    if raw["resident_safety_score"]:
        try:
            safety = Decimal(raw["resident_safety_score"])
            if not safety.is_finite() or not (1 <= safety <= 5):
                raise InvalidOperation
            safety = safety.quantize(Decimal("0.01"))
        except InvalidOperation:
            errors.append(LineError(line, f"resident_safety_score {raw['resident_safety_score']!r} must be a "
                                          "number from 1 to 5, or empty"))
    if len(errors) > before:
        return None
    return MetricRow(line, badge, dates["period_start"], dates["period_end"], resident_safety_score=safety, **counts)


@dataclass(frozen=True)
class Community:
    """One officer's community-policing figures for a period: the import plus the
    activities their supervisor verified in it."""
    compliments: int = 0
    complaints: int = 0
    complaints_sustained: int = 0
    community_meetings: int = 0
    problem_solving_projects: int = 0
    resident_safety_score: float | None = None
    verified_activities: int = 0
    verified_hours: float = 0.0


def community_score(c: Community | None) -> float | None:
    """The community-policing part of the composite, on 1-5: the mean of what is known of
    - residents' sense of safety on the beat (the survey, already 1-5);
    - contact: 3 + 2 x (compliments - sustained complaints) / (compliments + sustained complaints);
    - engagement: 1 + (meetings + problem-solving projects + verified activities) / 3, at most 5.
    None when there are no figures for the period."""
    if c is None:
        return None
    parts = [1 + min(4.0, (c.community_meetings + c.problem_solving_projects + c.verified_activities) / 3)]
    if c.resident_safety_score is not None:
        parts.append(float(c.resident_safety_score))
    if c.compliments + c.complaints_sustained:
        parts.append(3 + 2 * (c.compliments - c.complaints_sustained) / (c.compliments + c.complaints_sustained))
    return round(sum(parts) / len(parts), 3)  # (statistics.mean is exact but slow for a whole department)


def group_mean(total: int, count: int) -> float | None:
    return round(total / count, 3) if count else None


def years_of_service(hired: "date", on: "date") -> float:
    return round(max(0, (on - hired).days) / 365.25, 1)


# --- the cycle's life ---------------------------------------------------------------------------

REMINDER_LEADS = (7, 3, 1)
MOVES = {"open": ("draft", "open"), "close": ("open", "closed"), "publish": ("closed", "published")}


def refuse_move(move: str, status: str, *, assignments: int, criteria: int, today: date, closes_on: date) -> str | None:
    """Why a cycle in `status` cannot make `move` (open, close, publish) now, or None if it can."""
    if move not in MOVES:
        return "Unknown step."
    before, _ = MOVES[move]
    if status != before:
        return {"open": "Only a draft cycle can be opened.", "close": "Only an open cycle can be closed.",
                "publish": "Only a closed cycle can be published."}[move]
    if move == "open":
        if criteria == 0:
            return "The rubric has no criteria."
        if assignments == 0:
            return "The cycle has no assignments: generate them first."
        if closes_on < today:
            return "The close date has passed: move it first."
    return None


def reminder_lead(closes_on: date, today: date, leads=REMINDER_LEADS) -> int | None:
    """The "N days before close" reminder due today: the nearest lead not yet passed
    (so a sweep that missed a day still sends the next one); None before the first lead
    and after the close date."""
    days_left = (closes_on - today).days
    if days_left < 0:
        return None
    fitting = [lead for lead in leads if days_left <= lead]
    return min(fitting) if fitting else None


def ready_to_release(held: int, threshold: int) -> bool:
    """Held anonymous reviews of one subject and group go into the results together,
    and only once there are at least `threshold` of them: every release holds several
    reviews and none can be told from the others. At the close, what is left below the
    threshold is deleted unread: released alone, it could be told apart by comparing
    the results before and after (or, for someone with the database, by who submitted)."""
    return held >= threshold
