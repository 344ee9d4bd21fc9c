"""Critical incidents: HR records the event and whom it affected; evaluations follow.

An incident can be corrected afterwards (date, type, description), can take on officers
and units HR learns of later, and can be withdrawn when it was recorded by mistake. Every
evaluation it touched then gets the due date it would have had: the earliest of its own
annual date (`base_due_on`) and the dates of the incidents still behind it. Nothing
booked is cancelled here: an appointment left after its due date, or no longer needed,
is put before HR (wellness.services.attention), who decides."""
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.department import today, zone
from core.errors import DomainError
from core.models import Officer, OfficerStatus, Role, Unit, User
from core.rules import event_date_problem
from core.services import outbox
from wellness import rules
from wellness.models import (
    ACTIVE_APPOINTMENT,
    Appointment,
    CriticalIncident,
    EvaluationIncident,
    EvaluationKind,
    EvaluationStatus,
    IncidentOfficer,
    IncidentType,
    IncidentUnit,
    WellnessEvaluation,
)
from wellness.services import appointments, attention, clinicians, reminders
from wellness.services.common import hr_emails

OPEN = (EvaluationStatus.OPEN, EvaluationStatus.SCHEDULED)
SHORTFALL_HR = outbox.kind("incident_shortfall_hr", private=True)


def types(active_only: bool = True) -> list[IncidentType]:
    query = select(IncidentType).order_by(IncidentType.window_days, IncidentType.name)
    if active_only:
        query = query.where(IncidentType.active.is_(True))
    return db.session.scalars(query).all()


def add_type(actor: Actor, name: str, window_days: int) -> IncidentType:
    """HR defines another kind of traumatic event and its window. Commits."""
    actor.require(Role.HR)
    name = name.strip()
    if not name:
        raise DomainError("Name the type of incident.")
    if not 1 <= window_days <= 365:
        raise DomainError("The window is between 1 and 365 days.")
    if db.session.scalar(select(IncidentType.id).where(func.lower(IncidentType.name) == name.lower())):
        raise DomainError(f"There is already a type called “{name}”.")
    kind = IncidentType(name=name, window_days=window_days, active=True)
    db.session.add(kind)
    record(actor, "incident_type.created", target=name, detail=f"{window_days} days", private=True)
    db.session.commit()
    return kind


@dataclass
class IncidentResult:
    incident: CriticalIncident
    created: int
    joined: int
    added: int = 0      # add_affected: officers newly affected
    skipped: int = 0    # add_affected: chosen officers already affected
    shortfall: "Shortfall | None" = None


def record_incident(actor: Actor, *, type_id: int, occurred_on: date, description: str,
                    officer_ids: list[int], unit_ids: list[int]) -> IncidentResult:
    """HR records a critical incident. Every affected officer (chosen, or in a chosen
    unit; separated officers excepted) gets an incident evaluation due within the
    type's window; one who already has an evaluation in progress gets no second one:
    it becomes due at the earlier date and is linked to the incident (a booked
    appointment now after that date is put before HR, the officer and the clinician).
    When the clinicians have too few free slots before the due date, HR is emailed at
    once. Commits."""
    actor.require(Role.HR)
    kind = get_or_404(IncidentType, type_id, "No such incident type.")
    description = description.strip()
    now, local_today = clock.now(), today()
    if not description:
        raise DomainError("Describe the incident briefly.")
    date_problem = event_date_problem(occurred_on, local_today)
    if date_problem:
        raise DomainError(f"The incident date {date_problem}.")
    if not officer_ids and not unit_ids:
        raise DomainError("Choose the officers affected, or their unit.")
    units, affected = _chosen(officer_ids, unit_ids)
    if not affected:
        raise DomainError("Nobody on the roster is affected (the chosen units have no active officers).")

    incident = CriticalIncident(type_id=kind.id, occurred_on=occurred_on, description=description[:2000],
                                recorded_by_id=actor.user_id, created_at=now)
    db.session.add(incident)
    db.session.flush()
    for unit in units:
        db.session.add(IncidentUnit(incident_id=incident.id, unit_id=unit.id))
    created, joined = _affect(actor, incident, kind, affected, set(officer_ids), local_today, now)
    record(actor, "incident.recorded", target=f"incident {incident.id}",
           detail=f"{kind.name}; {len(affected)} officer(s) affected; {created} evaluation(s) opened, "
                  f"{joined} brought forward", private=True)
    short = _warn_of_shortfall(actor, incident)
    db.session.commit()
    return IncidentResult(incident, created, joined, added=len(affected), shortfall=short)


