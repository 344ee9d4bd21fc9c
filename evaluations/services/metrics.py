"""Community-policing metrics: HR's import per period, and the engagement activities
officers log and their supervisors verify."""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, bindparam, delete, func, select

from core import clock
from core.audit import Actor, record
from core.db import db, upsert_insert
from core.department import today
from core.errors import DomainError, NotFound
from core.models import Officer, Role
from core.pagination import Page, paginate
from core.services import imports
from core.services.imports import CHUNK
from core.rules import PERIOD_END_AHEAD, LineError, event_date_problem, period_date_problem
from evaluations import rules
from evaluations.models import (Activity, ActivityKind, ActivityStatus, CommunityMetric, ResultLine, ResultVersion,
                                ReviewCycle)
from evaluations.services.common import officer_of


@dataclass
class MetricsReport:
    dry_run: bool
    errors: list[LineError] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    replaced: int = 0
    periods: list[tuple[date, date]] = field(default_factory=list)
    removed: list[tuple[str, date, date]] = field(default_factory=list)   # (badge, start, end) a replace deletes

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        """The counts, as kept on the import job."""
        return {"rows": self.rows, "created": self.created, "replaced": self.replaced,
                "periods": [[a.isoformat(), b.isoformat()] for a, b in self.periods[:50]],
                "period_count": len(self.periods)}


def import_metrics(actor: Actor, data: bytes | str, *, dry_run: bool, filename: str = "metrics.csv",
                   progress=None, finish=None, replace: bool = False) -> MetricsReport:
    """HR (through an import job) or the command line imports a metrics file: validate
    the whole file, then write every row in one transaction, or write nothing. Period
    dates lie between 1900 and today. One officer's periods never overlap: a line whose
    period overlaps another of the file, or one already imported, for the same officer is
    refused, unless HR asked to `replace` (then the overlapping periods already imported
    are deleted and the line written; never a period a published cycle used).
    `progress(phase, done, total)` hears of each chunk checked or written;
    `finish(report)` may add to the transaction just before it commits. Commits.

    Sized for 200,000 rows: the file is checked as a stream (keeping per period only
    each badge's line) and read again, a chunk at a time, to be written."""
    actor.require(Role.HR)
    from evaluations.services import results   # (results reads this module's figures)
    results.record_missing()   # a cycle published before results were kept is fixed before any import
    progress = progress or imports.no_progress
    report = MetricsReport(dry_run=dry_run)
    badges = _badge_ids()
    total_lines = imports.line_count(data)
    progress("checking", 0, total_lines)
    scan = rules.MetricScan(badges)
    on = today()
    used = _published_periods()
    for chunk in imports.batches(scan.rows(data)):
        for row in chunk:
            scan.errors.extend(_period_problems(row, on))
        replaced, problems = _overlapping(chunk, badges, replace, used, report.removed)
        report.replaced += replaced
        scan.errors.extend(problems)
        progress("checking", min(chunk[-1].line, total_lines), total_lines)
    scan.errors.sort(key=lambda e: e.line)
    if not scan.ok:
        return imports.rejected(actor, "metrics", filename, report, scan.errors, finish)
    report.rows = scan.count
    report.periods = scan.periods
    report.created = report.rows - report.replaced
    del scan
    if dry_run:
        imports.settle(finish, report)
        return report
    now = clock.now()
    progress("writing", 0, report.rows)
    # One statement, compiled once, run over each chunk of rows (executemany): a
    # statement with a thousand VALUES rows costs more to compile than to run.
    stmt = upsert_insert(CommunityMetric)
    stmt = stmt.on_conflict_do_update(
        index_elements=["officer_id", "period_start", "period_end"],
        set_={c: getattr(stmt.excluded, c) for c in rules.COUNT_COLUMNS + ("resident_safety_score", "imported_at")})
    table = CommunityMetric.__table__
    clear = delete(table).where(table.c.officer_id == bindparam("oid"), table.c.period_start <= bindparam("end"),
                                table.c.period_end >= bindparam("start"))
    done = 0
    for chunk in imports.batches(rules.metric_rows_again(data)):
        if replace and report.replaced:
            db.session.connection().execute(clear, [dict(oid=badges[r.badge_number], start=r.period_start,
                                                         end=r.period_end) for r in chunk])
        values = [dict(officer_id=badges[r.badge_number], period_start=r.period_start, period_end=r.period_end,
                       compliments=r.compliments, complaints=r.complaints, complaints_sustained=r.complaints_sustained,
                       community_meetings=r.community_meetings, problem_solving_projects=r.problem_solving_projects,
                       resident_safety_score=r.resident_safety_score, imported_at=now)
                  for r in chunk]
        db.session.execute(stmt, values)
        done += len(chunk)
        progress("writing", done, report.rows)
    removed = sorted(set(report.removed))
    record(actor, "metrics.import", target=filename,
           detail=f"{report.rows} row(s): {report.created} new, {report.replaced} replacing figures already "
                  f"imported{' (replace asked for)' if replace else ''}; periods "
                  + ", ".join(f"{a} to {b}" for a, b in report.periods[:50])
                  + (f"; deleted {len(removed)} period(s) of officers: "
                     + ", ".join(f"{badge} {a} to {b}" for badge, a, b in removed[:200])
                     + (f" and {len(removed) - 200} more" if len(removed) > 200 else "") if removed else ""))
    imports.settle(finish, report)
    return report


