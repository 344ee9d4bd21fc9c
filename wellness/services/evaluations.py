"""Wellness evaluations: the daily sweep, HR's compliance dashboard, and each
person's view of their own (or, for HR, anyone's) record."""
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select, update

from core import clock
from core.audit import Actor, record
from core.db import db, upsert_insert
from core.models import Officer, OfficerStatus, Unit, User
from core.pagination import Page
from wellness import rules
from wellness.models import (ACTIVE_APPOINTMENT, Appointment, AppointmentStatus, Clinician, CriticalIncident,
                             EvaluationKind, EvaluationStatus, WellnessEvaluation)
from wellness.services import reminders
from wellness.services.common import get_or_404, settings, today

OPEN = (EvaluationStatus.OPEN, EvaluationStatus.SCHEDULED)


# --- the daily sweep -------------------------------------------------------------------

@dataclass
class SweepReport:
    opened: int = 0
    closed: int = 0
    paused: int = 0
    resumed: int = 0
    overdue: int = 0

    def __str__(self):
        return (f"opened {self.opened} annual evaluation(s), closed {self.closed} (separated), "
                f"paused {self.paused}, resumed {self.resumed} (leave), {self.overdue} overdue")


def sweep(now: datetime | None = None) -> SweepReport:
    """The daily work, idempotent (run it twice, or in two processes, and nothing
    changes the second time): close the evaluations of separated officers, pause and
    resume for leave, open annual evaluations whose window has come, count the
    overdue. (Reminders, license warnings included, are wellness.services.reminders'.)
    Set-based: a fixed number of
    statements whatever the size of the roster. Commits."""
    s = settings()
    now = now or clock.now()
    day = now.astimezone(s.zone).date()
    report = SweepReport()
    actor = Actor.system("wellness sweep")
    in_progress = WellnessEvaluation.status.in_(OPEN)

    separated = select(Officer.id).where(Officer.status == OfficerStatus.SEPARATED)
    cancelled = db.session.execute(
        update(Appointment).where(Appointment.status.in_(ACTIVE_APPOINTMENT), Appointment.officer_id.in_(separated))
        .values(status=AppointmentStatus.CANCELLED, closed_at=now)).rowcount
    report.closed = db.session.execute(
        update(WellnessEvaluation).where(in_progress, WellnessEvaluation.officer_id.in_(separated))
        .values(status=EvaluationStatus.CLOSED, closed_reason="officer separated")).rowcount

    on_leave = select(Officer.id).where(Officer.status == OfficerStatus.LEAVE)
    report.paused = db.session.execute(
        update(WellnessEvaluation).where(in_progress, WellnessEvaluation.paused_on.is_(None),
                                         WellnessEvaluation.officer_id.in_(on_leave))
        .values(paused_on=day)).rowcount
    back = db.session.scalars(
        select(WellnessEvaluation).join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .where(in_progress, WellnessEvaluation.paused_on.is_not(None), Officer.status == OfficerStatus.ACTIVE)).all()
    for evaluation in back:
        evaluation.due_on = rules.resumed_due(evaluation.due_on, evaluation.paused_on, day)
        evaluation.paused_on = None
    report.resumed = len(back)

    report.opened = _open_annual(s, day, now)
    report.overdue = db.session.scalar(
        select(func.count()).select_from(WellnessEvaluation)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .where(in_progress, WellnessEvaluation.due_on < day, Officer.status == OfficerStatus.ACTIVE))
    if report.opened or report.closed or report.paused or report.resumed or cancelled:
        record(actor, "wellness.sweep", detail=str(report))
    db.session.commit()
    return report


def _open_annual(s, day: date, now: datetime) -> int:
    """Open an annual evaluation for each active officer with none in progress whose
    next due date is within the scheduling window."""
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
        due = rules.annual_due(last, hire_date, day, s.interval_months, s.first_rule)
        if rules.should_open_annual(due, day, s.open_window_days):
            rows.append({"officer_id": officer_id, "kind": EvaluationKind.ANNUAL, "status": EvaluationStatus.OPEN,
                         "due_on": due, "opened_on": day, "created_at": now, "closed_reason": ""})
    opened = 0
    where = WellnessEvaluation.status.in_(OPEN)
    for start in range(0, len(rows), 1000):
        stmt = upsert_insert(WellnessEvaluation).values(rows[start:start + 1000]).on_conflict_do_nothing(
            index_elements=["officer_id"], index_where=where).returning(WellnessEvaluation.id)
        opened += len(db.session.execute(stmt).all())  # rows a concurrent sweep inserted first are skipped
    return opened


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


