"""Support after an incident (issue 16): the people an officer can turn to (the peer
support team, the chaplain, the employee assistance programme, a crisis line), kept by
HR, shown to officers whose incident evaluation is still to be done.

Reading the list records nothing: `listed`, `affected` and `panel` only read (no audit
entry, no row, no log line), so nobody can later learn who looked for help. HR's
changes are audited in the wellness log (private), as any other wellness change."""
import random
import re

from sqlalchemy import exists, func, or_, select

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.errors import DomainError
from core.models import Role, User
from wellness.models import EvaluationIncident, EvaluationKind, WellnessEvaluation
from wellness.models.evaluation import OPEN_STATUSES
from wellness.models.support import SupportKind, SupportResource

FIELDS = ("name", "kind", "phone", "contact", "hours", "notes")
KIND_LABELS = {
    SupportKind.PEER_SUPPORT: "Peer support team",
    SupportKind.CHAPLAIN: "Chaplain",
    SupportKind.EAP: "Employee assistance programme",
    SupportKind.CRISIS_LINE: "Crisis line",
    SupportKind.OTHER: "Other",
}
LIMITS = {"name": 120, "phone": 40, "contact": 300, "hours": 120, "notes": 2000}
# A number a phone can dial: digits with the usual separators, an optional leading +.
# An extension or a text line goes under "other ways to reach them".
PHONE_RE = re.compile(r"^\+?[0-9 ().\-]+$")
MIN_DIGITS, MAX_DIGITS = 3, 15   # 988 (the US crisis line) .. the longest international number


class SupportProblem(DomainError):
    """A value HR gave that cannot be kept; `field_name` is the field it belongs beside."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field_name = field_name


def phone_problem(phone: str) -> str | None:
    """Why `phone` is not a number to dial, or None (an empty one is allowed)."""
    if not phone:
        return None
    digits = sum(c.isdigit() for c in phone)
    if not PHONE_RE.match(phone) or not MIN_DIGITS <= digits <= MAX_DIGITS:
        return "Enter a number to dial, such as 988 or (555) 010-0100; put an extension under other ways to reach them."
    return None


def tel_href(phone: str) -> str:
    """The `tel:` address of a phone number as HR typed it: its digits, and a leading +."""
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + "".join(c for c in phone if c.isdigit())


# --- what officers read (nothing recorded) ---------------------------------------------------

def listed() -> list[SupportResource]:
    """The resources shown to officers, in HR's order. Reads only."""
    return list(db.session.scalars(select(SupportResource).where(SupportResource.active.is_(True))
                                   .order_by(SupportResource.position, SupportResource.id)))


def affected(actor: Actor) -> bool:
    """Whether the signed-in person is an officer with an evaluation in progress that an
    incident made due (one it opened, or an annual one it joined). Reads only."""
    if actor.user_id is None or not actor.has_role(Role.OFFICER):
        return False
    officer_id = db.session.scalar(select(User.officer_id).where(User.id == actor.user_id))
    if officer_id is None:
        return False
    answers_incident = exists().where(EvaluationIncident.evaluation_id == WellnessEvaluation.id)
    return db.session.scalar(select(exists().where(
        WellnessEvaluation.officer_id == officer_id, WellnessEvaluation.status.in_(OPEN_STATUSES),
        or_(WellnessEvaluation.kind == EvaluationKind.INCIDENT, answers_incident)))) is True


def panel(actor: Actor) -> list[SupportResource] | None:
    """The officer's home panel: the resources while an incident's evaluation is still
    to be done, None otherwise (the panel then shows nothing). Reads only."""
    if not affected(actor):
        return None
    return listed()


# --- HR keeps the list -----------------------------------------------------------------------

def all_resources(actor: Actor) -> list[SupportResource]:
    """HR's list: shown and hidden, in order."""
    actor.require(Role.HR)
    return list(db.session.scalars(select(SupportResource).order_by(SupportResource.position, SupportResource.id)))


def get(actor: Actor, resource_id: int) -> SupportResource:
    actor.require(Role.HR)
    return get_or_404(SupportResource, resource_id, "No such support resource.")


def _check(values: dict) -> dict:
    clean = {k: (values.get(k) or "").strip() for k in FIELDS}
    if not clean["name"]:
        raise SupportProblem("name", "Give the name officers will see.")
    try:
        clean["kind"] = SupportKind(clean["kind"])
    except ValueError:
        raise SupportProblem("kind", "Choose the kind from the list.") from None
    for name, limit in LIMITS.items():
        if len(clean[name]) > limit:
            raise SupportProblem(name, f"Keep this within {limit} characters.")
    problem = phone_problem(clean["phone"])
    if problem:
        raise SupportProblem("phone", problem)
    if not clean["phone"] and not clean["contact"]:
        raise SupportProblem("phone", "Give a phone number or another way to reach them.")
    return clean


