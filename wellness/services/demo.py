"""Demo data for wellness: three clinicians (one not a trauma specialist, so it cannot be
booked), their hours, a history of completed evaluations, a recent incident, and
evaluations and appointments in every state."""
import random
import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.department import today
from core.models import Officer, OfficerStatus, Unit, User
from wellness import rules
from wellness.models import (
    Appointment,
    AppointmentStatus,
    Clinician,
    EvaluationKind,
    EvaluationStatus,
    IncidentType,
    Modality,
    WeeklyHours,
    WellnessEvaluation,
)
from wellness.services import attention, incidents
from wellness.services.common import settings
from wellness.services.evaluations import sweep


def _clinicians(day) -> list[Clinician]:
    now = clock.now()
    okafor = Clinician(name="Dr. Ngozi Okafor", practice="Riverside Trauma Clinic", email="dr.okafor@clinic.example",
                       phone="314-555-0142", license_number="PSY-20417", license_state="MO",
                       license_expires=day + timedelta(days=700), trauma_specialty=True,
                       specialty_description="PTSD, critical-incident stress", modality=Modality.BOTH,
                       address="1200 Riverside Dr, Suite 4", created_at=now)
    reyes = Clinician(name="Dr. Samuel Reyes", practice="Gateway Counseling", email="dr.reyes@clinic.example",
                      phone="314-555-0188", license_number="LPC-88120", license_state="MO",
                      license_expires=day + timedelta(days=21), trauma_specialty=True,
                      specialty_description="Trauma-focused CBT, first responders", modality=Modality.TELEHEALTH,
                      created_at=now)
    blake = Clinician(name="Jordan Blake, LCSW", practice="Northside Family Services", email="j.blake@clinic.example",
                      license_number="LCSW-5531", license_state="MO", license_expires=day + timedelta(days=400),
                      trauma_specialty=False, modality=Modality.IN_PERSON, address="88 Oak St", created_at=now)
    db.session.add_all([okafor, reyes, blake])
    db.session.flush()
    start = day - timedelta(days=400)
    for clinician, days, hours in ((okafor, (1, 3), (time(9), time(15))), (reyes, (0, 2), (time(13), time(17))),
                                   (blake, (4,), (time(9), time(12)))):
        for weekday in days:
            db.session.add(WeeklyHours(clinician_id=clinician.id, weekday=weekday, starts=hours[0], ends=hours[1],
                                       slot_minutes=60, valid_from=start))
    account = db.session.scalar(select(User).where(User.email == okafor.email))
    if account is not None:
        okafor.user_id = account.id
    return [okafor, reyes]


def _past_visit(evaluation, clinician, at: datetime, status: AppointmentStatus):
    db.session.add(Appointment(evaluation_id=evaluation.id, clinician_id=clinician.id,
                               officer_id=evaluation.officer_id, starts_at=at, ends_at=at + timedelta(hours=1),
                               status=status, uid=f"{uuid.uuid4()}@beacon", sequence=0,
                               booked_at=at - timedelta(days=10),
                               confirmed_at=at - timedelta(days=9), closed_at=at + timedelta(hours=1)))


