"""Wellness evaluations: the daily sweep, HR's compliance dashboard, and each
person's view of their own (or, for HR, anyone's) record."""
import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, literal_column, or_, select, text, update
from sqlalchemy.orm import aliased

from core import clock
from core.department import today
from core.rules import hire_date_problem
from core.audit import Actor, record
from core.csvsafe import cell
from core.db import UTCDateTime, db, get_or_404, upsert_insert
from core.models import Officer, OfficerStatus, Role, Unit, User
from core.pagination import Page
from wellness import rules
from wellness.models import (
    ACTIVE_APPOINTMENT,
    ATTENTION_KINDS,
    Appointment,
    AppointmentStatus,
    Clinician,
    EvaluationKind,
    ONE_OPEN_PREDICATE,
    EvaluationStatus,
    JobProblem,
    WellnessEvaluation,
)
from wellness.services import appointments, attention, reminders
from wellness.services.common import settings

OPEN = (EvaluationStatus.OPEN, EvaluationStatus.SCHEDULED)
SWEEP_JOB = "wellness sweep"
BATCH = 1000  # rows per INSERT of problems

log = logging.getLogger(__name__)


# --- the daily sweep -------------------------------------------------------------------

@dataclass
class SweepReport:
    opened: int = 0
    closed: int = 0
    paused: int = 0
    resumed: int = 0
    overdue: int = 0
    problems: dict[int, str] = field(default_factory=dict)  # officer id -> short reason

    def __str__(self):
        summary = (f"opened {self.opened} annual evaluation(s), closed {self.closed} (separated), "
                   f"paused {self.paused}, resumed {self.resumed} (leave), {self.overdue} overdue")
        if self.problems:
            summary += f"; could not process {len(self.problems)} officer(s)"
        return summary


def _reason(exc: Exception) -> str:
    """What is kept and shown of an error: its class only (a message may quote data)."""
    return f"error: {type(exc).__name__}"


def sweep(now: datetime | None = None) -> SweepReport:
    """The daily work, idempotent (run it twice, or in two processes, and nothing
    changes the second time): close the evaluations of separated officers, pause and
    resume for leave, open annual evaluations whose window has come, count the
    overdue. (Reminders, license warnings included, are wellness.services.reminders'.)
    Set-based: a fixed number of statements whatever the size of the roster, plus one
    INSERT per 1,000 evaluations opened.

    An officer it cannot process (a hire date out of range, an error in their own
    step) is skipped and reported, never allowed to stop the others: listed in the
    report, logged by id and reason, and kept in `job_problems` (replacing the last
    run's list) for HR's dashboard. Commits."""
    s = settings()
    now = now or clock.now()
    day = now.astimezone(s.zone).date()
    report = SweepReport()
    actor = Actor.system("wellness sweep")
    in_progress = WellnessEvaluation.status.in_(OPEN)

    separated = select(Officer.id).where(Officer.status == OfficerStatus.SEPARATED)
    leaving = db.session.scalars(select(Appointment).where(Appointment.status.in_(ACTIVE_APPOINTMENT),
                                                           Appointment.officer_id.in_(separated))).all()
    flagged = db.session.scalars(select(WellnessEvaluation.id).where(
        in_progress, WellnessEvaluation.officer_id.in_(separated), WellnessEvaluation.attention.is_not(None))).all()
    attention.close_all(flagged, actor, "officer separated")
    report.closed = db.session.execute(
        update(WellnessEvaluation).where(in_progress, WellnessEvaluation.officer_id.in_(separated))
        .values(status=EvaluationStatus.CLOSED, closed_reason="officer separated")).rowcount
    cancelled = 0
    for appointment in leaving:
        officer_id = appointment.officer_id
        try:
            with db.session.begin_nested():  # one failed cancellation is undone alone
                appointments.cancel_for_separation(appointment, now)
            cancelled += 1
        except Exception as exc:  # noqa: BLE001 -- isolated per officer, reported below
            report.problems[officer_id] = _reason(exc)

    on_leave = select(Officer.id).where(Officer.status == OfficerStatus.LEAVE)
    report.paused = db.session.execute(
        update(WellnessEvaluation).where(in_progress, WellnessEvaluation.paused_on.is_(None),
                                         WellnessEvaluation.officer_id.in_(on_leave))
        .values(paused_on=day)).rowcount
    back = db.session.scalars(
        select(WellnessEvaluation).join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .where(in_progress, WellnessEvaluation.paused_on.is_not(None), Officer.status == OfficerStatus.ACTIVE)).all()
    for evaluation in back:
        try:
            due_on = rules.resumed_due(evaluation.due_on, evaluation.paused_on, day)
            # The date to return to if an incident is withdrawn moves with it.
            base = rules.resumed_due(evaluation.base_due_on, evaluation.paused_on, day) \
                if evaluation.base_due_on else None
        except Exception as exc:  # noqa: BLE001 -- isolated per officer, reported below
            report.problems[evaluation.officer_id] = _reason(exc)
            continue
        evaluation.due_on, evaluation.base_due_on, evaluation.paused_on = due_on, base, None
        report.resumed += 1

    report.opened = _open_annual(s, day, now, report.problems)
    report.overdue = db.session.scalar(
        select(func.count()).select_from(WellnessEvaluation)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .where(in_progress, WellnessEvaluation.due_on < day, Officer.status == OfficerStatus.ACTIVE))
    _keep_problems(SWEEP_JOB, report.problems, now)
    if report.opened or report.closed or report.paused or report.resumed or cancelled or report.problems:
        record(actor, "wellness.sweep", detail=str(report), private=True)
    db.session.commit()
    if report.problems:
        # A count only: which officers is kept for HR (job_problems, the dashboard). An
        # officer id in the server log could tell its readers who has a wellness record.
        log.warning("wellness sweep: %d officer(s) not processed; HR's wellness dashboard lists them",
                    len(report.problems))
    return report