def _badge_ids() -> dict[str, int]:
    """badge -> officer id of the whole roster, read as a stream (200,000 officers: about
    25 MB, where a list of result rows first would double it)."""
    query = select(Officer.badge_number, Officer.id).execution_options(yield_per=CHUNK)
    return {badge: officer_id for badge, officer_id in db.session.execute(query)}


def _published_periods() -> dict[tuple[date, date], str]:
    """(start, end) -> the name of a published cycle whose results used that period: the
    period a version chose, and, for a cycle published before periods were chosen, every
    officer's period its version 1 read (rare, and read once per import)."""
    used = {(a, b): name for a, b, name in db.session.execute(
        select(ResultVersion.metrics_start, ResultVersion.metrics_end, ReviewCycle.name)
        .join(ReviewCycle, ReviewCycle.id == ResultVersion.cycle_id)
        .where(ResultVersion.metrics_start.is_not(None)))}
    from evaluations.services.results import LEGACY
    for community, name in db.session.execute(
            select(ResultLine.community, ReviewCycle.name)
            .join(ResultVersion, ResultVersion.id == ResultLine.version_id)
            .join(ReviewCycle, ReviewCycle.id == ResultVersion.cycle_id)
            .where(ResultVersion.reason == LEGACY, ResultVersion.metrics_start.is_(None))):
        for key in ("current", "previous"):
            figures = (community or {}).get(key)
            if figures:
                used.setdefault((date.fromisoformat(figures["start"]), date.fromisoformat(figures["end"])), name)
    return used


def _overlapping(chunk: list[rules.MetricRow], badges: dict[str, int], replace: bool,
                 used: dict[tuple[date, date], str], removed: list) -> tuple[int, list[LineError]]:
    """Lines of `chunk` whose period overlaps one already imported for the officer: how
    many would replace figures (with `replace`), and the lines refused. One query."""
    ids = {badges[r.badge_number] for r in chunk}
    first, last = min(r.period_start for r in chunk), max(r.period_end for r in chunk)
    existing: dict[int, list[tuple[date, date]]] = {}
    for officer_id, start, end in db.session.execute(
            select(CommunityMetric.officer_id, CommunityMetric.period_start, CommunityMetric.period_end)
            .where(CommunityMetric.officer_id.in_(ids), CommunityMetric.period_start <= last,
                   CommunityMetric.period_end >= first)):
        existing.setdefault(officer_id, []).append((start, end))
    replaced, problems = 0, []
    for r in chunk:
        hits = sorted(p for p in existing.get(badges[r.badge_number], ())
                      if rules.periods_overlap(p, (r.period_start, r.period_end)))
        if not hits:
            continue
        if not replace:
            a, b = hits[0]
            problems.append(LineError(r.line, (
                "figures for this officer and period are already imported" if (a, b) == (r.period_start, r.period_end)
                else f"the period overlaps {a} to {b}, already imported for this officer")
                + ": one officer's periods never overlap (to overwrite them, import again with "
                  "\"Replace figures already imported\")"))
            continue
        fixed = [(p, used[p]) for p in hits if p in used]
        if fixed:
            (a, b), name = fixed[0]
            problems.append(LineError(r.line, f"the period {a} to {b} of this officer was used by the published cycle "
                                              f"{name!r}; its figures are kept as they are"))
            continue
        replaced += 1
        removed.extend((r.badge_number, a, b) for a, b in hits)
    return replaced, problems


