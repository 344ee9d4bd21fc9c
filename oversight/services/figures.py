"""The command role's figures: aggregates by unit, month, rater group and rank, never a
person. Each function runs a fixed number of SQL aggregates (the number of officers
does not change how many), then hands plain counts to oversight.rules, which hides
small numbers and adds up totals from what is shown.

What counts, and what does not:
- The roster is today's: an officer counts in their current unit from their hire date
  (the roster keeps no history of units); separated officers are left out.
- Compliant on a day, as on HR's dashboard: the officer's last wellness evaluation was
  completed within the interval (WELLNESS_INTERVAL_MONTHS) before that day.
- Confidential self-referrals answer no evaluation and count for nothing here; they
  appear only as monthly counts.
"""
from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import case, func, select

from core import department
from core.audit import Actor, record
from core.db import db
from core.models import Officer, OfficerStatus, Role, Unit
from core.suppression import Cell, count_cell, hidden, median_cell, sum_cell
from evaluations.models import (GROUP_LABELS, Activity, ActivityStatus, AssignmentStatus, CycleStatus,
                                ResultLine, ResultVersion, ReviewAssignment, ReviewCycle)
from oversight import rules
from wellness import rules as wellness_rules
from wellness.services import appointments
from wellness.services.common import settings as wellness_settings
from oversight.rules import Row, Series, Table
from wellness.models import (CriticalIncident, EvaluationIncident, EvaluationKind,
                             EvaluationStatus, WellnessEvaluation)

DEPARTMENT = "Department (groups shown)"


def threshold() -> int:
    return current_app.config["SUPPRESSION_THRESHOLD"]


def month_ends(end: date, months: int) -> list[date]:
    """The last day of each of the `months` months up to `end` (`end` itself for its own month)."""
    days, first = [], end.replace(day=1)
    for _ in range(months):
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        days.append(min(last, end))
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(days))


# --- wellness compliance ------------------------------------------------------------------

def _compliance_history(days: list[date]) -> dict[date, list[tuple[str, int, int]]]:
    """For each of `days`: (unit, compliant, officers) for every unit with officers that
    day, as HR's dashboard counts them: compliant when the last wellness evaluation was
    completed within the interval (WELLNESS_INTERVAL_MONTHS) before that day. Two queries
    whatever the number of days: the officers, and the evaluations completed in the window
    the days need; the counting is done here (a year of month ends over 10,000 officers is
    some 100,000 comparisons, far cheaper than a correlated query per month)."""
    months = wellness_settings().interval_months
    earliest = wellness_rules.add_months(min(days), -months)
    officers = db.session.execute(
        select(Officer.id, Officer.hire_date, Unit.name).join(Unit, Unit.id == Officer.unit_id)
        .where(Officer.status != OfficerStatus.SEPARATED, Officer.hire_date <= max(days))).all()
    completions: dict[int, list[date]] = defaultdict(list)
    for officer_id, completed_on in db.session.execute(
            select(WellnessEvaluation.officer_id, WellnessEvaluation.completed_on)
            .where(WellnessEvaluation.status == EvaluationStatus.COMPLETED,
                   WellnessEvaluation.completed_on >= earliest, WellnessEvaluation.completed_on <= max(days))):
        completions[officer_id].append(completed_on)
    history = {}
    for day in days:
        since = wellness_rules.add_months(day, -months)
        per_unit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for officer_id, hired, unit in officers:
            if hired > day:
                continue
            counts = per_unit[unit]
            counts[1] += 1
            if any(since <= c <= day for c in completions.get(officer_id, ())):  # as HR's dashboard: on or after
                counts[0] += 1
        history[day] = [(unit, done, total) for unit, (done, total) in sorted(per_unit.items())]
    return history


def _compliance_counts(day: date) -> list[tuple[str, int, int]]:
    return _compliance_history([day])[day]


def compliance_by_unit(on: date) -> Table:
    """Per unit on `on`: officers, up to date, overdue, % up to date."""
    return rules.split_table("compliance", f"Wellness compliance on {on:%-d %B %Y}",
                             ["Unit", "Officers", "Compliant", "Not compliant", "% compliant"],
                             _compliance_counts(on), threshold(), DEPARTMENT)


def compliance_series(end: date, months: int = 12) -> Series:
    """Department-wide % up to date at each month's end: each month's figure adds up the
    units whose split is shown that month (as the table's total does)."""
    points, t = [], threshold()
    days = month_ends(end, months)
    history = _compliance_history(days)
    for day in days:
        table = rules.split_table("m", "", [], history[day], t, DEPARTMENT)
        points.append(table.total.cells[3] if table.total else hidden(t))
    return Series("compliance_series", "Wellness compliance, month by month (units shown)",
                  month_ends(end, months), points, "%")