def _keep_problems(job: str, problems: dict[int, str], now: datetime) -> None:
    """Replace the job's list of officers it could not process, keeping when each was
    first seen (HR sees how long a roster value has been wrong)."""
    first_seen = dict(db.session.execute(select(JobProblem.officer_id, JobProblem.first_seen)
                                         .where(JobProblem.job == job)).all())
    if not first_seen and not problems:
        return
    db.session.execute(delete(JobProblem).where(JobProblem.job == job))
    rows = [{"job": job, "officer_id": officer_id, "reason": reason[:120],
             "first_seen": first_seen.get(officer_id, now), "last_seen": now}
            for officer_id, reason in sorted(problems.items())]
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(JobProblem), rows[start:start + BATCH])


def _open_annual(s, day: date, now: datetime, problems: dict[int, str]) -> int:
    """Open an annual evaluation for each active officer with none in progress whose
    next due date is within the scheduling window. An officer whose due date cannot be
    worked out (no completed evaluation and a hire date out of range) goes to
    `problems` instead."""
    last_completed = (select(WellnessEvaluation.officer_id, func.max(WellnessEvaluation.completed_on).label("last"))
                      .where(WellnessEvaluation.status == EvaluationStatus.COMPLETED)
                      .group_by(WellnessEvaluation.officer_id).subquery())
    has_open = select(WellnessEvaluation.id).where(WellnessEvaluation.officer_id == Officer.id,
                                                   WellnessEvaluation.status.in_(OPEN)).exists()
    candidates = db.session.execute(
        select(Officer.id, Officer.hire_date, last_completed.c.last)
        .outerjoin(last_completed, last_completed.c.officer_id == Officer.id)
        .where(Officer.status == OfficerStatus.ACTIVE, ~has_open)
    ).all()
    rows = []
    for officer_id, hire_date, last in candidates:
        try:
            if last is None and hire_date_problem(hire_date, day):
                problems[officer_id] = "hire date out of range"
                continue
            due = rules.annual_due(last, hire_date, day, s.interval_months, s.first_rule)
            if not rules.should_open_annual(due, day, s.open_window_days):
                continue
        except Exception as exc:  # noqa: BLE001 -- isolated per officer, reported by the sweep
            problems[officer_id] = _reason(exc)
            continue
        rows.append({"officer_id": officer_id, "kind": EvaluationKind.ANNUAL, "status": EvaluationStatus.OPEN,
                     "due_on": due, "opened_on": day, "created_at": now, "closed_reason": ""})
    if not rows:
        return 0
    # The index's own predicate as literal SQL: with bound values PostgreSQL cannot
    # match it once it plans the repeated statement generically (after ~5-10 batches).
    # One statement compiled once, sent with a list of rows: SQLAlchemy groups them into
    # multi-row INSERTs of 1,000 (7,000 bound values, far below SQLite's 32,766 and
    # PostgreSQL's 65,535) instead of compiling a new 7,000-parameter statement per batch.
    table = WellnessEvaluation.__table__
    stmt = (upsert_insert(table).on_conflict_do_nothing(index_elements=["officer_id"],
                                                        index_where=text(ONE_OPEN_PREDICATE))
            .returning(table.c.id))
    # Rows a concurrent sweep inserted first are skipped, and return no id.
    return len(db.session.connection().execute(stmt, rows).all())


