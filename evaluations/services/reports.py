"""Reports: a subject's report, a supervisor's upward feedback, and HR's retention and
promotion matrix. Every view writes an audit entry. Anonymous groups below the
cycle's threshold show nothing and count in no total (evaluations.rules)."""
import csv
import hashlib
import io
from dataclasses import dataclass, field

from sqlalchemy import String, func, select, type_coerce

from core.audit import Actor, record
from core.csvsafe import cell
from core.db import db, get_or_404
from core.errors import NotFound
from core.models import Officer, Role, Unit
from core.pagination import Page, paginate
from evaluations import rules
from evaluations.models import (
    GROUP_LABELS,
    AnonymousReview,
    AssignmentStatus,
    CycleStatus,
    RaterGroup,
    Review,
    ReviewAssignment,
    ReviewCycle,
)
from evaluations.services import metrics
from evaluations.services.common import get_cycle, officer_of, weights
from evaluations.services.rubrics import competencies


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def _group_reviews(cycle: ReviewCycle, subject_id: int) -> dict[str, tuple[list[dict], list[str]]]:
    """Per group: the submitted reviews' scores and the non-empty comments."""
    out: dict[str, tuple[list, list]] = {}
    for group, scores, comment in db.session.execute(
            select(ReviewAssignment.group, Review.scores, Review.comment)
            .join(Review, Review.assignment_id == ReviewAssignment.id)
            .where(ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id == subject_id,
                   ReviewAssignment.status == AssignmentStatus.SUBMITTED)):
        reviews, comments = out.setdefault(group.value, ([], []))
        reviews.append(scores)
        if comment:
            comments.append(comment)
    for group, scores, comment in db.session.execute(
            select(AnonymousReview.group, AnonymousReview.scores, AnonymousReview.comment)
            .where(AnonymousReview.cycle_id == cycle.id, AnonymousReview.subject_id == subject_id)):
        reviews, comments = out.setdefault(group.value, ([], []))
        reviews.append(scores)
        if comment:
            comments.append(comment)
    return out


def _results(cycle: ReviewCycle, subject_id: int, groups: list[str]) -> list[rules.GroupResult]:
    found = _group_reviews(cycle, subject_id)
    return [rules.group_result(g, *found.get(g, ([], [])), anonymous=cycle.is_anonymous(g),
                               threshold=cycle.threshold, seed=_seed(cycle.id, subject_id, g)) for g in groups]


def _bar(value: float | None) -> int:
    return 0 if value is None else max(0, min(100, round(value / 5 * 20) * 5))


@dataclass
class CriterionLine:
    text: str
    by_group: dict          # group -> mean (None: not shown / not asked)
    others: float | None
    gap: float | None       # self minus others


@dataclass
class Section:
    competency: str
    lines: list
    chart: list             # [(group label, mean, bar class number)]


@dataclass
class SubjectReport:
    cycle: ReviewCycle
    subject: Officer
    results: list
    sections: list
    community: tuple        # (this period, last period)
    community_score: float | None
    labels: dict = field(default_factory=lambda: GROUP_LABELS)

    @property
    def shown_groups(self) -> list[str]:
        return [r.group for r in self.results if r.shown]


def _may_read(actor: Actor, subject: Officer) -> bool:
    if actor.has_role(Role.HR):
        return True
    me = officer_of(actor)
    return me is not None and (me.id == subject.id or subject.supervisor_id == me.id)


def _subject(cycle: ReviewCycle, subject_id: int) -> Officer:
    subject = db.session.get(Officer, subject_id)
    in_cycle = subject is not None and db.session.scalar(select(func.count()).where(
        ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id == subject_id))
    if not in_cycle:
        raise NotFound("No such report.")
    return subject