def create(actor: Actor, **values) -> SupportResource:
    """HR adds a resource at the end of the list, shown to officers. Audited (wellness
    log). Commits."""
    actor.require(Role.HR)
    clean = _check(values)
    last = db.session.scalar(select(func.max(SupportResource.position)))
    now = clock.now()
    resource = SupportResource(**clean, position=(last or 0) + 1, active=True, created_at=now, updated_at=now)
    db.session.add(resource)
    db.session.flush()
    record(actor, "support_resource.created", target=f"support resource {resource.id}", detail=resource.name,
           private=True)
    db.session.commit()
    return resource


def update(actor: Actor, resource_id: int, **values) -> SupportResource:
    """HR corrects a resource (a new number, other hours). Audited with the fields
    changed. Commits."""
    resource = get(actor, resource_id)
    clean = _check(values)
    changed = [k for k, v in clean.items() if getattr(resource, k) != v]
    if changed:
        for key in changed:
            setattr(resource, key, clean[key])
        resource.updated_at = clock.now()
        record(actor, "support_resource.updated", target=f"support resource {resource.id}",
               detail=f"{resource.name}: {', '.join(changed)}", private=True)
    db.session.commit()
    return resource


def set_shown(actor: Actor, resource_id: int, shown: bool) -> SupportResource:
    """HR hides a resource from officers (kept, to show again) or shows it. Audited. Commits."""
    resource = get(actor, resource_id)
    if resource.active == shown:
        raise DomainError(f"{resource.name} is already {'shown' if shown else 'hidden'}.")
    resource.active, resource.updated_at = shown, clock.now()
    record(actor, "support_resource.shown" if shown else "support_resource.hidden",
           target=f"support resource {resource.id}", detail=resource.name, private=True)
    db.session.commit()
    return resource


def move(actor: Actor, resource_id: int, up: bool) -> SupportResource:
    """HR moves a resource one place up or down the list (officers see it in this
    order). Audited. Commits."""
    resource = get(actor, resource_id)
    order = all_resources(actor)
    at = order.index(resource)
    to = at - 1 if up else at + 1
    if not 0 <= to < len(order):
        raise DomainError(f"{resource.name} is already {'first' if up else 'last'}.")
    order[at], order[to] = order[to], order[at]
    for position, row in enumerate(order, start=1):  # renumbered: equal positions cannot swap
        row.position = position
    resource.updated_at = clock.now()
    record(actor, "support_resource.moved", target=f"support resource {resource.id}",
           detail=f"{resource.name}: {'up' if up else 'down'} to place {to + 1}", private=True)
    db.session.commit()
    return resource


# --- demo ------------------------------------------------------------------------------------

DEMO = (
    dict(name="Peer Support Team", kind=SupportKind.PEER_SUPPORT, phone="(555) 010-0177",
         contact="peersupport@pd.example (any team member, in confidence)", hours="Any time, day or night",
         notes="Officers trained to listen, who have been through it themselves. What you say stays with them."),
    dict(name="Department Chaplain", kind=SupportKind.CHAPLAIN, phone="(555) 010-0142",
         contact="Chaplain's office, 2nd floor, headquarters", hours="Mon–Fri 08:00–18:00; on call at night",
         notes="For officers and their families, of any faith or none."),
    dict(name="Employee Assistance Programme", kind=SupportKind.EAP, phone="1-800-555-0199",
         contact="eap.example.org", hours="Any time, day or night",
         notes="Free, confidential counselling for you and your household, outside the department."),
    dict(name="988 Suicide & Crisis Lifeline", kind=SupportKind.CRISIS_LINE, phone="988",
         contact="Text 988, or chat at 988lifeline.org", hours="Any time, day or night",
         notes="If you or someone you know is in crisis. In an emergency, call 911."),
)


def seed_demo(rng: random.Random | None = None) -> None:
    """The demo's list (a beacon.demo extension): the peer support team, the chaplain,
    the EAP and the 988 lifeline, unless HR already keeps one."""
    if db.session.scalar(select(func.count()).select_from(SupportResource)):
        return
    now = clock.now()
    for position, values in enumerate(DEMO, start=1):
        db.session.add(SupportResource(**values, position=position, active=True, created_at=now, updated_at=now))
    db.session.commit()