def sweep_problems() -> list[tuple]:
    """The officers the last wellness sweep could not process, for HR's dashboard:
    (officer id, badge, last name, first name, reason, first seen), by badge."""
    return [tuple(row) for row in db.session.execute(
        select(JobProblem.officer_id, Officer.badge_number, Officer.last_name, Officer.first_name,
               JobProblem.reason, JobProblem.first_seen)
        .join(Officer, Officer.id == JobProblem.officer_id)
        .where(JobProblem.job == SWEEP_JOB).order_by(Officer.badge_number))]


# --- what people see -------------------------------------------------------------------

def next_due(officer: Officer, day: date | None = None) -> date:
    """The officer's next due date: the evaluation in progress, or the next annual one."""
    s = settings()
    day = day or today()
    current = db.session.scalar(select(WellnessEvaluation.due_on).where(
        WellnessEvaluation.officer_id == officer.id, WellnessEvaluation.status.in_(OPEN)))
    if current is not None:
        return current
    last = db.session.scalar(select(func.max(WellnessEvaluation.completed_on)).where(
        WellnessEvaluation.officer_id == officer.id, WellnessEvaluation.status == EvaluationStatus.COMPLETED))
    return rules.annual_due(last, officer.hire_date, day, s.interval_months, s.first_rule)


@dataclass
class Record:
    officer: Officer
    next_due: date
    current: WellnessEvaluation | None
    state: str | None
    appointments: list[Appointment] = field(default_factory=list)
    history: list[WellnessEvaluation] = field(default_factory=list)
    reminders: list = field(default_factory=list)
    attention: list = field(default_factory=list)  # HR's view only: the Needs attention items, open and resolved


def _record(officer: Officer, hr: bool = False) -> Record:
    day = today()
    evaluations = db.session.scalars(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id)
                                     .order_by(WellnessEvaluation.due_on.desc())).all()
    current = next((e for e in evaluations if e.is_open), None)
    # HR never sees a confidential self-referral; the officer sees theirs among their appointments.
    mine = select(Appointment).where(Appointment.officer_id == officer.id)
    if hr:
        mine = mine.where(Appointment.self_referral.is_(False))
    appointments = db.session.scalars(mine.order_by(Appointment.starts_at.desc())).all()
    active = next((a for a in appointments if a.is_active and not a.self_referral), None)
    state = state_of(current, officer.status.value, active.status.value if active else None, day,
                     with_attention=hr) if current else None
    upcoming = reminders.upcoming(current.due_on if current and current.status == EvaluationStatus.OPEN else None,
                                  active.starts_at if active else None)
    return Record(officer, next_due(officer, day), current, state, appointments,
                  [e for e in evaluations if not e.is_open], upcoming)


def my_record(actor: Actor) -> Record | None:
    """An officer's own wellness page."""
    actor.require(Role.OFFICER)
    user = db.session.get(User, actor.user_id)
    if user is None or user.officer_id is None:
        return None
    return _record(db.session.get(Officer, user.officer_id))


