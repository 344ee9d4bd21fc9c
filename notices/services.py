"""Notices: messages from HR to a group. Department email is for department business;
this review step is how the department keeps it so. A notice goes out only once a
second person (an administrator, or an HR member who is not the author) approves it."""
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from core import clock
from core.audit import Actor, record
from core.converters import bounded_int
from core.db import db, get_or_404
from core.errors import DomainError
from core.models import AccountStatus, Officer, Role, Unit, User, UserRole
from core.services import outbox
from notices.models import Notice, NoticeRecipient, NoticeStatus

AUDIENCES = ("everyone", "unit", "role")
NOTICE = outbox.kind("notice")


def _audience_query(audience: str, value: str):
    query = select(User).where(User.status == AccountStatus.ACTIVE)
    if audience == "unit":
        query = query.join(Officer, Officer.id == User.officer_id).where(Officer.unit_id == bounded_int(value))
    elif audience == "role":
        query = query.where(User.role_rows.any(UserRole.role == Role(value)))
    return query.order_by(User.email)


def _label(audience: str, value: str) -> str:
    if audience == "everyone":
        return "everyone with an account"
    if audience == "unit":
        unit_id = bounded_int(value)
        unit = db.session.get(Unit, unit_id) if unit_id is not None else None
        if unit is None:
            raise DomainError("Choose a unit.")
        return f"unit {unit.name}"
    try:
        return f"everyone with the {Role(value).value} role"
    except ValueError:
        raise DomainError("Choose a role.") from None


def write(actor: Actor, *, subject: str, body: str, audience: str, value: str = "") -> Notice:
    """HR writes a notice. It waits for a second person's approval. Commits."""
    actor.require(Role.HR)
    subject, body = subject.strip(), body.strip()
    if "\r" in subject or "\n" in subject:
        raise DomainError("The subject must be one line.")
    if audience not in AUDIENCES:
        raise DomainError("Choose who the notice is for.")
    if not subject or not body:
        raise DomainError("A notice needs a subject and a text.")
    notice = Notice(subject=subject[:150], body=body, audience=audience, audience_value=value or "",
                    audience_label=_label(audience, value or ""), status=NoticeStatus.PENDING,
                    author_id=actor.user_id, author_label=actor.label, created_at=clock.now())
    db.session.add(notice)
    db.session.flush()
    record(actor, "notice.written", target=f"notice {notice.id}", detail=f"to {notice.audience_label}")
    db.session.commit()
    return notice


def _flush_decision() -> None:
    """Write a decision the model has taken; the UPDATE only applies to a notice still
    pending (Notice's version column), so of two decisions at once only one lands."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise DomainError("Someone else has just decided on this notice.") from None


def approve(actor: Actor, notice_id: int) -> int:
    """An administrator or an HR member other than the author approves: the notice is
    queued to every active account in its audience, and the recipients are recorded.
    Returns how many. Commits."""
    actor.require(Role.ADMIN, Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    notice.approve(actor, clock.now())
    _flush_decision()
    recipients = db.session.scalars(_audience_query(notice.audience, notice.audience_value)).all()
    for user in recipients:
        db.session.add(NoticeRecipient(notice_id=notice.id, user_id=user.id, email=user.email))
        outbox.enqueue(kind=NOTICE, recipient=user.email, subject=f"Beacon: {notice.subject}",
                       body=outbox.render_email("notice.txt", notice=notice, name=user.name),
                       dedup_key=f"notice:{notice.id}:{user.id}")
    record(actor, "notice.approved", target=f"notice {notice.id}", detail=f"{len(recipients)} recipient(s)")
    db.session.commit()
    return len(recipients)


def reject(actor: Actor, notice_id: int, reason: str) -> None:
    """An administrator or an HR member other than the author rejects, with a reason;
    the notice is kept. Commits."""
    actor.require(Role.ADMIN, Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    notice.reject(actor, reason, clock.now())
    _flush_decision()
    record(actor, "notice.rejected", target=f"notice {notice.id}")
    db.session.commit()


def list_notices(actor: Actor) -> list[Notice]:
    """Administrators and HR: the latest notices, newest first. Changes nothing."""
    actor.require(Role.ADMIN, Role.HR)
    return db.session.scalars(select(Notice).order_by(Notice.id.desc()).limit(200)).all()


def get(actor: Actor, notice_id: int) -> tuple[Notice, list[NoticeRecipient]]:
    """Administrators and HR: one notice and whom it went to. Changes nothing."""
    actor.require(Role.ADMIN, Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    recipients = db.session.scalars(select(NoticeRecipient).where(NoticeRecipient.notice_id == notice.id)
                                    .order_by(NoticeRecipient.email)).all()
    return notice, recipients


def audience_size(audience: str, value: str) -> int:
    return len(db.session.scalars(_audience_query(audience, value)).all())