def subject_report(actor: Actor, cycle_id: int, subject_id: int, *, fmt: str = "page") -> SubjectReport:
    """The subject's report after publication: for the subject, their supervisor and HR."""
    cycle = get_cycle(cycle_id)
    subject = _subject(cycle, subject_id)
    if not _may_read(actor, subject) or cycle.status != CycleStatus.PUBLISHED:
        raise NotFound("No such report.")
    asked = set(db.session.scalars(select(ReviewAssignment.group).distinct().where(
        ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id == subject.id)))
    groups = [g.value for g in RaterGroup if g in asked]
    results = _results(cycle, subject.id, groups)
    shown = {r.group: r for r in results if r.shown}
    others = rules.overall([r for r in results if r.group != RaterGroup.SELF])
    sections = []
    for competency, criteria in competencies(cycle.rubric):
        criteria = [c for c in criteria if any(c.answered_by(g) for g in groups)]  # none asked: not shown
        if not criteria:
            continue
        lines = []
        for c in criteria:
            key = str(c.id)
            by_group = {g: shown[g].means.get(key) if g in shown else None for g in groups}
            mine, rest = by_group.get("self"), others.get(key)
            lines.append(CriterionLine(c.text, by_group, rest,
                                       round(mine - rest, 2) if mine is not None and rest is not None else None))
        chart = []
        for g in groups:
            values = [line.by_group[g] for line in lines if line.by_group.get(g) is not None]
            if values:
                value = round(sum(values) / len(values), 2)
                chart.append((GROUP_LABELS[g], value, _bar(value)))
        sections.append(Section(competency, lines, chart))
    current, previous = metrics.community_pair(subject.id, cycle.closes_on)
    report = SubjectReport(cycle, subject, results, sections, (current, previous),
                           rules.community_score(current.figures if current else None))
    record(actor, "review.report.view", target=f"cycle:{cycle.id}:officer:{subject.id}",
           detail=f"subject report of {subject.badge_number} ({fmt})")
    db.session.commit()
    return report


@dataclass
class UpwardReport:
    cycle: ReviewCycle
    supervisor: Officer
    assigned: int
    result: rules.GroupResult
    sections: list          # [(competency, [(criterion text, mean)])]


def upward_report(actor: Actor, cycle_id: int, officer_id: int | None = None) -> UpwardReport:
    """What a supervisor's direct reports said, aggregated, under the threshold rule. The
    supervisor reads their own; HR reads anyone's. While the cycle is open it holds the
    reviews released so far (they are released only in groups of the threshold or more)."""
    cycle = get_cycle(cycle_id)
    if officer_id is None:
        supervisor = officer_of(actor)
        if supervisor is None:
            raise NotFound("No such report.")
    else:
        actor.require(Role.HR)
        supervisor = get_or_404(Officer, officer_id, "No such report.")
    if cycle.status == CycleStatus.DRAFT:
        raise NotFound("No such report.")
    assigned = db.session.scalar(select(func.count()).where(
        ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.subject_id == supervisor.id,
        ReviewAssignment.group == RaterGroup.DIRECT_REPORT))
    if not assigned:
        raise NotFound("No such report.")
    result = _results(cycle, supervisor.id, [RaterGroup.DIRECT_REPORT.value])[0]
    sections = [(competency, [(c.text, result.means.get(str(c.id))) for c in criteria])
                for competency, criteria in competencies(cycle.rubric, RaterGroup.DIRECT_REPORT.value)]
    record(actor, "review.upward.view", target=f"cycle:{cycle.id}:officer:{supervisor.id}",
           detail=f"upward feedback of {supervisor.badge_number}")
    db.session.commit()
    return UpwardReport(cycle, supervisor, assigned, result, sections)


def upward_cycles(actor: Actor) -> list[ReviewCycle]:
    """Cycles in which the signed-in officer has direct reports reviewing them."""
    me = officer_of(actor)
    if me is None:
        return []
    return list(db.session.scalars(select(ReviewCycle).where(
        ReviewCycle.status != CycleStatus.DRAFT, ReviewCycle.id.in_(
            select(ReviewAssignment.cycle_id).where(ReviewAssignment.subject_id == me.id,
                                                    ReviewAssignment.group == RaterGroup.DIRECT_REPORT)))
        .order_by(ReviewCycle.closes_on.desc())))