def officer_record(actor: Actor, officer_id: int) -> Record:
    """HR opens one officer's wellness record (statuses and dates only). Audited."""
    actor.require(Role.HR)
    officer = get_or_404(Officer, officer_id, "No such officer.")
    result = _record(officer, hr=True)
    result.attention = attention.history([e.id for e in ([result.current] if result.current else []) + result.history])
    record(actor, "wellness.record_viewed", target=f"officer {officer.badge_number}", private=True)
    db.session.commit()
    return result


# --- HR's compliance dashboard ---------------------------------------------------------

BASIC_STATES = ("overdue", "due_soon", "awaiting_confirmation", "confirmed", "paused", "open", "completed")
# An evaluation with an open item on the Needs attention list is in that item's state
# (the most pressing one), before overdue: what happened is what HR acts on.
ATTENTION_STATES = tuple(ATTENTION_KINDS)
STATES = BASIC_STATES + ATTENTION_STATES
# The one vocabulary: the label of each state an evaluation can be in, as every page
# (HR's dashboard, the incident pages, the officer's record), the dashboard CSV and the
# home pages show it. Emails about a Needs attention item use the same labels (KINDS).
STATE_LABELS = {"overdue": "Overdue", "due_soon": "Due within 30 days, not booked",
                "awaiting_confirmation": "Booked, awaiting confirmation", "confirmed": "Booked and confirmed",
                "paused": "Paused (officer on leave)", "open": "Open, not yet due", "completed": "Completed",
                "closed": "Closed", **ATTENTION_KINDS}
# An appointment's own status, likewise.
APPOINTMENT_LABELS = {"booked": "Booked, awaiting confirmation", "confirmed": "Confirmed",
                      "reschedule_requested": "Officer asked to reschedule", "declined": "Declined by the clinician",
                      "cancelled": "Cancelled", "attended": "Attended", "no_show": "Did not attend"}
# Most pressing first: the dashboard's "sort by status" order.
STATE_ORDER = (*rules.BEFORE_OVERDUE, "overdue", *(k for k in ATTENTION_KINDS if k not in rules.BEFORE_OVERDUE),
               "due_soon", "awaiting_confirmation", "confirmed", "open", "paused", "completed", "closed")


def state_label(state: str | None) -> str:
    """The label of an evaluation's state (a dashboard state, or completed/closed)."""
    if not state:
        return "—"
    return STATE_LABELS.get(state, state.replace("_", " ").capitalize())


def appointment_label(status) -> str:
    """The label of an appointment's status (an AppointmentStatus or its value)."""
    value = getattr(status, "value", status) or ""
    return APPOINTMENT_LABELS.get(value, value.replace("_", " ").capitalize())


def state_of(evaluation: WellnessEvaluation, officer_status: str, appointment_status: str | None, day: date,
             *, with_attention: bool = True) -> str:
    """One evaluation's state in the one vocabulary: completed or closed, or the
    dashboard's state of an evaluation in progress (wellness.rules.dashboard_state).
    Without attention (the officer's own page) the Needs attention item, HR's to act
    on, is left out and the state is the one it would have without it."""
    if not evaluation.is_open:
        return evaluation.status.value
    return rules.dashboard_state(evaluation.status.value, evaluation.due_on, day, officer_status,
                                 appointment_status, attention=evaluation.attention if with_attention else None)


def states_of(pairs) -> dict[int, str]:
    """Evaluation id -> state for (evaluation, officer) pairs (an incident's page):
    one query for their active appointments."""
    pairs = [(e, o) for e, o in pairs if e is not None]
    ids = [e.id for e, _ in pairs if e.is_open]
    active = dict(db.session.execute(
        select(Appointment.evaluation_id, Appointment.status)
        .where(Appointment.evaluation_id.in_(ids), Appointment.status.in_(ACTIVE_APPOINTMENT))).all()) if ids else {}
    day = today()
    return {e.id: state_of(e, o.status.value, active[e.id].value if e.id in active else None, day)
            for e, o in pairs}


