"""HR's "Needs attention" list: every evaluation that can slip, with what happened and
since when, until someone acts.

Services raise an item where the event happens (a decline, a no-show, a deadline that
moved past the appointment); the exceptions sweep raises the ones that come with time
(a booking unconfirmed for 48 hours, a proposal nobody answered). An item is resolved by
what fixes it (a new booking, attendance, the appointment moved before the due date) or
by HR recording why it stays; each raise and each resolution is in the wellness audit.
HR's messages name the officer and link to the record: HR may know who it is.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.errors import DomainError
from core.models import Officer, Role, Unit
from core.pagination import Page
from core.services import outbox
from wellness.models import Appointment, AttentionItem, WellnessEvaluation
from wellness.models.attention import KINDS, PRIORITY
from wellness.services.common import hr_emails, settings

HR_MESSAGE = outbox.kind("attention_hr", private=True)

# The subject's first words, per kind, for HR's inbox.
SUBJECTS = {
    "declined": "Declined", "clinician_cancelled": "Cancelled", "no_show": "Not attended",
    "clinician_unavailable": "Clinician unavailable", "deadline_moved": "Move earlier",
    "incident_withdrawn": "Incident withdrawn", "no_slots": "No time before the due date",
    "proposal_expired": "No answer to proposed time", "license_expiring": "License expires first",
    "reschedule_requested": "Reschedule requested", "booked_late": "Booked after the due date",
    "unconfirmed": "Unconfirmed", "proposal_waiting": "New time proposed",
}
# A clinician's reason is free text: HR reads it on the record, not in a mailbox.
DETAIL_ON_PAGE_ONLY = ("declined", "clinician_cancelled")
# The items an appointment's own state raises: they end with that appointment.
OF_APPOINTMENT = ("clinician_unavailable", "deadline_moved", "incident_withdrawn", "license_expiring",
                  "reschedule_requested", "booked_late", "unconfirmed", "proposal_waiting", "proposal_expired")
# The items a new booking answers.
ANSWERED_BY_BOOKING = ("declined", "clinician_cancelled", "no_show", "no_slots", "proposal_expired")


def raise_item(evaluation: WellnessEvaluation, kind: str, *, actor: Actor, appointment: Appointment | None = None,
               detail: str = "", tell_hr: bool = True, now: datetime | None = None,
               mail_detail: str | None = None) -> AttentionItem | None:
    """Open an item of `kind` for the evaluation (in the caller's transaction). Raising
    one already open is a no-op (returns None), so events and sweeps may repeat. HR's
    message carries `mail_detail` when given (a version of the detail without the
    clinician's free text), else the detail unless it is free text (DETAIL_ON_PAGE_ONLY)."""
    if evaluation is None:  # a confidential self-referral: HR is never told of it
        return None
    assert kind in KINDS, kind
    existing = db.session.scalar(select(AttentionItem).where(AttentionItem.evaluation_id == evaluation.id,
                                                             AttentionItem.kind == kind,
                                                             AttentionItem.resolved_at.is_(None)))
    if existing is not None:
        return None
    # HR said this one stays as it is: the same fact (same appointment, same detail) is
    # not raised again by the next sweep or page view. A new fact is.
    kept = select(AttentionItem.id).where(
        AttentionItem.evaluation_id == evaluation.id, AttentionItem.kind == kind, AttentionItem.resolution == "kept",
        AttentionItem.appointment_id.is_(None) if appointment is None
        else AttentionItem.appointment_id == appointment.id,
        AttentionItem.detail == detail[:500])
    if db.session.scalar(kept.limit(1)) is not None:
        return None
    now = now or clock.now()
    item = AttentionItem(evaluation_id=evaluation.id, appointment_id=appointment.id if appointment else None,
                         kind=kind, detail=detail[:500], opened_at=now)
    db.session.add(item)
    db.session.flush()
    _refresh(evaluation)
    record(actor, "attention.raised", target=f"evaluation {evaluation.id}", detail=f"{kind}: {detail}"[:500],
           private=True)
    if tell_hr:
        _tell_hr(item, evaluation, appointment, mail_detail)
    return item


def resolve(evaluation: WellnessEvaluation, kinds=None, *, actor: Actor, resolution: str, note: str = "",
            appointment: Appointment | None = None, now: datetime | None = None) -> int:
    """Resolve the evaluation's open items of `kinds` (all when None; only those tied to
    `appointment` when given), each audited. Returns how many."""
    if evaluation is None:  # a confidential self-referral raises nothing
        return 0
    query = select(AttentionItem).where(AttentionItem.evaluation_id == evaluation.id,
                                        AttentionItem.resolved_at.is_(None))
    if kinds is not None:
        query = query.where(AttentionItem.kind.in_(list(kinds)))
    if appointment is not None:
        query = query.where(AttentionItem.appointment_id == appointment.id)
    items = db.session.scalars(query).all()
    now = now or clock.now()
    for item in items:
        item.resolved_at, item.resolved_by_id = now, actor.user_id
        item.resolution, item.note = resolution[:60], note[:500]
        record(actor, "attention.resolved", target=f"evaluation {evaluation.id}",
               detail=f"{item.kind}: {resolution}" + (f" ({note})" if note else ""), private=True)
    if items:
        db.session.flush()
        _refresh(evaluation)
    return len(items)


def _refresh(evaluation: WellnessEvaluation) -> None:
    """Keep the evaluation's most pressing open kind on it, for the dashboard."""
    kinds = db.session.scalars(select(AttentionItem.kind).where(AttentionItem.evaluation_id == evaluation.id,
                                                                AttentionItem.resolved_at.is_(None))).all()
    evaluation.attention = min(kinds, key=PRIORITY.get) if kinds else None


def open_kinds(evaluation: WellnessEvaluation) -> list[AttentionItem]:
    return db.session.scalars(select(AttentionItem).where(AttentionItem.evaluation_id == evaluation.id,
                                                          AttentionItem.resolved_at.is_(None))
                              .order_by(AttentionItem.opened_at)).all()


def history(evaluation_ids: list[int]) -> list[AttentionItem]:
    """Every item of these evaluations, open and resolved, newest first (the record page)."""
    if not evaluation_ids:
        return []
    return db.session.scalars(select(AttentionItem).where(AttentionItem.evaluation_id.in_(evaluation_ids))
                              .order_by(AttentionItem.opened_at.desc(), AttentionItem.id.desc())).all()


def keep(actor: Actor, item_id: int, note: str) -> AttentionItem:
    """HR records why an item stays as it is (e.g. the late appointment is the earliest
    the officer can attend): it leaves the list. Commits."""
    actor.require(Role.HR)
    item = get_or_404(AttentionItem, item_id)
    note = (note or "").strip()
    if not note:
        raise DomainError("Say why it stays as it is.")
    if not item.is_open:
        raise DomainError("This item is already resolved.")
    evaluation = db.session.get(WellnessEvaluation, item.evaluation_id)
    item.resolved_at, item.resolved_by_id, item.resolution, item.note = clock.now(), actor.user_id, "kept", note[:500]
    record(actor, "attention.resolved", target=f"evaluation {evaluation.id}",
           detail=f"{item.kind}: kept ({note})"[:500], private=True)
    db.session.flush()
    _refresh(evaluation)
    db.session.commit()
    return item


@dataclass(frozen=True)
class Line:
    item: AttentionItem
    officer_id: int
    badge_number: str
    name: str
    unit: str
    evaluation_kind: str
    due_on: object
    appointment_id: int | None
    evaluation_status: str


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(AttentionItem)
                             .where(AttentionItem.resolved_at.is_(None)))


def counts_by_kind() -> dict[str, int]:
    return dict(db.session.execute(select(AttentionItem.kind, func.count()).where(AttentionItem.resolved_at.is_(None))
                                   .group_by(AttentionItem.kind)).all())


def list_open(actor: Actor, *, kind: str | None = None, page: int = 1, per_page: int = 50) -> Page:
    """HR's list, oldest first (what has waited longest). Three queries. Audited."""
    actor.require(Role.HR)
    where = [AttentionItem.resolved_at.is_(None)]
    if kind in KINDS:
        where.append(AttentionItem.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(AttentionItem).where(*where))
    # Audited (and committed) before the rows are read: a commit after would expire them,
    # and the page would load each one again.
    record(actor, "attention.list_viewed", detail=f"{total} open" + (f", {kind}" if kind else ""), private=True)
    db.session.commit()
    rows = db.session.execute(
        select(AttentionItem, Officer.id, Officer.badge_number, Officer.first_name, Officer.last_name, Unit.name,
               WellnessEvaluation.kind, WellnessEvaluation.due_on, WellnessEvaluation.status)
        .join(WellnessEvaluation, WellnessEvaluation.id == AttentionItem.evaluation_id)
        .join(Officer, Officer.id == WellnessEvaluation.officer_id).join(Unit, Unit.id == Officer.unit_id)
        .where(*where).order_by(AttentionItem.opened_at, AttentionItem.id)
        .offset((max(page, 1) - 1) * per_page).limit(per_page)).all()
    lines = [Line(item, oid, badge, f"{last}, {first}", unit, ekind.value, due, item.appointment_id, status.value)
             for item, oid, badge, first, last, unit, ekind, due, status in rows]
    return Page(lines, total, max(page, 1), per_page)


def resolve_stale(actor: Actor, conditions: dict) -> int:
    """Resolve open items whose condition no longer holds: `conditions` maps a kind to a
    predicate on (item, evaluation, appointment). Used by the exceptions sweep."""
    resolved = 0
    items = db.session.scalars(select(AttentionItem).where(AttentionItem.resolved_at.is_(None),
                                                           AttentionItem.kind.in_(list(conditions)))).all()
    for item in items:
        evaluation = db.session.get(WellnessEvaluation, item.evaluation_id)
        appointment = db.session.get(Appointment, item.appointment_id) if item.appointment_id else None
        if not conditions[item.kind](item, evaluation, appointment):
            resolved += resolve(evaluation, [item.kind], actor=actor, resolution="no longer applies")
    return resolved


def close_all(evaluation_ids, actor: Actor, resolution: str) -> None:
    """Resolve every open item of evaluations that ended in bulk (the sweep closing
    evaluations of separated officers)."""
    ids = list(evaluation_ids)
    if not ids:
        return
    db.session.execute(update(AttentionItem).where(AttentionItem.evaluation_id.in_(ids),
                                                   AttentionItem.resolved_at.is_(None))
                       .values(resolved_at=clock.now(), resolved_by_id=actor.user_id, resolution=resolution))
    db.session.execute(update(WellnessEvaluation).where(WellnessEvaluation.id.in_(ids)).values(attention=None))
    for evaluation_id in ids:
        record(actor, "attention.resolved", target=f"evaluation {evaluation_id}", detail=f"all: {resolution}",
               private=True)


# --- HR's message ------------------------------------------------------------------------

def _tell_hr(item: AttentionItem, evaluation: WellnessEvaluation, appointment: Appointment | None,
             mail_detail: str | None = None) -> None:
    officer = evaluation.officer
    zone = settings().zone
    when = appointment.starts_at.astimezone(zone) if appointment else None
    subject = f"{SUBJECTS[item.kind]}: {officer.full_name} ({officer.badge_number})"
    if when:
        subject += f", appointment on {when:%a} {when.day} {when:%B} at {when:%H:%M %Z}"
    body = outbox.render_email("attention_hr.txt", item=item, officer=officer, evaluation=evaluation,
                               detail=mail_detail if mail_detail is not None
                               else ("" if item.kind in DETAIL_ON_PAGE_ONLY else item.detail),
                               appointment=appointment, when=when.strftime("%A %d %B %Y at %H:%M %Z") if when else "",
                               record_path=f"/wellness/officers/{officer.id}", list_path="/wellness/attention")
    for email in hr_emails():
        outbox.enqueue(kind=HR_MESSAGE, recipient=email, subject=subject, body=body,
                       dedup_key=f"attention:{item.id}:{email}")