def seed(rng: random.Random) -> None:
    s = settings()
    day = today()
    zone = s.zone
    bookable = _clinicians(day)
    officers = db.session.scalars(select(Officer).where(Officer.status != OfficerStatus.SEPARATED)
                                  .order_by(Officer.badge_number)).all()
    now = clock.now()
    # History: most officers were evaluated within the last 14 months; a few never.
    for officer in officers:
        if rng.random() < 0.1:
            continue
        completed = day - timedelta(days=rng.randint(20, 420))
        completed -= timedelta(days=(completed.weekday() - 1) % 7 if completed.weekday() < 3
                               else completed.weekday() - 3)
        evaluation = WellnessEvaluation(officer_id=officer.id, kind=EvaluationKind.ANNUAL,
                                        status=EvaluationStatus.COMPLETED, due_on=completed + timedelta(days=10),
                                        opened_on=completed - timedelta(days=50), completed_on=completed,
                                        created_at=now)
        db.session.add(evaluation)
        db.session.flush()
        visit = datetime.combine(completed, time(10), tzinfo=zone)
        _past_visit(evaluation, rng.choice(bookable), visit, AppointmentStatus.ATTENDED)
    db.session.commit()

    sweep(now)  # opens the annual evaluations whose window has come
    unit = db.session.scalar(select(Unit).where(Unit.name == "2nd District Patrol"))
    kind = db.session.scalar(select(IncidentType).where(IncidentType.window_days == 14))
    incidents.record_incident(Actor.system("seed-demo"), type_id=kind.id, occurred_on=day - timedelta(days=3),
                              description="Officer Daniel Price of 2nd District Patrol died in a vehicle collision "
                                          "while responding to a call.",
                              officer_ids=[], unit_ids=[unit.id] if unit else [])

    okafor = bookable[0]
    open_evaluations = db.session.scalars(select(WellnessEvaluation).where(
        WellnessEvaluation.status == EvaluationStatus.OPEN).order_by(WellnessEvaluation.due_on.desc())).all()
    free = [slot for slot in _free(okafor, day)]
    demo_officer = db.session.scalar(select(User).where(User.email.like("%@beacon-pd.example"),
                                                        User.officer_id.is_not(None)).order_by(User.id))
    # The demo officer has a booking awaiting the clinician; others are confirmed or want to move.
    chosen = [e for e in open_evaluations if demo_officer and e.officer_id == demo_officer.officer_id]
    chosen += [e for e in open_evaluations if not demo_officer or e.officer_id != demo_officer.officer_id][:6]
    states = [AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.CONFIRMED,
              AppointmentStatus.RESCHEDULE_REQUESTED, AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED,
              AppointmentStatus.CONFIRMED]
    for evaluation, status, (start, end) in zip(chosen, states, free):
        evaluation.status = EvaluationStatus.SCHEDULED
        db.session.add(Appointment(evaluation_id=evaluation.id, clinician_id=okafor.id,
                                   officer_id=evaluation.officer_id, starts_at=start, ends_at=end, status=status,
                                   uid=f"{uuid.uuid4()}@beacon", sequence=0, booked_at=now,
                                   confirmed_at=now if status == AppointmentStatus.CONFIRMED else None))
    # One visit this morning, waiting for the clinician to record attendance, and one no-show.
    rest = [e for e in open_evaluations if e not in chosen]
    if len(rest) >= 2:
        this_morning = datetime.combine(day, time(8), tzinfo=zone)
        rest[0].status = EvaluationStatus.SCHEDULED
        db.session.add(Appointment(evaluation_id=rest[0].id, clinician_id=okafor.id, officer_id=rest[0].officer_id,
                                   starts_at=this_morning, ends_at=this_morning + timedelta(hours=1),
                                   status=AppointmentStatus.CONFIRMED, uid=f"{uuid.uuid4()}@beacon", sequence=0,
                                   booked_at=now - timedelta(days=7), confirmed_at=now - timedelta(days=6)))
        _past_visit(rest[1], okafor, datetime.combine(day - timedelta(days=5), time(11), tzinfo=zone),
                    AppointmentStatus.NO_SHOW)
    # The demo officer has also booked a visit on their own: a confidential self-referral,
    # apart from their evaluation; HR sees only "fewer than 5" this month.
    if demo_officer and len(free) > len(chosen) + 1:
        start, end = free[len(chosen) + 1]
        db.session.add(Appointment(evaluation_id=None, self_referral=True, clinician_id=okafor.id,
                                   officer_id=demo_officer.officer_id, starts_at=start, ends_at=end,
                                   status=AppointmentStatus.CONFIRMED, uid=f"{uuid.uuid4()}@beacon", sequence=0,
                                   booked_at=now, confirmed_at=now))
    db.session.flush()
    # What needs HR on the first morning: the no-show and the request to move.
    seeder = Actor.system("seed-demo")
    for appointment in db.session.scalars(select(Appointment).where(Appointment.status.in_(
            (AppointmentStatus.NO_SHOW, AppointmentStatus.RESCHEDULE_REQUESTED)))):
        kind = "no_show" if appointment.status == AppointmentStatus.NO_SHOW else "reschedule_requested"
        attention.raise_item(appointment.evaluation, kind, actor=seeder, appointment=appointment, tell_hr=False)
    db.session.commit()
    sweep(now)  # pauses the incident evaluations of officers on leave


def _free(clinician, day):
    hours = [rules.Hours(h.weekday, h.starts, h.ends, h.slot_minutes, h.valid_from) for h in clinician.hours]
    return rules.slots(hours, day + timedelta(days=1), day + timedelta(days=21), settings().zone,
                       not_before=clock.now())