# In progress, spelled with literal values: with bound parameters the database cannot
# prove that a query falls under the partial index ix_wellness_evaluations_in_progress_due
# (SQLite never, PostgreSQL not once it plans the statement generically).
IN_PROGRESS_LITERAL = WellnessEvaluation.status.in_([literal_column(f"'{s.value}'") for s in OPEN])


def _literals(values) -> list:
    return [literal_column(f"'{value}'") for value in values]


def _state_range(state: str | None, day: date) -> list:
    """Conditions each dashboard state implies (the CASE in _in_progress), stated on
    plain columns so the database can use its indexes: an overdue list reads only the
    evaluations due before today, in due-date order, and stops after one page."""
    if state is None:
        return []
    if state == "paused":
        return [Officer.status == OfficerStatus.LEAVE]
    ahead = [Officer.status != OfficerStatus.LEAVE]
    if state in rules.BEFORE_OVERDUE:
        return ahead + [WellnessEvaluation.attention == state]
    if state in ATTENTION_STATES:
        return ahead + [WellnessEvaluation.attention == state, WellnessEvaluation.due_on >= day]
    if state == "overdue":
        return ahead + [WellnessEvaluation.due_on < day]
    ahead.append(WellnessEvaluation.attention.is_(None))
    if state == "due_soon":
        return ahead + [WellnessEvaluation.due_on >= day, WellnessEvaluation.due_on <= day + timedelta(days=30),
                        WellnessEvaluation.status == EvaluationStatus.OPEN]
    return ahead + [WellnessEvaluation.due_on >= day]


def _search(q: str):
    """Officers whose badge, last name, first name or "first last" begins with `q`
    (case-insensitive), as a condition on Officer: a prefix match that reads the
    officers once, however many evaluations each has."""
    q = q.strip().lower()
    prefix = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(func.lower(Officer.badge_number) == q,
               *(func.lower(column).like(prefix, escape="\\") for column in
                 (Officer.badge_number, Officer.last_name, Officer.first_name,
                  Officer.first_name + literal(" ") + Officer.last_name,
                  Officer.last_name + literal(", ") + Officer.first_name)))


def _in_progress(day: date, unit_id: int | None = None, only: str | None = None, q: str = ""):
    """Every evaluation in progress with its dashboard state, as a subquery: the CASE
    below is wellness.rules.dashboard_state in SQL (tests/integration/test_wellness.py
    checks that the two agree), so counting, filtering and paging stay in the database.
    With `only` (a state), just the rows that can be in it (the caller still filters on the CASE).
    An officer has at most one active appointment, so the outer join never multiplies rows."""
    active = aliased(Appointment)
    state = case(
        (Officer.status == OfficerStatus.LEAVE, literal("paused")),
        (WellnessEvaluation.attention.in_(_literals(rules.BEFORE_OVERDUE)), WellnessEvaluation.attention),
        (WellnessEvaluation.due_on < day, literal("overdue")),
        (WellnessEvaluation.attention.is_not(None), WellnessEvaluation.attention),
        (and_(WellnessEvaluation.status == EvaluationStatus.OPEN,
              WellnessEvaluation.due_on <= day + timedelta(days=30)), literal("due_soon")),
        (active.status == AppointmentStatus.CONFIRMED, literal("confirmed")),
        (WellnessEvaluation.status == EvaluationStatus.SCHEDULED, literal("awaiting_confirmation")),
        else_=literal("open"),
    ).label("state")
    query = (select(WellnessEvaluation.id, WellnessEvaluation.officer_id, Officer.unit_id, WellnessEvaluation.kind,
                    WellnessEvaluation.due_on, state, active.starts_at.label("appointment_at"))
             .join(Officer, Officer.id == WellnessEvaluation.officer_id)
             .outerjoin(active, and_(active.evaluation_id == WellnessEvaluation.id,
                                     active.status.in_(ACTIVE_APPOINTMENT)))
             .where(IN_PROGRESS_LITERAL, Officer.status != OfficerStatus.SEPARATED, *_state_range(only, day)))
    if unit_id:
        query = query.where(Officer.unit_id == unit_id)
    if q:
        query = query.where(_search(q))
    return query.subquery("in_progress")


