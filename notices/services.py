"""Notices: messages from HR to a group. Department email is for department business;
this review step is how the department keeps it so. A notice goes out only once a
second person (an administrator, or an HR member who is not the author) approves it."""
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from core import clock
from core.audit import Actor, record
from core.converters import bounded_int
from core.db import db, get_or_404
from core.errors import DomainError, Forbidden
from core.models import AccountStatus, Officer, Role, Unit, User, UserRole
from core.services import outbox
from notices.models import Notice, NoticeRecipient, NoticeStatus

AUDIENCES = ("everyone", "unit", "role")
NOTICE = outbox.kind("notice")
NOTICE_WAITING = outbox.kind("notice_waiting", label="notice waiting for approval")
# How long the author may undo a withdrawal.
UNDO_WINDOW = timedelta(minutes=5)


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


def _contents(subject: str, body: str, audience: str, value: str) -> dict:
    """A notice's text and audience, checked: the columns to write."""
    subject, body = subject.strip(), body.strip()
    if "\r" in subject or "\n" in subject:
        raise DomainError("The subject must be one line.")
    if audience not in AUDIENCES:
        raise DomainError("Choose who the notice is for.")
    if not subject or not body:
        raise DomainError("A notice needs a subject and a text.")
    value = (value or "") if audience != "everyone" else ""
    return {"subject": subject[:150], "body": body, "audience": audience, "audience_value": value,
            "audience_label": _label(audience, value)}


def write(actor: Actor, *, subject: str, body: str, audience: str, value: str = "") -> Notice:
    """HR writes a notice. It waits for a second person's approval; everyone who may
    give it is told by email. Commits."""
    actor.require(Role.HR)
    notice = Notice(**_contents(subject, body, audience, value), status=NoticeStatus.PENDING,
                    author_id=actor.user_id, author_label=actor.label, created_at=clock.now())
    db.session.add(notice)
    db.session.flush()
    record(actor, "notice.written", target=f"notice {notice.id}", detail=f"to {notice.audience_label}")
    _tell_approvers(notice)
    db.session.commit()
    return notice


def approvers(notice: Notice) -> list[User]:
    """The active accounts that may approve `notice`: administrators and HR members,
    its author excepted."""
    return db.session.scalars(
        select(User).where(User.status == AccountStatus.ACTIVE, User.id != notice.author_id,
                           User.role_rows.any(UserRole.role.in_([Role.ADMIN, Role.HR])))
        .order_by(User.email)).all()


def _approver_key(notice: Notice) -> str:
    return f"notice:{notice.id}:approver:"


def _tell_approvers(notice: Notice, *, occasion: str = "written", stamp: str = "") -> int:
    """Email each approver that `notice` waits for them (in the caller's transaction),
    once per version of its text; requests for an older version not yet delivered are
    dropped. `occasion` is written, edited or restored. Returns how many were queued."""
    outbox.drop_pending(_approver_key(notice))
    subject = {"edited": "Beacon: an edited notice waits for your approval",
               "restored": "Beacon: a notice waits for your approval again"}.get(
                   occasion, "Beacon: a notice waits for your approval")
    queued = 0
    for approver in approvers(notice):
        queued += outbox.enqueue(
            kind=NOTICE_WAITING, recipient=approver.email, subject=subject,
            body=outbox.render_email("notice_waiting.txt", notice=notice, approver=approver, occasion=occasion),
            dedup_key=f"{_approver_key(notice)}{approver.id}:{notice.version}{stamp}")
    return queued