def readable_reports(actor: Actor) -> list[tuple[ReviewCycle, Officer]]:
    """Published reports the signed-in officer may read: their own and their direct reports'."""
    me = officer_of(actor)
    if me is None:
        return []
    return db.session.execute(
        select(ReviewCycle, Officer).join(ReviewAssignment, ReviewAssignment.cycle_id == ReviewCycle.id)
        .join(Officer, Officer.id == ReviewAssignment.subject_id)
        .where(ReviewCycle.status == CycleStatus.PUBLISHED, ReviewAssignment.group == RaterGroup.SELF,
               (Officer.id == me.id) | (Officer.supervisor_id == me.id))
        .order_by(ReviewCycle.closes_on.desc(), Officer.id != me.id, Officer.last_name)).all()


# --- the retention and promotion matrix ------------------------------------------------------------

@dataclass(slots=True)
class MatrixLine:
    officer_id: int
    name: str
    badge: str
    unit: str
    rank_title: str
    group_means: dict
    community: float | None
    composite: float | None
    rank: int | None
    years: float
    seniority_rank: int

    @property
    def disagreement(self) -> int | None:
        return None if self.rank is None else self.seniority_rank - self.rank


@dataclass
class Matrix:
    cycle: ReviewCycle
    weights: dict
    page: Page
    units: list
    ranks: list
    threshold: int


def _rows(statement) -> list:
    """Plain rows through Core: the matrix reads a row per officer, and the ORM's row
    machinery would be most of its time at 10,000 officers."""
    return db.session.connection().execute(statement).all()


def _matrix_lines(cycle: ReviewCycle, unit_id: int | None, rank_title: str | None) -> list[MatrixLine]:
    subjects = _rows(
        select(Officer.id, Officer.first_name, Officer.last_name, Officer.badge_number, Unit.name, Officer.rank,
               Officer.hire_date, Officer.unit_id)
        .join(Unit, Unit.id == Officer.unit_id)
        .where(Officer.id.in_(select(ReviewAssignment.subject_id).where(ReviewAssignment.cycle_id == cycle.id))))
    if unit_id is not None:
        subjects = [s for s in subjects if s.unit_id == unit_id]
    if rank_title:
        subjects = [s for s in subjects if s.rank == rank_title]
    sums: dict[tuple[int, str], list[int]] = {}
    # The group as its text (no Enum conversion of some 40,000 rows at 10,000 officers).
    named = (select(ReviewAssignment.subject_id, type_coerce(ReviewAssignment.group, String),
                    func.sum(Review.score_total),
                    func.sum(Review.score_count), func.count())
             .join(Review, Review.assignment_id == ReviewAssignment.id)
             .where(ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.status == AssignmentStatus.SUBMITTED)
             .group_by(ReviewAssignment.subject_id, ReviewAssignment.group))
    anonymous = (select(AnonymousReview.subject_id, type_coerce(AnonymousReview.group, String),
                        func.sum(AnonymousReview.score_total),
                        func.sum(AnonymousReview.score_count), func.count())
                 .where(AnonymousReview.cycle_id == cycle.id)
                 .group_by(AnonymousReview.subject_id, AnonymousReview.group))
    for query in (named, anonymous):
        for subject_id, group, total, count, reviews in _rows(query):
            entry = sums.setdefault((subject_id, group), [0, 0, 0])
            entry[0] += int(total or 0)
            entry[1] += int(count or 0)
            entry[2] += reviews
    community = metrics.community_for(None, cycle.closes_on)
    w = weights()
    on = cycle.closes_on
    scores, years, parts = {}, {}, {}
    groups = [(g.value, g.value, cycle.is_anonymous(g.value)) for g in RaterGroup]
    threshold, nothing = cycle.threshold, (0, 0, 0)
    for s in subjects:
        means = {}
        for g, key, anonymous_group in groups:
            total, count, reviews = sums.get((s.id, g), nothing)
            means[key] = None if anonymous_group and reviews < threshold else rules.group_mean(total, count)
        period = community.get(s.id)
        score = rules.community_score(period.figures if period else None)
        parts[s.id] = (means, score)
        scores[s.id] = rules.composite(means, score, w)
        years[s.id] = rules.years_of_service(s.hire_date, on)
    ranked = rules.rank(scores, years) if subjects else []
    info = {s.id: s for s in subjects}
    return [MatrixLine(r.subject_id, f"{info[r.subject_id].last_name}, {info[r.subject_id].first_name}",
                       info[r.subject_id].badge_number, info[r.subject_id].name, info[r.subject_id].rank,
                       parts[r.subject_id][0], parts[r.subject_id][1], r.composite, r.rank, r.years_of_service,
                       r.seniority_rank) for r in ranked]