def _completed_recently(day: date):
    recent = rules.add_months(day, -settings().interval_months)
    return (select(WellnessEvaluation.id, WellnessEvaluation.officer_id, Officer.unit_id, WellnessEvaluation.kind,
                   WellnessEvaluation.due_on, WellnessEvaluation.completed_on,
                   literal(None, UTCDateTime).label("appointment_at"))
            .join(Officer, Officer.id == WellnessEvaluation.officer_id)
            .where(WellnessEvaluation.status == EvaluationStatus.COMPLETED,
                   WellnessEvaluation.completed_on > recent, Officer.status != OfficerStatus.SEPARATED))


def _state_counts(day: date) -> list[tuple[int, str, int]]:
    """(unit, state, count) for every evaluation in progress."""
    current = _in_progress(day)
    return [tuple(r) for r in db.session.execute(
        select(current.c.unit_id, current.c.state, func.count()).group_by(current.c.unit_id, current.c.state))]


def _unit_compliance(day: date) -> list[tuple[int, str, int, int, int]]:
    """Per unit: officers, officers compliant (last completed within the interval), and
    evaluations completed within the interval; one pass over the completions."""
    recent = rules.add_months(day, -settings().interval_months)
    per_officer = (select(WellnessEvaluation.officer_id, func.max(WellnessEvaluation.completed_on).label("last"),
                          func.count(case((WellnessEvaluation.completed_on > recent, 1))).label("recent"))
                   .where(WellnessEvaluation.status == EvaluationStatus.COMPLETED)
                   .group_by(WellnessEvaluation.officer_id).subquery())
    return [tuple(row) for row in db.session.execute(
        select(Unit.id, Unit.name, func.count(Officer.id), func.count(case((per_officer.c.last >= recent, 1))),
               func.coalesce(func.sum(per_officer.c.recent), 0))
        .join(Officer, Officer.unit_id == Unit.id)
        .outerjoin(per_officer, per_officer.c.officer_id == Officer.id)
        .where(Officer.status != OfficerStatus.SEPARATED)
        .group_by(Unit.id, Unit.name))]


@dataclass(frozen=True)
class Line:
    """One line of the dashboard's list."""
    id: int
    officer_id: int
    badge_number: str
    last_name: str
    first_name: str
    unit_name: str
    kind: EvaluationKind
    state: str
    due_on: date
    completed_on: date | None
    appointment_at: datetime | None = None  # the active appointment's start

    @property
    def label(self) -> str:
        return state_label(self.state)


# The list's sort keys (?sort=...&dir=desc): an unknown key is the default order.
SORTS = ("due", "name", "status", "appointment")