def _period_problems(row: rules.MetricRow, on: date) -> list[LineError]:
    """A period starts between 1900 and today, and ends at most a year ahead."""
    problems = []
    for name, ahead in (("period_start", 0), ("period_end", PERIOD_END_AHEAD)):
        value = getattr(row, name)
        if problem := period_date_problem(value, on, ahead):
            problems.append(LineError(row.line, f"{name} {value.isoformat()} {problem}"))
    return problems


def periods(actor: Actor) -> list[tuple[date, date, int]]:
    actor.require(Role.HR)
    return db.session.execute(
        select(CommunityMetric.period_start, CommunityMetric.period_end, func.count())
        .group_by(CommunityMetric.period_start, CommunityMetric.period_end)
        .order_by(CommunityMetric.period_end.desc()).limit(24)).all()


# --- figures for reports ------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: date
    end: date
    figures: rules.Community


FIGURES = (CommunityMetric.id, CommunityMetric.officer_id, CommunityMetric.period_start, CommunityMetric.period_end,
           CommunityMetric.compliments, CommunityMetric.complaints, CommunityMetric.complaints_sustained,
           CommunityMetric.community_meetings, CommunityMetric.problem_solving_projects,
           CommunityMetric.resident_safety_score)


def _latest_metrics(officer_ids, on: date, before_end: date | None = None):
    """Per officer, the latest imported period that started by `on` (and, for the
    previous period, ended before `before_end`): a select of FIGURES."""
    cond = [CommunityMetric.period_start <= on]
    if before_end is not None:
        cond.append(CommunityMetric.period_end < before_end)
    if officer_ids is not None:
        cond.append(CommunityMetric.officer_id.in_(officer_ids))
    latest = (select(CommunityMetric.officer_id, func.max(CommunityMetric.period_end).label("end"))
              .where(*cond).group_by(CommunityMetric.officer_id).subquery())
    return (select(*FIGURES)
            .join(latest, and_(latest.c.officer_id == CommunityMetric.officer_id,
                               latest.c.end == CommunityMetric.period_end))
            .where(CommunityMetric.period_start <= on))


def _with_activities(query) -> dict[int, Period]:
    """The imported figures of `query` (a select of FIGURES) plus the verified
    activities in the same periods: meetings and problem-solving count as such; every
    verified activity counts toward engagement. Two queries, whatever the size."""
    metrics = db.session.connection().execute(query).all()   # plain rows: one per officer
    if not metrics:
        return {}
    by_officer = {m.officer_id: m for m in metrics}
    chosen = query.with_only_columns(CommunityMetric.id).subquery()
    counts: dict[int, dict] = {}
    for officer_id, kind, n, hours in db.session.connection().execute(
            select(Activity.officer_id, Activity.kind, func.count(), func.sum(Activity.hours))
            .join(CommunityMetric, and_(CommunityMetric.officer_id == Activity.officer_id,
                                        Activity.day.between(CommunityMetric.period_start, CommunityMetric.period_end)))
            .where(Activity.status == ActivityStatus.VERIFIED, CommunityMetric.id.in_(select(chosen.c.id)))
            .group_by(Activity.officer_id, Activity.kind)):
        counts.setdefault(officer_id, {})[kind] = (n, float(hours or 0))
    out = {}
    for officer_id, m in by_officer.items():
        acts = counts.get(officer_id, {})
        out[officer_id] = Period(m.period_start, m.period_end, rules.Community(
            compliments=m.compliments, complaints=m.complaints, complaints_sustained=m.complaints_sustained,
            community_meetings=m.community_meetings + acts.get(ActivityKind.MEETING, (0, 0))[0],
            problem_solving_projects=m.problem_solving_projects + acts.get(ActivityKind.PROBLEM_SOLVING, (0, 0))[0],
            resident_safety_score=float(m.resident_safety_score) if m.resident_safety_score is not None else None,
            verified_activities=sum(n for n, _ in acts.values()),
            verified_hours=round(sum(h for _, h in acts.values()), 1)))
    return out