# --- incident evaluations -----------------------------------------------------------------

def incident_timeliness(start: date, end: date) -> Table:
    """Incident evaluations due in the period, per unit: completed within their window
    (by their due date), % within, and the median days from the incident to completion.
    One not done and not yet due (the quarter is under way) is left out until it is."""
    occurred = (select(EvaluationIncident.evaluation_id, func.min(CriticalIncident.occurred_on).label("occurred_on"))
                .join(CriticalIncident, CriticalIncident.id == EvaluationIncident.incident_id)
                .where(CriticalIncident.withdrawn_at.is_(None))
                .group_by(EvaluationIncident.evaluation_id).subquery())
    rows = db.session.execute(
        select(Unit.name, WellnessEvaluation.due_on, WellnessEvaluation.completed_on, occurred.c.occurred_on)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id).join(Unit, Unit.id == Officer.unit_id)
        .join(occurred, occurred.c.evaluation_id == WellnessEvaluation.id)
        .where(WellnessEvaluation.kind == EvaluationKind.INCIDENT, WellnessEvaluation.status != EvaluationStatus.CLOSED,
               WellnessEvaluation.due_on >= start, WellnessEvaluation.due_on <= end)).all()
    per_unit: dict[str, list] = defaultdict(list)
    today = department.today()
    for row in rows:
        if row.completed_on is None and row.due_on >= today:
            continue  # not due yet (a quarter still under way): neither within nor late
        per_unit[row.name].append(row)
    t = threshold()
    groups = []
    for name in sorted(per_unit):
        items = per_unit[name]
        within = sum(1 for r in items if r.completed_on is not None and r.completed_on <= r.due_on)
        groups.append((name, within, len(items)))
    table = rules.split_table("incident", "Incident evaluations due in the period, completed within their window",
                              ["Unit", "Due", "Within window", "Not within", "% within", "Median days to completion"],
                              groups, t, DEPARTMENT)
    shown_days = []
    for row_ in table.rows:
        days = [(r.completed_on - r.occurred_on).days for r in per_unit[row_.label] if r.completed_on]
        if row_.suppressed:
            row_.cells.append(hidden(t))
        else:
            row_.cells.append(median_cell(days, t))
            shown_days += days
    if table.total:
        table.total.cells.append(median_cell(shown_days, t))
    return table


# --- 360 reviews ----------------------------------------------------------------------------

def review_participation(start: date, end: date) -> Table:
    """For the review cycles open during the period, per cycle and rater group: reviews
    asked for, submitted, not submitted, % submitted."""
    rows = db.session.execute(
        select(ReviewCycle.name, ReviewAssignment.group, func.count(ReviewAssignment.id),
               func.sum(case((ReviewAssignment.status == AssignmentStatus.SUBMITTED, 1), else_=0)))
        .join(ReviewCycle, ReviewCycle.id == ReviewAssignment.cycle_id)
        .where(ReviewCycle.status != CycleStatus.DRAFT, ReviewCycle.opens_on <= end, ReviewCycle.closes_on >= start)
        .group_by(ReviewCycle.name, ReviewAssignment.group).order_by(ReviewCycle.name, ReviewAssignment.group)).all()
    groups = [(f"{cycle}: {GROUP_LABELS.get(str(group), str(group))}", int(done or 0), asked)
              for cycle, group, asked, done in rows]
    return rules.split_table("participation", "360 review participation by rater group",
                             ["Cycle and rater group", "Asked", "Submitted", "Not submitted", "% submitted"],
                             groups, threshold(), "All groups shown")


def ranking_agreement(start: date, end: date) -> Table:
    """For the last published cycle that closed by the end of the period, per rank: how far
    the 360 composite ranking and seniority order the same officers alike (Spearman's
    rank correlation: 1, the same order; 0, unrelated; below 0, opposite)."""
    t = threshold()
    cycle = db.session.execute(
        select(ReviewCycle.id, ReviewCycle.name).where(ReviewCycle.status == CycleStatus.PUBLISHED,
                                                       ReviewCycle.closes_on <= end)
        .order_by(ReviewCycle.closes_on.desc(), ReviewCycle.id.desc()).limit(1)).first()
    table = Table("ranking", "360 composite and seniority, by rank", ["Rank", "Officers ranked", "Agreement"])
    if cycle is None:
        table.note = "No review cycle had published results by the end of the period."
        return table
    table.title = f"360 composite and seniority, by rank ({cycle.name})"
    version = db.session.scalar(select(func.max(ResultVersion.id)).where(ResultVersion.cycle_id == cycle.id))
    lines = db.session.execute(select(ResultLine.rank_title, ResultLine.composite, ResultLine.years)
                               .where(ResultLine.version_id == version, ResultLine.composite.is_not(None))).all()
    per_rank: dict[str, list] = defaultdict(list)
    for line in lines:
        per_rank[line.rank_title].append(line)
    left_out = 0
    for rank_title in sorted(per_rank):
        items = per_rank[rank_title]
        size = count_cell(len(items), t)
        if size.suppressed:
            table.rows.append(Row(rank_title, [size, hidden(t)], True))
            left_out += 1
            continue
        rho = rules.spearman([r.composite for r in items], [r.years for r in items])
        text = rules.agreement_words(rho) if rho is None else f"{rho:+.2f}: {rules.agreement_words(rho)}"
        table.rows.append(Row(rank_title, [size, Cell(text, None if rho is None else round(rho, 2))]))
    table.note = rules.left_out_note(left_out, t, "rank")
    return table