def _record(officer: Officer) -> Record:
    day = today()
    evaluations = db.session.scalars(select(WellnessEvaluation).where(WellnessEvaluation.officer_id == officer.id)
                                     .order_by(WellnessEvaluation.due_on.desc())).all()
    current = next((e for e in evaluations if e.is_open), None)
    appointments = db.session.scalars(select(Appointment).where(Appointment.officer_id == officer.id)
                                      .order_by(Appointment.starts_at.desc())).all()
    state = rules.display_status(current.status.value, current.due_on, day, officer.status.value) if current else None
    active = next((a for a in appointments if a.is_active), None)
    upcoming = reminders.upcoming(current.due_on if current and current.status == EvaluationStatus.OPEN else None,
                                  active.starts_at if active else None)
    return Record(officer, next_due(officer, day), current, state, appointments,
                  [e for e in evaluations if not e.is_open], upcoming)


def my_record(actor: Actor) -> Record | None:
    """An officer's own wellness page."""
    actor.require("officer")
    user = db.session.get(User, actor.user_id)
    if user is None or user.officer_id is None:
        return None
    return _record(db.session.get(Officer, user.officer_id))


def officer_record(actor: Actor, officer_id: int) -> Record:
    """HR opens one officer's wellness record (statuses and dates only). Audited."""
    actor.require("hr")
    officer = get_or_404(Officer, officer_id, "No such officer.")
    result = _record(officer)
    record(actor, "wellness.record_viewed", target=f"officer {officer.badge_number}")
    db.session.commit()
    return result


# --- HR's compliance dashboard ---------------------------------------------------------

STATES = ("overdue", "due_soon", "awaiting_confirmation", "confirmed", "paused", "open", "completed")
STATE_LABELS = {"overdue": "Overdue", "due_soon": "Due in 30 days, not booked",
                "awaiting_confirmation": "Booked, awaiting the clinician", "confirmed": "Confirmed",
                "paused": "Paused (on leave)", "open": "Open, not yet due", "completed": "Completed (last 12 months)"}


def _state_expression(day: date):
    """The dashboard state of an evaluation, in SQL, so counting and filtering happen
    in the database."""
    appointment_status = (select(Appointment.status)
                          .where(Appointment.evaluation_id == WellnessEvaluation.id,
                                 Appointment.status.in_(ACTIVE_APPOINTMENT))
                          .limit(1).scalar_subquery())
    return case(
        (WellnessEvaluation.status == EvaluationStatus.COMPLETED, literal("completed")),
        (Officer.status == OfficerStatus.LEAVE, literal("paused")),
        (WellnessEvaluation.due_on < day, literal("overdue")),
        (and_(WellnessEvaluation.status == EvaluationStatus.OPEN, WellnessEvaluation.due_on <= day + timedelta(days=30)),
         literal("due_soon")),
        (appointment_status == AppointmentStatus.CONFIRMED, literal("confirmed")),
        (WellnessEvaluation.status == EvaluationStatus.SCHEDULED, literal("awaiting_confirmation")),
        else_=literal("open"),
    )


def _dashboard_base(day: date, unit_id: int | None):
    s = settings()
    recent = rules.add_months(day, -s.interval_months)
    state = _state_expression(day).label("state")
    query = (select(WellnessEvaluation, Officer, Unit.name.label("unit_name"), state)
             .join(Officer, Officer.id == WellnessEvaluation.officer_id)
             .join(Unit, Unit.id == Officer.unit_id)
             .where(Officer.status != OfficerStatus.SEPARATED,
                    or_(WellnessEvaluation.status.in_(OPEN),
                        and_(WellnessEvaluation.status == EvaluationStatus.COMPLETED,
                             WellnessEvaluation.completed_on > recent))))
    if unit_id:
        query = query.where(Officer.unit_id == unit_id)
    return query


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
    officers: int
    compliant: int
    page: Page
    state: str | None
    unit_id: int | None

    @property
    def percent(self) -> float:
        return round(100.0 * self.compliant / self.officers, 1) if self.officers else 100.0