def _matrix_cycle(actor: Actor, cycle_id: int) -> ReviewCycle:
    actor.require(Role.HR)
    cycle = get_cycle(cycle_id)
    if cycle.status != CycleStatus.PUBLISHED:
        raise NotFound("The matrix is ready once the cycle is published.")
    return cycle


def matrix(actor: Actor, cycle_id: int, *, unit_id: int | None = None, rank_title: str | None = None,
           page: int = 1, per_page: int = 100) -> Matrix:
    """Every subject's composite and its rank beside their seniority rank (both among
    the officers shown). A fixed number of queries, whatever the department's size."""
    cycle = _matrix_cycle(actor, cycle_id)
    lines = _matrix_lines(cycle, unit_id, rank_title)
    units = db.session.execute(select(Unit.id, Unit.name).order_by(Unit.name)).all()
    ranks = list(db.session.scalars(select(Officer.rank).distinct().order_by(Officer.rank)))
    record(actor, "review.matrix.view", target=f"cycle:{cycle.id}",
           detail=f"retention and promotion matrix (unit {unit_id or 'all'}, rank {rank_title or 'all'})")
    db.session.commit()
    # Ranks are among everyone shown, so every line is built and the page cut from them.
    return Matrix(cycle, weights(), paginate(lines, page, per_page), units, ranks, cycle.threshold)


def matrix_csv(actor: Actor, cycle_id: int, *, unit_id: int | None = None, rank_title: str | None = None) -> str:
    cycle = _matrix_cycle(actor, cycle_id)
    lines = _matrix_lines(cycle, unit_id, rank_title)
    w = weights()
    out = io.StringIO()
    writer = csv.writer(out)
    # Rectangular, as a spreadsheet reads it: every row has every column, the page's
    # "Difference" included, and the weights the composite used on each row.
    used = " ".join(f"{k}={v:g}" for k, v in w.items())
    writer.writerow(["rank", "composite", "badge_number", "name", "unit", "rank_title", "self", "supervisor", "peers",
                     "direct_reports", "community", "years_of_service", "seniority_rank", "difference", "weights"])
    for line in lines:
        m = line.group_means
        writer.writerow([line.rank or "", "" if line.composite is None else f"{line.composite:.3f}",
                         cell(line.badge), cell(line.name), cell(line.unit), cell(line.rank_title),
                         *("" if m[g] is None else f"{m[g]:.2f}"
                           for g in ("self", "supervisor", "peer", "direct_report")),
                         "" if line.community is None else f"{line.community:.2f}", f"{line.years:.1f}",
                         line.seniority_rank, "" if line.disagreement is None else f"{line.disagreement:+d}", used])
    record(actor, "review.matrix.export", target=f"cycle:{cycle.id}", detail=f"{len(lines)} line(s)")
    db.session.commit()
    return out.getvalue()