def _chosen(officer_ids: list[int], unit_ids: list[int]) -> tuple[list[Unit], list[Officer]]:
    """The chosen units, and the officers affected: those chosen and the active members
    of the units. Refuses an unknown unit, or a chosen officer unknown or separated."""
    chosen = set(officer_ids)
    units = db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids))).all() if unit_ids else []
    if len(units) != len(set(unit_ids)):
        raise DomainError("One of the chosen units does not exist.")
    affected = db.session.scalars(
        select(Officer).where((Officer.id.in_(chosen)) | (Officer.unit_id.in_([u.id for u in units])),
                              Officer.status != OfficerStatus.SEPARATED)
    ).all()
    if len({o.id for o in affected} & chosen) != len(chosen):
        raise DomainError("One of the chosen officers is not on the roster or is separated.")
    return units, affected


def _affect(actor: Actor, incident: CriticalIncident, kind: IncidentType, officers: list[Officer],
            chosen: set[int], day: date, now) -> tuple[int, int]:
    """Link `officers` to the incident on `day` (in the caller's transaction): an officer
    with no evaluation in progress gets one due within the window; one with an
    evaluation in progress has it brought forward to the earlier date. Returns
    (evaluations opened, evaluations joined)."""

    due = rules.incident_due(incident.occurred_on, day, kind.window_days)
    open_evaluations = {e.officer_id: e for e in db.session.scalars(
        select(WellnessEvaluation).where(WellnessEvaluation.officer_id.in_([o.id for o in officers]),
                                         WellnessEvaluation.status.in_(OPEN)))}
    created = joined = 0
    for officer in officers:
        db.session.add(IncidentOfficer(incident_id=incident.id, officer_id=officer.id,
                                       via_unit=officer.id not in chosen))
        link = EvaluationIncident(incident_id=incident.id, added_on=day)
        evaluation = open_evaluations.get(officer.id)
        if evaluation is None:
            link.opened_evaluation = True
            db.session.add(WellnessEvaluation(officer_id=officer.id, kind=EvaluationKind.INCIDENT,
                                              status=EvaluationStatus.OPEN, due_on=due, opened_on=day,
                                              created_at=now, incident_links=[link]))
            created += 1
            continue
        if evaluation.kind == EvaluationKind.ANNUAL and evaluation.base_due_on is None \
                and not evaluation.incident_links:
            evaluation.base_due_on = evaluation.due_on  # so a correction or withdrawal can put it back
        before = evaluation.due_on
        evaluation.due_on = rules.merged_due(evaluation.due_on, due)
        link.opened_evaluation = False
        evaluation.incident_links.append(link)
        joined += 1
        if evaluation.due_on < before:
            db.session.flush()
            appointments.deadline_moved(actor, evaluation)
    db.session.flush()
    return created, joined


def _changeable(incident_id: int) -> CriticalIncident:
    incident = get_or_404(CriticalIncident, incident_id, "No such incident.")
    if incident.withdrawn_at is not None:
        raise DomainError("This incident was withdrawn; it can no longer be changed.")
    return incident


def incident_for_change(actor: Actor, incident_id: int) -> CriticalIncident:
    """HR opens a correction form: the incident, unless it was withdrawn (refused)."""
    actor.require(Role.HR)
    return _changeable(incident_id)


# --- corrections ---------------------------------------------------------------------------

def recorded_day(incident: CriticalIncident) -> date:
    """The department day HR recorded the incident."""
    return incident.created_at.astimezone(zone()).date()


