"""Sign-in email changes, confirmed by the new address.

A roster import (or any caller that changes a person's address) never writes
users.email itself: it asks for a change here. The new address gets a confirmation
link, the old one a neutral notice, and both the request and the confirmation are
audited with the old and the new address. Only the holder of the new address can
make it the sign-in address; then every session ends and every invitation or reset
link issued to the old address stops working.

The token is this module's own (hashed, 72 hours), not an AccountToken: those are
taken by the password link page, and a confirmation link must never set a password.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from core import clock
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError
from core.models import AccountStatus, AccountToken, EmailChange, EmailChangeStatus, LoginSession, User
from core.services import outbox

LIFETIME = timedelta(hours=72)
CHUNK = 1000

# The confirmation lets its reader move an account's sign-in address: like a reset
# link, an administrator never reads its body. Neither message is health-related.
CONFIRM = outbox.kind("email_change_confirm", signs_in=True, label="sign-in email confirmation")
NOTICE = outbox.kind("email_change_notice", label="sign-in email notice")


class ChangeInvalid(DomainError):
    pass


def mask(email: str) -> str:
    """An address shown to someone who may not be its owner: "n***@example.org"."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def link_path(raw: str) -> str:
    """The confirmation link: the token rides in the fragment, which browsers never
    send, so no request line or access log holds it (as with password links)."""
    return f"/account/email/confirm#t={raw}"


