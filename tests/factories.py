"""Small builders for test data (CTFd's gen_user habit)."""
import itertools
from datetime import date

from core import clock
from core.db import db
from evaluations.models import ReviewCycle  # noqa: F401,E402
from core.models import (PRIVILEGED, AccountStatus, AuditEntry, Officer, OfficerStatus, Role, Unit, User,  # noqa: F401
                         SupervisorSpell, UserRole)
from core.passwords import hash_password

PASSWORD = "quartz meadow lantern ripple"
# The authenticator of every account these factories give two-step sign-in.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_seq = itertools.count(1)
_hash = None


def _password_hash():
    # Hashing is deliberately slow; the tests reuse one hash of the shared password.
    global _hash
    if _hash is None:
        _hash = hash_password(PASSWORD)
    return _hash


def unit(name="1st District"):
    existing = db.session.query(Unit).filter_by(name=name).one_or_none()
    if existing:
        return existing
    u = Unit(name=name)
    db.session.add(u)
    db.session.flush()
    return u


def officer(badge=None, first="Pat", last=None, unit_name="1st District", rank="Police Officer",
            supervisor=None, hire_date=date(2020, 5, 1), status=OfficerStatus.ACTIVE, email=None):
    n = next(_seq)
    badge = badge or f"B{n:05d}"
    last = last or f"Officer{n}"
    now = clock.now()
    o = Officer(badge_number=badge, first_name=first, last_name=last, email=email or f"{badge.lower()}@pd.test",
                unit=unit(unit_name), rank=rank, supervisor_id=supervisor.id if supervisor else None,
                hire_date=hire_date, status=status, created_at=now, updated_at=now)
    db.session.add(o)
    if supervisor:  # as migration 0019 and the roster import keep it: a spell from an unknown start
        db.session.flush()
        db.session.add(SupervisorSpell(officer_id=o.id, supervisor_id=supervisor.id))
    db.session.commit()
    return o


def supervised(officer_row, supervisor, started_on=None, ended_on=None):
    """A spell of the roster's supervisor history (as the roster import writes them)."""
    spell = SupervisorSpell(officer_id=officer_row.id, supervisor_id=supervisor.id, started_on=started_on,
                            ended_on=ended_on)
    db.session.add(spell)
    db.session.commit()
    return spell


def user(roles=(Role.OFFICER,), email=None, name=None, password=True, officer_row=None, status=AccountStatus.ACTIVE,
         two_step=None):
    """An account. Administrators, HR and clinicians have two-step sign-in set up with
    TOTP_SECRET (as after their first sign-in) unless `two_step=False`; others only
    with `two_step=True`."""
    n = next(_seq)
    roles = [Role(r) for r in roles]
    if two_step is None:
        two_step = bool(set(roles) & PRIVILEGED)
    if Role.OFFICER in roles and officer_row is None:
        officer_row = officer()
    u = User(email=email or (officer_row.email if officer_row else f"user{n}@pd.test"),
             name=name or (officer_row.full_name if officer_row else f"User {n}"),
             password_hash=_password_hash() if password else None, status=status,
             officer_id=officer_row.id if officer_row else None, created_at=clock.now(), failed_logins=0)
    u.role_rows = [UserRole(role=r) for r in roles]
    if two_step:
        u.totp_secret, u.totp_enrolled_at = TOTP_SECRET, clock.now()
    db.session.add(u)
    db.session.commit()
    return u


def authenticator_code(email: str) -> str:
    """What the account's authenticator shows now: from its secret, or from the one
    being set up. A test shortcut: the account forgets the last code it accepted, so a
    test may sign the same person in several times within 30 seconds (the rule that a
    code is accepted once has its own tests)."""
    from sqlalchemy import select, update

    from core.services import two_step
    email = email.strip().lower()
    row = db.session.execute(select(User.totp_secret, User.totp_pending_secret).where(User.email == email)).one()
    db.session.execute(update(User).where(User.email == email).values(totp_last_step=None))
    db.session.commit()
    return two_step.code_at(row.totp_secret or row.totp_pending_secret, clock.now())


# --- wellness ----------------------------------------------------------------------------

def clinician(name="Dr. Test Clinician", trauma=True, expires=None, user_row=None, hours=True, email=None,
              modality="both"):
    from datetime import time, timedelta

    from wellness.models import Clinician, Modality, WeeklyHours
    n = next(_seq)
    c = Clinician(name=name, practice="Test Practice", email=email or f"clinician{n}@clinic.test", phone="",
                  license_number=f"L-{n}", license_state="MO",
                  license_expires=expires or (clock.now().date() + timedelta(days=700)),
                  trauma_specialty=trauma, specialty_description="PTSD" if trauma else "",
                  modality=Modality(modality), address="1 Main St", user_id=user_row.id if user_row else None,
                  created_at=clock.now())
    db.session.add(c)
    db.session.flush()
    if hours:
        for weekday in range(7):
            db.session.add(WeeklyHours(clinician_id=c.id, weekday=weekday, starts=time(9), ends=time(17),
                                       slot_minutes=60, valid_from=date(2020, 1, 1)))
    db.session.commit()
    return c


