"""Reports: a subject's report, a supervisor's upward feedback, and HR's retention and
promotion matrix. Every view writes an audit entry. Anonymous groups below the
cycle's threshold show nothing and count in no total (evaluations.rules)."""
import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import func, select

from core.audit import Actor, record
from core.csvsafe import cell
from core.db import db, get_or_404
from core.errors import NotFound
from core.models import Officer, Role
from core.pagination import Page, paginate
from evaluations import rules
from evaluations.models import (
    GROUP_LABELS,
    AnonymousReview,
    AssignmentStatus,
    CycleStatus,
    RaterGroup,
    ResultLine,
    ResultVersion,
    Review,
    ReviewAssignment,
    ReviewCycle,
)
from evaluations.services import pools, results
from evaluations.services.common import get_cycle, officer_of, seed_of
from evaluations.services.rubrics import competencies



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
                               threshold=cycle.threshold, seed=seed_of(cycle.id, subject_id, g)) for g in groups]


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
    version: ResultVersion | None = None     # the fixed results shown
    versions: list = field(default_factory=list)
    unit: str = ""                           # the subject's unit at publication
    standing: object = None                  # responses.Standing, when the caller adds it (the PDF)
    labels: dict = field(default_factory=lambda: GROUP_LABELS)

    @property
    def latest(self) -> bool:
        return not self.versions or self.version.number == self.versions[-1].number

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


def _group_results(groups: list[dict]) -> list[rules.GroupResult]:
    return [rules.GroupResult(g["group"], g["responses"], g["shown"], g["means"], tuple(g["comments"]))
            for g in groups]


def subject_report(actor: Actor, cycle_id: int, subject_id: int, *, fmt: str = "page",
                   version: int | None = None) -> SubjectReport:
    """The subject's report after publication, for the subject, their supervisor and HR:
    read from the cycle's fixed results (the latest version, or `version`)."""
    cycle = get_cycle(cycle_id)
    subject = _subject(cycle, subject_id)
    if not _may_read(actor, subject) or cycle.status != CycleStatus.PUBLISHED:
        raise NotFound("No such report.")
    fixed = results.current(cycle, version)
    line = results.line(fixed, subject.id)
    if line is None:
        raise NotFound("No such report.")
    found = _group_results(line.report.get("groups", []))
    groups = [r.group for r in found]
    shown = {r.group: r for r in found if r.shown}
    others = rules.overall([r for r in found if r.group != RaterGroup.SELF])
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
            values = [row.by_group[g] for row in lines if row.by_group.get(g) is not None]
            if values:
                value = round(sum(values) / len(values), 2)
                chart.append((GROUP_LABELS[g], value, _bar(value)))
        sections.append(Section(competency, lines, chart))
    community = (results.as_period(line.community.get("current")), results.as_period(line.community.get("previous")))
    report = SubjectReport(cycle, subject, found, sections, community, line.community_score, version=fixed,
                           versions=results.versions(cycle.id), unit=line.unit)
    record(actor, "review.report.view", target=f"cycle:{cycle.id}:officer:{subject.id}",
           detail=f"subject report of {subject.badge_number} ({fmt}), version {fixed.number}")
    db.session.commit()
    return report


@dataclass
class UpwardReport:
    cycle: ReviewCycle
    supervisor: Officer
    assigned: int
    result: rules.GroupResult
    sections: list          # [(competency, [(criterion text, mean)])]
    pool: tuple | None = None   # (unit id, unit name, responses) of the unit's pooled result


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
    pool = pools.pool_for(actor, cycle, supervisor) if cycle.status in (CycleStatus.CLOSED, CycleStatus.PUBLISHED) \
        else None
    record(actor, "review.upward.view", target=f"cycle:{cycle.id}:officer:{supervisor.id}",
           detail=f"upward feedback of {supervisor.badge_number}")
    db.session.commit()
    return UpwardReport(cycle, supervisor, assigned, result, sections, pool)


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
    version: ResultVersion | None = None
    versions: list = field(default_factory=list)