def _linked_in_progress(incident: CriticalIncident) -> list[WellnessEvaluation]:
    return db.session.scalars(
        select(WellnessEvaluation).join(EvaluationIncident, EvaluationIncident.evaluation_id == WellnessEvaluation.id)
        .where(EvaluationIncident.incident_id == incident.id, WellnessEvaluation.status.in_(OPEN))
        .order_by(WellnessEvaluation.id)).all()


def _incidents_behind(evaluations: list[WellnessEvaluation]) -> dict[int, CriticalIncident]:
    ids = {link.incident_id for e in evaluations for link in e.incident_links}
    if not ids:
        return {}
    return {i.id: i for i in db.session.scalars(select(CriticalIncident).where(CriticalIncident.id.in_(ids)))}


def due_without_corrections(evaluation: WellnessEvaluation, behind: dict[int, CriticalIncident]) -> date | None:
    """The due date the evaluation should have now: the earliest of its annual date
    (`base_due_on`) and, for each incident behind it that is not withdrawn, that
    incident's date within its window (never before the day the officer was added).
    None when nothing is left behind it (an incident opened it and every incident was
    withdrawn). An annual evaluation joined before base dates were kept keeps its
    current date as an upper bound, since the original is unknown."""
    candidates = [evaluation.base_due_on] if evaluation.base_due_on else []
    if evaluation.kind == EvaluationKind.ANNUAL and evaluation.base_due_on is None:
        candidates.append(evaluation.due_on)
    for link in evaluation.incident_links:
        incident = behind[link.incident_id]
        if incident.withdrawn_at is None:
            candidates.append(rules.incident_due(incident.occurred_on, link.added_on or recorded_day(incident),
                                                 incident.type.window_days))
    return min(candidates, default=None)


def _redate(actor: Actor, evaluations: list[WellnessEvaluation]) -> tuple[int, list[WellnessEvaluation]]:
    """Give each evaluation the due date it should have now; tell the appointments of
    those that moved. Returns (how many moved, those with nothing left behind them)."""

    behind = _incidents_behind(evaluations)
    moved, orphaned = 0, []
    for evaluation in evaluations:
        due = due_without_corrections(evaluation, behind)
        if due is None:
            orphaned.append(evaluation)
        elif due != evaluation.due_on:
            evaluation.due_on = due
            moved += 1
            db.session.flush()
            appointments.deadline_moved(actor, evaluation)
    return moved, orphaned


@dataclass
class IncidentChange:
    incident: CriticalIncident
    changes: list[str] = field(default_factory=list)
    moved: int = 0


def update_incident(actor: Actor, incident_id: int, *, type_id: int, occurred_on: date,
                    description: str) -> IncidentChange:
    """HR corrects an incident's type, date or description (not once it is withdrawn).
    Every evaluation it is behind that is still in progress gets the due date it would
    have had with the corrected values (bounded by its annual date and other incidents);
    an appointment then after the due date is put before HR, the officer and the
    clinician. Audited with old and new values (the description's length only: its text
    is not for the log). Commits, unless nothing changed."""
    actor.require(Role.HR)
    incident = _changeable(incident_id)
    kind = get_or_404(IncidentType, type_id, "No such incident type.")
    if not kind.active and kind.id != incident.type_id:
        raise DomainError("That type of incident is no longer in use.")
    description = (description or "").strip()[:2000]
    if not description:
        raise DomainError("Describe the incident briefly.")
    date_problem = event_date_problem(occurred_on, today())
    if date_problem:
        raise DomainError(f"The incident date {date_problem}.")
    result = IncidentChange(incident)
    if kind.id != incident.type_id:
        result.changes.append(f"type: {incident.type.name} → {kind.name}")
        incident.type = kind
    if occurred_on != incident.occurred_on:
        result.changes.append(f"date: {incident.occurred_on.isoformat()} → {occurred_on.isoformat()}")
        incident.occurred_on = occurred_on
    if description != incident.description:
        result.changes.append(f"description: {len(incident.description)} → {len(description)} characters")
        incident.description = description
    if not result.changes:
        return result
    incident.updated_at = clock.now()
    db.session.flush()
    if result.changes[-1].startswith("description") and len(result.changes) == 1:
        result.moved = 0  # a corrected description moves no date
    else:
        result.moved, _ = _redate(actor, _linked_in_progress(incident))
    record(actor, "incident.updated", target=f"incident {incident.id}",
           detail="; ".join(result.changes) + f"; {result.moved} due date(s) moved", private=True)
    _warn_of_shortfall(actor, incident)
    db.session.commit()
    return result