def request_change(actor: Actor, user: User, new_email: str, source: str) -> EmailChange | None:
    """Ask for `user`'s sign-in email to become `new_email`, in the caller's
    transaction (the caller has checked the actor may change the address; it commits).
    A pending change to another address is replaced (its link stops working); one to
    the same address is kept as it is; an address equal to the sign-in email cancels
    a pending change. Refuses an address that is another account's sign-in email.
    Returns the pending change, or None when none is needed."""
    now = clock.now()
    new_email = new_email.strip().lower()
    pending = db.session.scalar(select(EmailChange).where(EmailChange.user_id == user.id,
                                                          EmailChange.status == EmailChangeStatus.PENDING)
                                .with_for_update())
    if pending is not None and pending.new_email == new_email and now < pending.expires_at:
        return pending
    if pending is not None:
        kept = new_email == user.email
        (pending.cancel if kept else pending.replace)(now)
        outbox.drop_pending_keys([f"email-change:{pending.id}:confirm"])
        record(actor, "account.email_change_cancelled" if kept else "account.email_change_replaced",
               target=user.email, detail=f"{pending.old_email} → {pending.new_email} (request {pending.id}); "
                                         + ("the address is the sign-in email again" if kept
                                            else f"replaced by a change to {new_email}"))
        db.session.flush()
    if new_email == user.email:
        return None
    other = db.session.scalar(select(User.id).where(User.email == new_email, User.id != user.id))
    if other is not None:
        raise DomainError(f"{new_email} is already the sign-in email of another account.")
    if user.status != AccountStatus.ACTIVE:
        record(actor, "account.email_change_requested", target=user.email, outcome="skipped",
               detail=f"{user.email} → {new_email} ({source}); the account is disabled: its sign-in email stays")
        return None
    raw = secrets.token_urlsafe(32)
    change = EmailChange(user_id=user.id, old_email=user.email, new_email=new_email,
                         status=EmailChangeStatus.PENDING, requested_by_id=actor.user_id,
                         requested_by_label=actor.label[:254], source=source[:200], token_hash=_hash(raw),
                         created_at=now, expires_at=now + LIFETIME)
    db.session.add(change)
    db.session.flush()
    hours = int(LIFETIME.total_seconds() // 3600)
    outbox.enqueue(kind=CONFIRM, recipient=new_email, subject="Beacon: confirm your new sign-in email",
                   body=outbox.render_email("email_change_confirm.txt", user=user, change=change, hours=hours,
                                            link_path=link_path(raw), code=raw),
                   dedup_key=f"email-change:{change.id}:confirm", expires_at=change.expires_at)
    outbox.enqueue(kind=NOTICE, recipient=change.old_email, subject="Beacon: a change of your sign-in email",
                   body=outbox.render_email("email_change_requested.txt", user=user, masked=mask(new_email),
                                            hours=hours),
                   dedup_key=f"email-change:{change.id}:notice")
    record(actor, "account.email_change_requested", target=user.email,
           detail=f"{change.old_email} → {new_email} ({source}; request {change.id}); "
                  "confirmation sent to the new address, notice to the old one")
    return change


def request_from_roster(actor: Actor, new_emails: dict[int, str], filename: str) -> int:
    """The roster import (in its own transaction) changed these officers' roster
    emails (officer id -> new email): their accounts' sign-in emails follow only once
    confirmed. Returns how many confirmations were sent."""
    sent = 0
    officer_ids = list(new_emails)
    for start in range(0, len(officer_ids), CHUNK):
        users = db.session.scalars(select(User).where(User.officer_id.in_(officer_ids[start:start + CHUNK]))
                                   .order_by(User.id)).all()
        for user in users:
            if request_change(actor, user, new_emails[user.officer_id], f"roster import {filename}") is not None:
                sent += 1
    return sent


@dataclass(frozen=True)
class Pending:
    change: EmailChange
    user: User


def check(raw: str) -> Pending:
    """The pending change a confirmation code belongs to, or ChangeInvalid saying why
    not (the same words for a code that never existed and one used up, so the page
    tells a guesser nothing). Anyone holding the code may call it; it changes nothing."""
    change = db.session.scalar(select(EmailChange).where(EmailChange.token_hash == _hash(raw or "")))
    now = clock.now()
    if change is None or change.status != EmailChangeStatus.PENDING:
        raise ChangeInvalid("This confirmation link is not valid: it was used, replaced by a newer change, "
                            "or never existed.")
    if now >= change.expires_at:
        raise ChangeInvalid("This confirmation link has expired. Ask HR to change your address again.")
    if change.user.status != AccountStatus.ACTIVE:
        raise ChangeInvalid("This confirmation link is not valid: the account is disabled.")
    return Pending(change, change.user)


def confirm(raw: str, ip: str | None) -> User:
    """The holder of the new address confirms (signed in or not): the sign-in email
    changes, every session of the account ends, every unused invitation or reset link
    (sent to the old address) stops working, and the old address is told. Commits."""
    pending = check(raw)
    change, user = pending.change, pending.user
    now = clock.now()
    if db.session.scalar(select(User.id).where(User.email == change.new_email, User.id != user.id)) is not None:
        raise ChangeInvalid(f"{change.new_email} has become the sign-in email of another account meanwhile; "
                            "ask HR or an administrator.")
    old = user.email
    closed = db.session.execute(update(EmailChange).where(EmailChange.id == change.id,
                                                          EmailChange.status == EmailChangeStatus.PENDING)
                                .values(status=EmailChangeStatus.CONFIRMED, decided_at=now)).rowcount
    if closed != 1:   # the same link confirmed twice at once: only the first counts
        db.session.rollback()
        raise ChangeInvalid("This confirmation link has already been used.")
    db.session.expire(change)
    user.email = change.new_email
    links = db.session.scalars(update(AccountToken).where(AccountToken.user_id == user.id,
                                                          AccountToken.used_at.is_(None),
                                                          AccountToken.expires_at > now)
                               .values(expires_at=now).returning(AccountToken.id)).all()
    outbox.drop_pending_keys([f"token:{token_id}" for token_id in links])
    ended = db.session.execute(update(LoginSession).where(LoginSession.user_id == user.id,
                                                          LoginSession.ended_at.is_(None))
                               .values(ended_at=now)).rowcount
    outbox.enqueue(kind=NOTICE, recipient=old, subject="Beacon: your sign-in email was changed",
                   body=outbox.render_email("email_change_done.txt", user=user, masked=mask(change.new_email)),
                   dedup_key=f"email-change:{change.id}:done")
    record(Actor.for_user(user, ip), "account.email_changed", target=change.new_email,
           detail=f"{old} → {change.new_email} (request {change.id}, asked by {change.requested_by_label}, "
                  f"{change.source}), confirmed by the new address; {ended} session(s) ended, "
                  f"{len(links)} unused link(s) withdrawn")
    db.session.commit()
    return user