def editable(actor: Actor, notice_id: int) -> Notice:
    """The notice its author is about to edit; refused to anyone else, and once it no
    longer waits for approval. Changes nothing."""
    actor.require(Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    if notice.author_id != actor.user_id:
        raise Forbidden("Only the author of a notice may edit it.")
    if notice.status != NoticeStatus.PENDING:
        raise DomainError(f"This notice is {notice.status.label}: it can no longer be edited.")
    return notice


def edit(actor: Actor, notice_id: int, *, subject: str, body: str, audience: str, value: str = "") -> list[str]:
    """The author changes a notice still waiting for approval; the approvers are told
    again. Returns the names of what changed (nothing changed: nothing written). Commits."""
    notice = editable(actor, notice_id)
    contents = _contents(subject, body, audience, value)
    changed = notice.edit(actor, clock.now(), **contents)
    if not changed:
        return []
    _flush_decision()
    shown = sorted({"audience" if name.startswith("audience") else name for name in changed})
    record(actor, "notice.edited", target=f"notice {notice.id}", detail=f"changed: {', '.join(shown)}")
    _tell_approvers(notice, occasion="edited")
    db.session.commit()
    return shown


def withdraw(actor: Actor, notice_id: int) -> None:
    """The author withdraws a notice nobody has decided on: it is kept, marked withdrawn,
    and can no longer be approved; requests to approvers not yet delivered are dropped.
    Commits."""
    actor.require(Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    notice.withdraw(actor, clock.now())
    _flush_decision()
    outbox.drop_pending(_approver_key(notice))
    record(actor, "notice.withdrawn", target=f"notice {notice.id}")
    db.session.commit()


def undo_withdraw(actor: Actor, notice_id: int) -> None:
    """The author undoes a withdrawal within UNDO_WINDOW: the notice waits for approval
    again and the approvers are told again. Commits."""
    actor.require(Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    withdrawn_at = notice.withdrawn_at
    notice.undo_withdraw(actor, clock.now(), UNDO_WINDOW)
    _flush_decision()
    record(actor, "notice.restored", target=f"notice {notice.id}", detail="withdrawal undone")
    _tell_approvers(notice, occasion="restored",
                    stamp=f":restored:{withdrawn_at.strftime('%Y%m%d%H%M%S%f') if withdrawn_at else ''}")
    db.session.commit()


def undo_open(actor: Actor, notice: Notice) -> bool:
    """May the signed-in person still undo the withdrawal of `notice`?"""
    return notice.undo_open(actor.user_id, clock.now(), UNDO_WINDOW)


def undo_until(notice: Notice):
    return notice.withdrawn_at + UNDO_WINDOW if notice.withdrawn_at else None


def _flush_decision() -> None:
    """Write a decision the model has taken; the UPDATE only applies to a notice still
    pending (Notice's version column), so of two decisions at once only one lands."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise DomainError("Someone else has just changed or decided on this notice; "
                          "read it again.") from None


def _locked(notice_id: int) -> Notice:
    """The notice read afresh, its row locked (FOR UPDATE, PostgreSQL) until the commit:
    an edit or a withdrawal cannot land between the checks and the decision. A copy read
    earlier in this request that no longer matches the row means someone else changed it."""
    try:
        return get_or_404(Notice, notice_id, "No such notice.", with_for_update=True, populate_existing=True)
    except StaleDataError:
        db.session.rollback()
        raise DomainError("Someone else has just changed or decided on this notice; read it again.") from None


def second_person(actor: Actor, notice_id: int) -> Notice:
    """The notice, for someone who may decide on it (an administrator or HR member who
    is not its author); refused (Forbidden) to anyone else. Changes nothing."""
    actor.require(Role.ADMIN, Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    if notice.author_id == actor.user_id:
        raise Forbidden("The author of a notice cannot approve or reject it: a second person must.")
    return notice


def confirmation(actor: Actor, notice_id: int) -> tuple[Notice, list[User]]:
    """What approving `notice_id` would do now: the notice and the accounts it would go
    to, counted at this moment. Refuses as approving would. Changes nothing."""
    notice = second_person(actor, notice_id)
    if notice.status != NoticeStatus.PENDING:
        raise DomainError(f"This notice is already {notice.status.label}.")
    return notice, db.session.scalars(_audience_query(notice.audience, notice.audience_value)).all()


def approve(actor: Actor, notice_id: int, seen: str | None = None) -> int:
    """An administrator or an HR member other than the author approves: the notice is
    queued to every active account in its audience (counted now), and the recipients
    are recorded. `seen` is the version (Notice.version) the approver read: if the
    author edited it since, nothing is sent. Returns how many. Commits."""
    actor.require(Role.ADMIN, Role.HR)
    notice = _locked(notice_id)
    if seen is not None and seen != notice.version and notice.status == NoticeStatus.PENDING \
            and notice.author_id != actor.user_id:
        db.session.rollback()
        raise DomainError("The author has edited this notice since you opened it: read it again before approving.")
    notice.approve(actor, clock.now())
    _flush_decision()
    # SQLite has no FOR UPDATE: an edit could commit between the read above and the
    # decision's UPDATE. Read the text's version again now that this transaction holds
    # the write lock; nothing can change it from here to the commit.
    edited_at = db.session.scalar(select(Notice.edited_at).where(Notice.id == notice.id))
    if seen is not None and Notice.version_at(edited_at or notice.created_at) != seen:
        db.session.rollback()
        raise DomainError("The author has edited this notice since you opened it: read it again before approving.")
    outbox.drop_pending(_approver_key(notice))
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
    outbox.drop_pending(_approver_key(notice))
    record(actor, "notice.rejected", target=f"notice {notice.id}")
    db.session.commit()


FILTERS = ("to_approve", *(s.value for s in NoticeStatus))


def _to_approve(actor: Actor):
    return (Notice.status == NoticeStatus.PENDING) & (Notice.author_id != actor.user_id)


def list_notices(actor: Actor, show: str | None = None) -> list[Notice]:
    """Administrators and HR: the latest notices, newest first; `show` keeps those in
    one state, or "to_approve": those waiting for this person's approval. Changes nothing."""
    actor.require(Role.ADMIN, Role.HR)
    query = select(Notice).order_by(Notice.id.desc()).limit(200)
    if show == "to_approve":
        query = query.where(_to_approve(actor))
    elif show in FILTERS:
        query = query.where(Notice.status == NoticeStatus(show))
    return db.session.scalars(query).all()


def home_summary(actor: Actor) -> dict | None:
    """An approver's home panel: notices waiting for their approval, and their own still
    waiting for someone else's. None for an HR member who is also an administrator on
    the HR panel (the administrator's shows it once). Changes nothing."""
    actor.require(Role.ADMIN, Role.HR)
    to_approve, mine = db.session.execute(select(
        func.count().filter(_to_approve(actor)),
        func.count().filter((Notice.status == NoticeStatus.PENDING) & (Notice.author_id == actor.user_id)),
    ).select_from(Notice)).one()
    return {"to_approve": to_approve, "mine": mine}


def home_summary_hr(actor: Actor) -> dict | None:
    """The same panel for an HR member who is not an administrator (one panel each)."""
    return None if actor.has_role(Role.ADMIN) else home_summary(actor)


def get(actor: Actor, notice_id: int) -> tuple[Notice, list[NoticeRecipient]]:
    """Administrators and HR: one notice and whom it went to. Changes nothing."""
    actor.require(Role.ADMIN, Role.HR)
    notice = get_or_404(Notice, notice_id, "No such notice.")
    recipients = db.session.scalars(select(NoticeRecipient).where(NoticeRecipient.notice_id == notice.id)
                                    .order_by(NoticeRecipient.email)).all()
    return notice, recipients


def audience_size(audience: str, value: str) -> int:
    return len(db.session.scalars(_audience_query(audience, value)).all())