def _lines(day: date, unit_id: int | None, state: str | None, offset: int | None, limit: int | None,
           total: int | None = None, *, q: str = "", sort: str | None = None, descending: bool = False):
    """The list for a state (in progress by default): by default completed ones newest
    first, the others by due date; or sorted by `sort` (one of SORTS: due date, name,
    status most pressing first, appointment with the unbooked last), `descending`
    reversing it. `q` keeps the officers whose name or badge begins with it. Returns the
    total (counted unless given: the dashboard knows it from its counts) and the
    requested slice (everything when `limit` is None); names are read only for the
    rows returned."""
    if state == "completed":
        listing = _completed_recently(day)
        if unit_id:
            listing = listing.where(Officer.unit_id == unit_id)
        if q:
            listing = listing.where(_search(q))
        listing = listing.add_columns(literal("completed").label("state")).subquery()
    else:
        current = _in_progress(day, unit_id, state, q)
        listing = select(current, literal(None).label("completed_on"))
        if state:
            listing = listing.where(current.c.state == state)
        listing = listing.subquery()
    by_name = sort == "name"

    def direction(column, reverse=False):
        return column.desc() if descending != reverse else column.asc()

    if sort == "name":
        order = [direction(Officer.last_name), direction(Officer.first_name), direction(listing.c.id)]
    elif sort == "status":
        rank = case({st: n for n, st in enumerate(STATE_ORDER)}, value=listing.c.state, else_=len(STATE_ORDER))
        order = [direction(rank), listing.c.due_on, listing.c.id]
    elif sort == "appointment":  # the unbooked last either way
        order = [case((listing.c.appointment_at.is_(None), 1), else_=0), direction(listing.c.appointment_at),
                 listing.c.id]
    elif sort == "due" or state != "completed":
        order = [direction(listing.c.due_on), direction(listing.c.id)]
    else:
        order = [direction(listing.c.completed_on, reverse=True), listing.c.id]

    if total is None:
        total = db.session.scalar(select(func.count()).select_from(listing))
    if limit is None:  # everything (the CSV): names joined in the one query
        query = (select(listing.c.id, listing.c.officer_id, Officer.badge_number, Officer.last_name,
                        Officer.first_name, Unit.name, listing.c.kind, listing.c.state, listing.c.due_on,
                        listing.c.completed_on, listing.c.appointment_at)
                 .join(Officer, Officer.id == listing.c.officer_id).join(Unit, Unit.id == Officer.unit_id)
                 .order_by(*order))
        return total, [Line(*row) for row in db.session.execute(query)]
    # One page: cut it first, then read the names of its rows only.
    page_query = select(listing.c.id, listing.c.officer_id, listing.c.kind, listing.c.state,
                        listing.c.due_on, listing.c.completed_on, listing.c.appointment_at)
    if by_name:
        page_query = page_query.join(Officer, Officer.id == listing.c.officer_id)
    page = db.session.execute(page_query.order_by(*order).offset(offset).limit(limit)).all()
    names = {row[0]: tuple(row[1:]) for row in db.session.execute(
        select(Officer.id, Officer.badge_number, Officer.last_name, Officer.first_name, Unit.name)
        .join(Unit, Unit.id == Officer.unit_id).where(Officer.id.in_({r.officer_id for r in page})))}
    return total, [Line(r.id, r.officer_id, *names[r.officer_id], r.kind, r.state, r.due_on, r.completed_on,
                        r.appointment_at) for r in page]


@dataclass
class UnitCompliance:
    unit_id: int
    name: str
    officers: int
    compliant: int
    counts: dict

    @property
    def percent(self) -> float:
        return round(100.0 * self.compliant / self.officers, 1) if self.officers else 100.0


@dataclass
class Dashboard:
    today: date
    counts: dict
    units: list[UnitCompliance]
    unit_count: int
    officers: int
    compliant: int
    page: Page
    state: str | None
    unit_id: int | None
    problems: list[tuple] = field(default_factory=list)  # officers the last sweep could not process
    unit_names: list[tuple[int, str]] = field(default_factory=list)  # every unit with officers, by name, for the filter
    q: str = ""  # the search: name or badge
    sort: str | None = None  # one of SORTS, or None for the default order
    descending: bool = False

    @property
    def percent(self) -> float:
        return round(100.0 * self.compliant / self.officers, 1) if self.officers else 100.0

    @property
    def compliant_since(self) -> date:
        """The first completion day that still counts as compliant today."""
        return rules.add_months(self.today, -settings().interval_months)


UNITS_SHOWN = 25