def add_affected(actor: Actor, incident_id: int, *, officer_ids: list[int], unit_ids: list[int]) -> IncidentResult:
    """HR adds officers or whole units to an incident (not once it is withdrawn). Each
    officer added gets an evaluation as if they had been there from the start: a new
    incident evaluation, or the one in progress brought forward. Its due date is the
    incident's date within the window, but never before the day they are added: nobody
    can have been seen before HR knew. Officers already affected are skipped (refused
    only when nothing is new); separated officers are refused. A unit added is recorded
    with the incident and its active members are added. Commits."""
    actor.require(Role.HR)
    incident = _changeable(incident_id)
    if not officer_ids and not unit_ids:
        raise DomainError("Choose the officers to add, or their unit.")
    units, affected = _chosen(officer_ids, unit_ids)
    already = set(db.session.scalars(select(IncidentOfficer.officer_id)
                                     .where(IncidentOfficer.incident_id == incident.id)))
    known_units = set(db.session.scalars(select(IncidentUnit.unit_id).where(IncidentUnit.incident_id == incident.id)))
    new_units = [u for u in units if u.id not in known_units]
    newcomers = [o for o in affected if o.id not in already]
    if not newcomers and not new_units:
        raise DomainError("Everyone chosen is already affected by this incident.")
    now, local_today = clock.now(), today()
    for unit in new_units:
        db.session.add(IncidentUnit(incident_id=incident.id, unit_id=unit.id))
    created, joined = _affect(actor, incident, incident.type, newcomers, set(officer_ids), local_today, now)
    incident.updated_at = now
    skipped = len(affected) - len(newcomers)
    badges = ", ".join(sorted(o.badge_number for o in newcomers))
    record(actor, "incident.officers_added", target=f"incident {incident.id}",
           detail=(f"officers: {len(already)} → {len(already) + len(newcomers)}"
                   + (f" (added {badges})" if badges else "")
                   + (f"; units added: {', '.join(u.name for u in new_units)}" if new_units else "")
                   + f"; {created} evaluation(s) opened, {joined} brought forward; {skipped} already affected")[:4000],
           private=True)
    short = _warn_of_shortfall(actor, incident)
    db.session.commit()
    return IncidentResult(incident, created, joined, added=len(newcomers), skipped=skipped, shortfall=short)


@dataclass
class Withdrawal:
    incident: CriticalIncident
    restored: int = 0   # due dates put back to what the other incidents or the annual date give
    closed: int = 0     # evaluations only this incident needed, not booked: closed
    kept: int = 0       # the same, but booked: kept, and put before HR
    untouched: int = 0  # evaluations completed or closed before: left as they are