def _matrix_lines(version: ResultVersion, unit: str | None, rank_title: str | None) -> list[MatrixLine]:
    """The version's fixed lines, ranked among those shown (the ranks follow from the
    fixed composites and years, so they are the same every time)."""
    rows = [r for r in results.lines(version)
            if (not unit or r.unit == unit) and (not rank_title or r.rank_title == rank_title)]
    ranked = rules.rank({r.officer_id: r.composite for r in rows}, {r.officer_id: r.years for r in rows}) \
        if rows else []
    info = {r.officer_id: r for r in rows}
    return [MatrixLine(k.subject_id, info[k.subject_id].name, info[k.subject_id].badge, info[k.subject_id].unit,
                       info[k.subject_id].rank_title, info[k.subject_id].group_means,
                       info[k.subject_id].community_score, k.composite, k.rank, k.years_of_service, k.seniority_rank)
            for k in ranked]


def _matrix_cycle(actor: Actor, cycle_id: int) -> ReviewCycle:
    actor.require(Role.HR)
    cycle = get_cycle(cycle_id)
    if cycle.status != CycleStatus.PUBLISHED:
        raise NotFound("The matrix is ready once the cycle is published.")
    return cycle


def _filters(version: ResultVersion) -> tuple[list, list]:
    units = list(db.session.scalars(select(ResultLine.unit).distinct().where(ResultLine.version_id == version.id)
                                    .order_by(ResultLine.unit)))
    ranks = list(db.session.scalars(select(ResultLine.rank_title).distinct()
                                    .where(ResultLine.version_id == version.id).order_by(ResultLine.rank_title)))
    return units, ranks


def matrix(actor: Actor, cycle_id: int, *, unit: str | None = None, rank_title: str | None = None,
           page: int = 1, per_page: int = 100, version: int | None = None) -> Matrix:
    """Every subject's composite and its rank beside their seniority rank (both among
    the officers shown), from the cycle's fixed results. A fixed number of queries,
    whatever the department's size."""
    cycle = _matrix_cycle(actor, cycle_id)
    fixed = results.current(cycle, version)
    lines = _matrix_lines(fixed, unit, rank_title)
    units, ranks = _filters(fixed)
    record(actor, "review.matrix.view", target=f"cycle:{cycle.id}",
           detail=f"retention and promotion matrix, version {fixed.number} (unit {unit or 'all'}, "
                  f"rank {rank_title or 'all'})")
    db.session.commit()
    # Ranks are among everyone shown, so every line is built and the page cut from them.
    return Matrix(cycle, dict(fixed.weights), paginate(lines, page, per_page), units, ranks, fixed.threshold,
                  fixed, results.versions(cycle.id))


def matrix_csv(actor: Actor, cycle_id: int, *, unit: str | None = None, rank_title: str | None = None,
               version: int | None = None) -> str:
    cycle = _matrix_cycle(actor, cycle_id)
    fixed = results.current(cycle, version)
    lines = _matrix_lines(fixed, unit, rank_title)
    out = io.StringIO()
    writer = csv.writer(out)
    # Rectangular, as a spreadsheet reads it: every row has every column, the page's
    # "Difference" included, and the version and weights the composite used on each row.
    used = " ".join(f"{k}={v:g}" for k, v in fixed.weights.items())
    writer.writerow(["rank", "composite", "badge_number", "name", "unit", "rank_title", "self", "supervisor", "peers",
                     "direct_reports", "community", "years_of_service", "seniority_rank", "difference", "weights",
                     "version"])
    for line in lines:
        m = line.group_means
        writer.writerow([line.rank or "", "" if line.composite is None else f"{line.composite:.3f}",
                         cell(line.badge), cell(line.name), cell(line.unit), cell(line.rank_title),
                         *("" if m.get(g) is None else f"{m[g]:.2f}"
                           for g in ("self", "supervisor", "peer", "direct_report")),
                         "" if line.community is None else f"{line.community:.2f}", f"{line.years:.1f}",
                         line.seniority_rank, "" if line.disagreement is None else f"{line.disagreement:+d}", used,
                         fixed.number])
    record(actor, "review.matrix.export", target=f"cycle:{cycle.id}",
           detail=f"{len(lines)} line(s), version {fixed.number}")
    db.session.commit()
    return out.getvalue()