def dashboard(actor: Actor, *, unit_id: int | None = None, state: str | None = None, page: int = 1,
              per_page: int = 50, all_units: bool = False, q: str = "", sort: str | None = None,
              descending: bool = False) -> Dashboard:
    """HR's compliance dashboard: counts by state overall and per unit, compliance %
    (officers whose last evaluation is within the interval; the least compliant units
    first), one page of the list (evaluations in progress, or those in `state`; those of
    officers whose name or badge begins with `q`; sorted by `sort`, see _lines), and
    the officers the last daily sweep could not process.
    A fixed number of queries whatever the size of the department. Audited."""
    actor.require(Role.HR)
    day = today()
    state = state if state in STATES else None
    sort = sort if sort in SORTS else None
    q = (q or "").strip()
    record(actor, "wellness.dashboard_viewed", detail=f"state {state or 'any'}, unit {unit_id or 'all'}, page {page}"
           + (", a search" if q else ""), private=True)
    db.session.commit()

    units = {}
    totals = dict.fromkeys(STATES, 0)
    for uid, name, n, ok, completed in _unit_compliance(day):
        units[uid] = UnitCompliance(uid, name, n, ok, dict.fromkeys(STATES, 0))
        units[uid].counts["completed"] = completed
        totals["completed"] += completed
    for uid, st, n in _state_counts(day):
        totals[st] += n
        if uid in units:
            units[uid].counts[st] = n
    ordered = sorted(units.values(), key=lambda u: (u.percent, u.name))
    chosen = [u for u in ordered if u.unit_id == unit_id] if unit_id else ordered
    shown = chosen if all_units or unit_id else chosen[:UNITS_SHOWN]

    page = max(page, 1)
    officers = sum(u.officers for u in chosen)
    compliant = sum(u.compliant for u in chosen)
    counts = totals if not unit_id else (chosen[0].counts if chosen else dict.fromkeys(STATES, 0))
    # The list's length is one of the counts (or the in-progress ones summed): no second pass.
    # (A search is counted: the counts are the whole unit's.)
    listed = None if q else counts[state] if state else sum(n for st, n in counts.items() if st != "completed")
    total, rows = _lines(day, unit_id, state, (page - 1) * per_page, per_page, listed, q=q, sort=sort,
                         descending=descending)
    unit_names = sorted(((u.unit_id, u.name) for u in units.values()), key=lambda pair: (pair[1], pair[0]))
    return Dashboard(day, counts, shown, len(chosen), officers, compliant, Page(rows, total, page, per_page),
                     state, unit_id, sweep_problems(), unit_names, q, sort, descending)


CSV_HEADER = ["badge_number", "last_name", "first_name", "unit", "kind", "status", "state", "due_on",
              "appointment", "completed_on"]


def dashboard_csv(actor: Actor, *, unit_id: int | None = None, state: str | None = None, q: str = "",
                  sort: str | None = None, descending: bool = False) -> str:
    """The dashboard list as CSV (statuses and dates only), read as plain rows: the
    page's filters, search and order, every page of it (with no status chosen, the
    evaluations in progress, then those completed in the last 12 months). The columns
    are the page's: `status` is the label the pages show, `state` its code (what
    ?state= takes), `appointment` the active appointment's start in the department's
    time. Audited."""
    actor.require(Role.HR)
    day = today()
    zone = settings().zone
    sort = sort if sort in SORTS else None
    q = (q or "").strip()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    count = 0
    for st in ([state] if state in STATES else [None, "completed"]):
        for line in _lines(day, unit_id, st, None, None, q=q, sort=sort, descending=descending)[1]:
            writer.writerow([cell(line.badge_number), cell(line.last_name), cell(line.first_name),
                             cell(line.unit_name), line.kind.value, line.label, line.state, line.due_on.isoformat(),
                             line.appointment_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
                             if line.appointment_at else "",
                             line.completed_on.isoformat() if line.completed_on else ""])
            count += 1
    record(actor, "wellness.exported", detail=f"{count} evaluation(s)" + (f", state {state}" if state else "")
           + (", a search" if q else ""), private=True)
    db.session.commit()
    return out.getvalue()


# --- home-page panels --------------------------------------------------------------------

def hr_todo(actor: Actor) -> dict:
    """HR's wellness to-do list: counts by state, the Needs attention list, licenses
    expiring. Three queries."""
    actor.require(Role.HR)
    day = today()
    counts = dict.fromkeys(STATES, 0)
    for _, state, n in _state_counts(day):
        counts[state] += n
    expiring = db.session.scalar(select(func.count()).select_from(Clinician).where(
        Clinician.license_expires <= day + timedelta(days=settings().license_warning_days)))
    return {"counts": counts, "labels": STATE_LABELS, "expiring": expiring, "attention": attention.count()}


def officer_todo(actor: Actor) -> dict:
    """An officer's own next evaluation and appointment (nobody else's)."""
    record_ = my_record(actor)
    if record_ is None:
        return {"record": None, "upcoming": None}
    upcoming = next((a for a in sorted(record_.appointments, key=lambda a: a.starts_at)
                     if a.is_active and a.ends_at >= clock.now()), None)
    return {"record": record_, "upcoming": upcoming}