def evaluation(officer_row=None, kind="annual", status="open", due_on=None):
    from datetime import timedelta

    from wellness.models import EvaluationKind, EvaluationStatus, WellnessEvaluation
    officer_row = officer_row or officer()
    e = WellnessEvaluation(officer_id=officer_row.id, kind=EvaluationKind(kind), status=EvaluationStatus(status),
                           due_on=due_on or (clock.now().date() + timedelta(days=20)), opened_on=clock.now().date(),
                           created_at=clock.now())
    db.session.add(e)
    db.session.commit()
    return e


def appointment(evaluation_row=None, clinician_row=None, starts_at=None, status="booked", booked_at=None):
    import uuid
    from datetime import timedelta

    from wellness.models import Appointment, AppointmentStatus, EvaluationStatus
    evaluation_row = evaluation_row or evaluation()
    clinician_row = clinician_row or clinician()
    starts_at = starts_at or (clock.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    a = Appointment(evaluation_id=evaluation_row.id, clinician_id=clinician_row.id,
                    officer_id=evaluation_row.officer_id, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
                    status=AppointmentStatus(status), uid=f"{uuid.uuid4()}@beacon", sequence=0,
                    booked_at=booked_at or clock.now())
    db.session.add(a)
    evaluation_row.status = EvaluationStatus.SCHEDULED
    db.session.commit()
    return a


# --- reviews -----------------------------------------------------------------------------

def team(reports=3, unit_name=None, with_boss=True):
    """A sergeant (under a lieutenant) and `reports` officers who report to the sergeant,
    everyone with an account. Returns (lieutenant, sergeant, [officers], {officer id: user})."""
    from types import SimpleNamespace
    unit_name = unit_name or f"Unit {next(_seq)}"
    boss = officer(unit_name=unit_name, rank="Lieutenant", first="Lee") if with_boss else None
    sergeant = officer(unit_name=unit_name, rank="Sergeant", first="Sam", supervisor=boss)
    members = [officer(unit_name=unit_name, first=f"Rep{i}", supervisor=sergeant) for i in range(reports)]
    users = {o.id: user(officer_row=o) for o in ([boss] if boss else []) + [sergeant] + members}
    return SimpleNamespace(boss=boss, sergeant=sergeant, members=members, users=users, unit=sergeant.unit)


def review_cycle(hr_actor=None, *, name=None, open_it=True, threshold=3, peers=2, anonymous_peers=False,
                 unit_ids=None, days=10, seed=1, nominations=False, supervisor_share=25):
    from datetime import timedelta

    from core.audit import Actor
    from evaluations.models import Rubric
    from evaluations.services import cycles
    hr_actor = hr_actor or Actor.system("test")
    rubric = db.session.query(Rubric).order_by(Rubric.id).first()
    day = clock.today("America/Chicago")
    cycle = cycles.create_cycle(hr_actor, name=name or f"Cycle {next(_seq)}", rubric_id=rubric.id,
                                opens_on=day, closes_on=day + timedelta(days=days), all_units=unit_ids is None,
                                unit_ids=unit_ids or [], peers=peers, threshold=threshold,
                                anonymous_peers=anonymous_peers, nominations=nominations,
                                supervisor_share=supervisor_share)
    cycles.generate(hr_actor, cycle.id, seed=seed)
    if open_it:
        cycles.move(hr_actor, cycle.id, "open")
    return cycle


def actor_for(user_row):
    from core.audit import Actor
    return Actor.for_user(user_row, "127.0.0.1")


def criteria_for(cycle, group):
    return [c for c in cycle.rubric.criteria if c.answered_by(group)]


# --- two-person grants -------------------------------------------------------------------

def approve_grants(email, approver=None):
    """A second administrator approves every pending role request of the account
    `email` (as the role-approvals page would); returns the approver."""
    from sqlalchemy import select

    from core.audit import Actor
    from core.models import GrantStatus, RoleGrant
    from core.services import grants
    approver = approver or user(roles=[Role.ADMIN])
    target = db.session.scalar(select(User).where(User.email == email.lower()))
    for grant_id in db.session.scalars(select(RoleGrant.id).where(RoleGrant.user_id == target.id,
                                                                  RoleGrant.status == GrantStatus.PENDING)).all():
        grants.approve(Actor.for_user(approver), grant_id)
    return approver