def community_for(officer_ids: list[int] | None, on: date) -> dict[int, Period]:
    """Each officer's figures for the period current on `on` (None: every officer)."""
    return _with_activities(_latest_metrics(officer_ids, on))


def community_in(officer_ids: list[int], start: date, end: date) -> dict[int, Period]:
    """Each officer's figures for exactly the period `start`-`end` (a cycle's chosen period)."""
    return _with_activities(select(*FIGURES).where(CommunityMetric.period_start == start,
                                                    CommunityMetric.period_end == end,
                                                    CommunityMetric.officer_id.in_(officer_ids)))


def community_before(officer_ids: list[int], start: date) -> dict[int, Period]:
    """Each officer's latest period that ended before `start` (the "last period" column)."""
    return _with_activities(_latest_metrics(officer_ids, start, before_end=start))


def community_pair(officer_id: int, on: date) -> tuple[Period | None, Period | None]:
    """This period and the one before it, for a subject report."""
    current = community_for([officer_id], on).get(officer_id)
    if current is None:
        return None, None
    previous = _with_activities(_latest_metrics([officer_id], on, before_end=current.start)).get(officer_id)
    return current, previous


# --- activities ---------------------------------------------------------------------------------

def log_activity(actor: Actor, *, day: date, kind: str, hours: Decimal, note: str) -> Activity:
    me = officer_of(actor)
    if me is None:
        raise DomainError("Only officers on the roster log community activities.")
    date_problem = event_date_problem(day, today())
    if date_problem:
        raise DomainError(f"The date {date_problem}.")
    if not (Decimal("0") < hours <= Decimal("24")):
        raise DomainError("Hours go from 0.5 to 24.")
    activity = Activity(officer_id=me.id, day=day, kind=ActivityKind(kind), hours=hours, note=note.strip(),
                        status=ActivityStatus.PENDING, created_at=clock.now())
    db.session.add(activity)
    db.session.flush()
    record(actor, "activity.log", target=f"activity:{activity.id}", detail=f"{kind} on {day}, {hours} h")
    db.session.commit()
    return activity


def my_activities(actor: Actor, page: int = 1, per_page: int = 25) -> Page:
    me = officer_of(actor)
    if me is None:
        return Page([], 0, 1, per_page)
    return paginate(select(Activity).where(Activity.officer_id == me.id)
                    .order_by(Activity.day.desc(), Activity.id.desc()), page, per_page)


def to_verify(actor: Actor) -> list[Activity]:
    """Activities logged by the officers who report to the signed-in supervisor."""
    me = officer_of(actor)
    if me is None:
        return []
    return list(db.session.scalars(
        select(Activity).join(Officer, Officer.id == Activity.officer_id)
        .where(Officer.supervisor_id == me.id, Activity.status == ActivityStatus.PENDING)
        .order_by(Activity.day, Activity.id)))


def decide(actor: Actor, activity_id: int, verified: bool) -> Activity:
    """The officer's supervisor verifies (or rejects) a logged activity."""
    me = officer_of(actor)
    activity = db.session.get(Activity, activity_id)
    if me is None or activity is None or activity.officer.supervisor_id != me.id:
        raise NotFound("No such activity.")
    if activity.status != ActivityStatus.PENDING:
        raise DomainError("This activity has already been decided.")
    activity.status = ActivityStatus.VERIFIED if verified else ActivityStatus.REJECTED
    activity.verified_by_id, activity.verified_at = actor.user_id, clock.now()
    record(actor, "activity.verify" if verified else "activity.reject", target=f"activity:{activity.id}",
           detail=f"{activity.officer.badge_number}: {activity.kind.value} on {activity.day}")
    db.session.commit()
    return activity