def dashboard(actor: Actor, *, unit_id: int | None = None, state: str | None = None, page: int = 1,
              per_page: int = 50) -> Dashboard:
    """HR's compliance dashboard: counts by state overall and per unit, compliance %
    (officers whose last evaluation is within the interval), and one page of the
    list. A fixed number of queries whatever the size of the department."""
    actor.require("hr")
    s = settings()
    day = today()
    base = _dashboard_base(day, None).subquery()
    per_unit_state = db.session.execute(
        select(base.c.unit_id, base.c.state, func.count()).group_by(base.c.unit_id, base.c.state)).all()
    recent = rules.add_months(day, -s.interval_months)
    last = (select(WellnessEvaluation.officer_id, func.max(WellnessEvaluation.completed_on).label("last"))
            .where(WellnessEvaluation.status == EvaluationStatus.COMPLETED)
            .group_by(WellnessEvaluation.officer_id).subquery())
    compliance = db.session.execute(
        select(Unit.id, Unit.name, func.count(Officer.id),
               func.count(case((last.c.last >= recent, 1))))
        .join(Officer, Officer.unit_id == Unit.id)
        .outerjoin(last, last.c.officer_id == Officer.id)
        .where(Officer.status != OfficerStatus.SEPARATED)
        .group_by(Unit.id, Unit.name).order_by(Unit.name)).all()
    units = {uid: UnitCompliance(uid, name, n, ok, dict.fromkeys(STATES, 0)) for uid, name, n, ok in compliance}
    totals = dict.fromkeys(STATES, 0)
    for uid, st, n in per_unit_state:
        totals[st] += n
        if uid in units:
            units[uid].counts[st] = n
    shown = list(units.values()) if not unit_id else [u for u in units.values() if u.unit_id == unit_id]

    listing = _dashboard_base(day, unit_id)
    if state in STATES:
        listing = listing.where(_state_expression(day) == state)
    total = db.session.scalar(select(func.count()).select_from(listing.order_by(None).subquery()))
    page = max(page, 1)
    in_progress_first = case((WellnessEvaluation.status == EvaluationStatus.COMPLETED, 1), else_=0)
    rows = db.session.execute(listing.order_by(in_progress_first, WellnessEvaluation.due_on, Officer.last_name,
                                               WellnessEvaluation.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    officers = sum(u.officers for u in shown)
    compliant = sum(u.compliant for u in shown)
    record(actor, "wellness.dashboard_viewed", detail=f"state {state or 'any'}, unit {unit_id or 'all'}, page {page}")
    db.session.commit()
    counts = totals if not unit_id else (shown[0].counts if shown else dict.fromkeys(STATES, 0))
    return Dashboard(day, counts, shown, officers, compliant, Page(rows, total, page, per_page),
                     state if state in STATES else None, unit_id)


def dashboard_csv(actor: Actor, *, unit_id: int | None = None, state: str | None = None) -> str:
    """The dashboard list as CSV (statuses and dates only). Audited."""
    actor.require("hr")
    day = today()
    query = _dashboard_base(day, unit_id)
    if state in STATES:
        query = query.where(_state_expression(day) == state)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["badge_number", "last_name", "first_name", "unit", "kind", "state", "due_on", "completed_on"])
    count = 0
    for evaluation, officer, unit_name, st in db.session.execute(
            query.order_by(Unit.name, Officer.last_name, Officer.first_name)).yield_per(2000):
        writer.writerow([officer.badge_number, officer.last_name, officer.first_name, unit_name,
                         evaluation.kind.value, st, evaluation.due_on.isoformat(),
                         evaluation.completed_on.isoformat() if evaluation.completed_on else ""])
        count += 1
    record(actor, "wellness.exported", detail=f"{count} evaluation(s)" + (f", state {state}" if state else ""))
    db.session.commit()
    return out.getvalue()


def incidents_of(evaluation: WellnessEvaluation) -> list[CriticalIncident]:
    ids = [link.incident_id for link in evaluation.incident_links]
    if not ids:
        return []
    return db.session.scalars(select(CriticalIncident).where(CriticalIncident.id.in_(ids))
                              .order_by(CriticalIncident.occurred_on)).all()



# --- home-page panels --------------------------------------------------------------------

def hr_todo(actor: Actor) -> dict:
    """HR's wellness to-do list: counts by state and licenses expiring. Two queries."""
    actor.require("hr")
    day = today()
    base = _dashboard_base(day, None).subquery()
    counts = dict.fromkeys(STATES, 0)
    counts.update(dict(db.session.execute(select(base.c.state, func.count()).group_by(base.c.state)).all()))
    expiring = db.session.scalar(select(func.count()).select_from(Clinician).where(
        Clinician.license_expires <= day + timedelta(days=settings().license_warning_days)))
    return {"counts": counts, "labels": STATE_LABELS, "expiring": expiring}


def officer_todo(actor: Actor) -> dict:
    """An officer's own next evaluation and appointment (nobody else's)."""
    record_ = my_record(actor)
    if record_ is None:
        return {"record": None, "upcoming": None}
    upcoming = next((a for a in sorted(record_.appointments, key=lambda a: a.starts_at)
                     if a.is_active and a.ends_at >= clock.now()), None)
    return {"record": record_, "upcoming": upcoming}