def withdraw_incident(actor: Actor, incident_id: int, reason: str) -> Withdrawal:
    """HR withdraws an incident recorded by mistake, saying why. It stays on record,
    marked withdrawn, and no longer counts for any due date: each evaluation it was
    behind that is still in progress returns to the date the other incidents or its
    annual date give. One that only this incident needed is closed if nothing is
    booked; if an appointment is booked it is kept and put on HR's "Needs attention"
    list (HR cancels it or keeps it). Completed evaluations are left as they are.
    Commits."""
    actor.require(Role.HR)
    incident = _changeable(incident_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the incident is withdrawn.")
    if len(reason) > 500:
        raise DomainError("Keep the reason within 500 characters.")
    incident.withdrawn_at, incident.withdrawn_by_id, incident.withdrawn_reason = clock.now(), actor.user_id, reason
    db.session.flush()
    result = Withdrawal(incident)
    in_progress = _linked_in_progress(incident)
    result.untouched = db.session.scalar(
        select(func.count()).select_from(EvaluationIncident).where(EvaluationIncident.incident_id == incident.id)
    ) - len(in_progress)
    result.restored, orphaned = _redate(actor, in_progress)
    for evaluation in orphaned:
        if evaluation.status == EvaluationStatus.OPEN:
            evaluation.close("incident withdrawn")
            attention.resolve(evaluation, actor=actor, resolution="evaluation closed")
            reminders.drop_for_evaluation(evaluation.id)
            result.closed += 1
            continue
        appointment = db.session.scalar(select(Appointment).where(Appointment.evaluation_id == evaluation.id,
                                                                  Appointment.status.in_(ACTIVE_APPOINTMENT)))
        attention.resolve(evaluation, ["deadline_moved"], actor=actor, resolution="incident withdrawn")
        attention.raise_item(evaluation, "incident_withdrawn", actor=actor, appointment=appointment,
                             detail=f"Incident of {incident.occurred_on:%d %B %Y} withdrawn: {reason}")
        result.kept += 1
    record(actor, "incident.withdrawn", target=f"incident {incident.id}",
           detail=f"reason: {reason}; {result.restored} due date(s) restored, {result.closed} evaluation(s) closed, "
                  f"{result.kept} booked and kept for HR to decide, {result.untouched} finished left as they were",
           private=True)
    db.session.commit()
    return result


# --- clinician time ------------------------------------------------------------------------

class Shortfall(NamedTuple):
    needed: int    # officers of the incident, not yet booked, due by `due_on`
    free: int      # free slots across the bookable clinicians until then
    due_on: date


def shortfall(incident: CriticalIncident) -> Shortfall | None:
    """Whether the clinicians have too few free slots for the incident's officers who
    still have to book: for each due date among them from today on (earliest first),
    those due by then against the free slots until then. The first date that falls
    short, or None. Officers already overdue count against every date but give none of
    their own: no slot can be before a date already past, and the dashboard shows them."""
    if incident.withdrawn_at is not None:
        return None
    dues = db.session.scalars(
        select(WellnessEvaluation.due_on)
        .join(EvaluationIncident, EvaluationIncident.evaluation_id == WellnessEvaluation.id)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id)
        .where(EvaluationIncident.incident_id == incident.id, WellnessEvaluation.status == EvaluationStatus.OPEN,
               WellnessEvaluation.paused_on.is_(None), Officer.status == OfficerStatus.ACTIVE)
        .order_by(WellnessEvaluation.due_on)).all()
    first = today()
    for day in sorted({d for d in dues if d >= first}):
        needed = sum(1 for d in dues if d <= day)
        free = clinicians.free_slot_count(day)
        if free < needed:
            return Shortfall(needed, free, day)
    return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _warn_of_shortfall(actor: Actor, incident: CriticalIncident) -> Shortfall | None:
    """Email HR at once (in the caller's transaction) when the incident's officers
    cannot all be seen in time. Once per incident and figures."""
    short = shortfall(incident)
    if short is None:
        return None
    subject = (f"Not enough clinician time: {_plural(short.needed, 'officer')} due by "
               f"{short.due_on.day} {short.due_on:%B}, {_plural(short.free, 'free slot')}")
    body = outbox.render_email("incident_shortfall_hr.txt", incident=incident, shortfall=short,
                               officers=_plural(short.needed, "officer"), slots=_plural(short.free, "free slot"),
                               path=f"/wellness/incidents/{incident.id}")
    sent = [outbox.enqueue(kind=SHORTFALL_HR, recipient=email, subject=subject, body=body,
                           dedup_key=f"incident-shortfall:{incident.id}:{short.needed}:{short.free}:"
                                     f"{short.due_on.isoformat()}:{email}") for email in hr_emails()]
    if any(sent):
        record(actor, "incident.shortfall", target=f"incident {incident.id}",
               detail=f"{short.needed} due by {short.due_on.isoformat()}, {short.free} free slots; HR emailed",
               private=True)
    return short