def engagement_hours(start: date, end: date) -> Table:
    """Verified community-engagement hours in the period, per unit: hours and the officers
    who logged them (a unit where fewer than the threshold did is not shown)."""
    rows = db.session.execute(
        select(Unit.name, func.sum(Activity.hours), func.count(func.distinct(Activity.officer_id)))
        .join(Officer, Officer.id == Activity.officer_id).join(Unit, Unit.id == Officer.unit_id)
        .where(Activity.status == ActivityStatus.VERIFIED, Activity.day >= start, Activity.day <= end)
        .group_by(Unit.name).order_by(Unit.name)).all()
    t = threshold()
    table = Table("engagement", "Verified community-engagement hours", ["Unit", "Officers with hours", "Hours"])
    hours_sum, people_sum, left_out = 0.0, 0, 0
    for name, hours, people in rows:
        cells = [count_cell(people, t), sum_cell(float(hours or 0), people, t)]
        shown = not cells[0].suppressed
        table.rows.append(Row(name, cells, not shown))
        if shown:
            hours_sum, people_sum = hours_sum + float(hours or 0), people_sum + people
        else:
            left_out += 1
    if people_sum:
        table.total = Row(DEPARTMENT, [count_cell(people_sum, t), sum_cell(hours_sum, people_sum, t)])
    table.note = rules.left_out_note(left_out, t, "unit")
    return table


# --- self-referrals -------------------------------------------------------------------------

def self_referrals(end: date, months: int = 12) -> Series:
    t = threshold()
    counts = appointments.self_referral_counts(end, months)
    return Series("self_referrals", "Confidential self-referrals, month by month (visits)",
                  [first for first, _ in counts], [count_cell(n, t) for _, n in counts], "visits",
                  "They count for nothing in the compliance figures; a month under the threshold shows "
                  f"\u201cfewer than {t}\u201d.")


# --- pages and reports ----------------------------------------------------------------------

def period_figures(start: date, end: date) -> dict:
    """Every figure for one period (a quarter): tables and series, as objects."""
    on = min(end, department.today())
    return {
        "tables": [compliance_by_unit(on), incident_timeliness(start, end), review_participation(start, end),
                   ranking_agreement(start, end), engagement_hours(start, end)],
        "series": [compliance_series(on), self_referrals(on)],
    }


def overview(actor: Actor, start: date, end: date) -> dict:
    """The command role's page (HR may open it too). Audited in the general log: the
    period, never a person. Commits."""
    actor.require(Role.COMMAND, Role.HR)
    figures = period_figures(start, end)
    record(actor, "oversight.figures_viewed", detail=f"{rules.quarter_name(start)}")
    db.session.commit()
    return figures


def table_for_csv(actor: Actor, key: str, start: date, end: date) -> Table | Series | None:
    """One table or series of the period by its key, for a CSV download. Audited. Commits."""
    actor.require(Role.COMMAND, Role.HR)
    on = min(end, department.today())
    makers = {"compliance": lambda: compliance_by_unit(on), "incident": lambda: incident_timeliness(start, end),
              "participation": lambda: review_participation(start, end),
              "ranking": lambda: ranking_agreement(start, end), "engagement": lambda: engagement_hours(start, end),
              "compliance_series": lambda: compliance_series(on), "self_referrals": lambda: self_referrals(on)}
    found = makers[key]() if key in makers else None
    if found is not None:
        record(actor, "oversight.figures_exported", detail=f"{key}, {rules.quarter_name(start)}")
        db.session.commit()
    return found


def quarter(start: date, end: date) -> dict:
    """The quarter's figures as JSON-able data, for a kept report."""
    figures = period_figures(start, end)
    return {"period": {"start": start.isoformat(), "end": end.isoformat(), "name": rules.quarter_name(start)},
            "threshold": threshold(),
            "tables": [rules.table_to_dict(t) for t in figures["tables"]],
            "series": [rules.series_to_dict(s) for s in figures["series"]]}


