"""Critical incidents: HR records the event and whom it affected; evaluations follow."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.department import today
from core.errors import DomainError
from core.models import Officer, OfficerStatus, Role, Unit
from core.rules import event_date_problem
from wellness import rules
from wellness.models import (
    CriticalIncident,
    EvaluationIncident,
    EvaluationKind,
    EvaluationStatus,
    IncidentOfficer,
    IncidentType,
    IncidentUnit,
    WellnessEvaluation,
)

OPEN = (EvaluationStatus.OPEN, EvaluationStatus.SCHEDULED)


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


def record_incident(actor: Actor, *, type_id: int, occurred_on: date, description: str,
                    officer_ids: list[int], unit_ids: list[int]) -> IncidentResult:
    """HR records a critical incident. Every affected officer (chosen, or in a chosen
    unit; separated officers excepted) gets an incident evaluation due within the
    type's window; one who already has an evaluation in progress gets no second one:
    it becomes due at the earlier date and is linked to the incident. Commits."""
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
    if not affected:
        raise DomainError("Nobody on the roster is affected (the chosen units have no active officers).")

    incident = CriticalIncident(type_id=kind.id, occurred_on=occurred_on, description=description[:2000],
                                recorded_by_id=actor.user_id, created_at=now)
    db.session.add(incident)
    db.session.flush()
    for unit in units:
        db.session.add(IncidentUnit(incident_id=incident.id, unit_id=unit.id))
    due = rules.incident_due(occurred_on, local_today, kind.window_days)
    open_evaluations = {e.officer_id: e for e in db.session.scalars(
        select(WellnessEvaluation).where(WellnessEvaluation.officer_id.in_([o.id for o in affected]),
                                         WellnessEvaluation.status.in_(OPEN)))}
    created = joined = 0
    for officer in affected:
        db.session.add(IncidentOfficer(incident_id=incident.id, officer_id=officer.id,
                                       via_unit=officer.id not in chosen))
        evaluation = open_evaluations.get(officer.id)
        if evaluation is None:
            evaluation = WellnessEvaluation(officer_id=officer.id, kind=EvaluationKind.INCIDENT,
                                            status=EvaluationStatus.OPEN, due_on=due, opened_on=local_today,
                                            created_at=now)
            db.session.add(evaluation)
            db.session.flush()
            created += 1
        else:
            evaluation.due_on = rules.merged_due(evaluation.due_on, due)
            joined += 1
        db.session.add(EvaluationIncident(evaluation_id=evaluation.id, incident_id=incident.id))
    record(actor, "incident.recorded", target=f"incident {incident.id}",
           detail=f"{kind.name}; {len(affected)} officer(s) affected; {created} evaluation(s) opened, "
                  f"{joined} brought forward", private=True)
    db.session.commit()
    return IncidentResult(incident, created, joined)


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


def view_incident(actor: Actor, incident_id: int):
    """HR opens one incident: who was affected and where each evaluation stands.
    The view is audited."""
    actor.require(Role.HR)
    incident = get_or_404(CriticalIncident, incident_id, "No such incident.")
    # Each affected officer has at most one evaluation linked to a given incident.
    linked = (select(WellnessEvaluation).join(EvaluationIncident)
              .where(EvaluationIncident.incident_id == incident.id).subquery())
    evaluation = aliased(WellnessEvaluation, linked)
    day = today()
    rows = db.session.execute(
        select(Officer, IncidentOfficer.via_unit, evaluation)
        .join(IncidentOfficer, IncidentOfficer.officer_id == Officer.id)
        .outerjoin(evaluation, evaluation.officer_id == Officer.id)
        .where(IncidentOfficer.incident_id == incident.id)
        .order_by(Officer.last_name, Officer.first_name)
    ).all()
    lines = [(officer, via_unit, e,
              rules.display_status(e.status.value, e.due_on, day, officer.status.value) if e else None)
             for officer, via_unit, e in rows]
    units = db.session.scalars(select(Unit).join(IncidentUnit, IncidentUnit.unit_id == Unit.id)
                               .where(IncidentUnit.incident_id == incident.id)).all()
    record(actor, "incident.viewed", target=f"incident {incident.id}", private=True)
    db.session.commit()
    return incident, units, lines


def incidents_of(evaluation: WellnessEvaluation) -> list[CriticalIncident]:
    ids = [link.incident_id for link in evaluation.incident_links]
    if not ids:
        return []
    return db.session.scalars(select(CriticalIncident).where(CriticalIncident.id.in_(ids))
                              .order_by(CriticalIncident.occurred_on)).all()