# --- reading -------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncidentLine:
    incident: CriticalIncident
    affected: int
    outstanding: int


def list_incidents(actor: Actor, limit: int = 100) -> list[IncidentLine]:
    """HR's list: each incident with how many of its evaluations are still outstanding.
    Three queries whatever the number of incidents."""
    actor.require(Role.HR)
    incidents = db.session.scalars(select(CriticalIncident).order_by(CriticalIncident.occurred_on.desc(),
                                                                     CriticalIncident.id.desc()).limit(limit)).all()
    ids = [i.id for i in incidents]
    affected = dict(db.session.execute(
        select(IncidentOfficer.incident_id, func.count()).where(IncidentOfficer.incident_id.in_(ids))
        .group_by(IncidentOfficer.incident_id)).all())
    outstanding = dict(db.session.execute(
        select(EvaluationIncident.incident_id, func.count())
        .join(WellnessEvaluation, WellnessEvaluation.id == EvaluationIncident.evaluation_id)
        .where(EvaluationIncident.incident_id.in_(ids), WellnessEvaluation.status.in_(OPEN))
        .group_by(EvaluationIncident.incident_id)).all())
    return [IncidentLine(i, affected.get(i.id, 0), outstanding.get(i.id, 0)) for i in incidents]


@dataclass(frozen=True)
class AffectedLine:
    officer: Officer
    via_unit: bool
    evaluation: WellnessEvaluation | None
    state: str | None
    added_on: date | None   # the day they were added, when after the incident was recorded


def view_incident(actor: Actor, incident_id: int):
    """HR opens one incident: who was affected, when they were added, and where each
    evaluation stands today. The view is audited."""
    actor.require(Role.HR)
    incident = get_or_404(CriticalIncident, incident_id, "No such incident.")
    # Each affected officer has at most one evaluation linked to a given incident.
    linked = (select(WellnessEvaluation, EvaluationIncident.added_on).join(EvaluationIncident)
              .where(EvaluationIncident.incident_id == incident.id).subquery())
    evaluation = aliased(WellnessEvaluation, linked)
    day, first_day = today(), recorded_day(incident)
    rows = db.session.execute(
        select(Officer, IncidentOfficer.via_unit, evaluation, linked.c.added_on)
        .join(IncidentOfficer, IncidentOfficer.officer_id == Officer.id)
        .outerjoin(evaluation, evaluation.officer_id == Officer.id)
        .where(IncidentOfficer.incident_id == incident.id)
        .order_by(Officer.last_name, Officer.first_name)
    ).all()
    lines = [AffectedLine(officer, via_unit, e,
                          rules.display_status(e.status.value, e.due_on, day, officer.status.value) if e else None,
                          added_on if added_on and added_on > first_day else None)
             for officer, via_unit, e, added_on in rows]
    units = db.session.scalars(select(Unit).join(IncidentUnit, IncidentUnit.unit_id == Unit.id)
                               .where(IncidentUnit.incident_id == incident.id).order_by(Unit.name)).all()
    record(actor, "incident.viewed", target=f"incident {incident.id}", private=True)
    db.session.commit()
    return incident, units, lines


def withdrawn_by(incident: CriticalIncident) -> str:
    """Who withdrew the incident, as HR reads it."""
    user = db.session.get(User, incident.withdrawn_by_id) if incident.withdrawn_by_id else None
    return user.name if user else "HR"


def incidents_of(evaluation: WellnessEvaluation) -> list[CriticalIncident]:
    ids = [link.incident_id for link in evaluation.incident_links]
    if not ids:
        return []
    return db.session.scalars(select(CriticalIncident).where(CriticalIncident.id.in_(ids))
                              .order_by(CriticalIncident.occurred_on)).all()
