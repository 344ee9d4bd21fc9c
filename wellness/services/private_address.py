"""The private channel: an officer's personal email address for wellness messages.

Department email stays the default. An officer may add a personal address: a
confirmation link goes to THAT address (single use, only its SHA-256 kept, valid for
PRIVATE_ADDRESS_LINK_HOURS), and until it is confirmed nothing changes. Confirming (a
POST: a mail scanner opening the link confirms nothing) sends every wellness message to
the officer there: appointment mail and its calendar entry, the appointment and
coming-due reminders (`wellness_address`, `wellness_addresses`). Nothing else moves: 360
review mail, notices and account mail stay on the department address.

A new address waits as `pending_email` while the confirmed one stays in use; removing
the channel goes back to the department address at once; disabling the account removes
it. When an address is confirmed or removed, the department address gets a neutral note
with the personal one masked, so that a diverted channel does not go unnoticed.

The personal address is the officer's: no audit entry, log line or HR page holds it,
and every message about it is of a private kind (the administrators' outbox never shows
its recipient).
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from core import clock
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError
from core.models import AccountStatus, Role, User
from core.services import outbox
from core.services.email_changes import mask
from wellness.models.private_address import PrivateAddress

CHUNK = 1000
# A new link is sent at most this often per officer (the form cannot be used to mail-bomb an address).
RESEND_AFTER = timedelta(minutes=1)

# The confirmation's body holds a code; both messages say the officer uses a wellness channel.
CONFIRM = outbox.kind("private_address_confirm", private=True, signs_in=True, label="personal address confirmation")
NOTICE = outbox.kind("private_address_notice", private=True, label="wellness address notice")


class LinkInvalid(DomainError):
    pass


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def link_path(raw: str) -> str:
    """The token rides in the fragment, which browsers never send: no request line or
    access log holds it (as with the sign-in email confirmation)."""
    return f"/wellness/private-address/confirm#t={raw}"


def link_hours() -> int:
    return int(current_app.config["PRIVATE_ADDRESS_LINK_HOURS"])


@dataclass(frozen=True)
class Page:
    user: User
    address: PrivateAddress | None

    @property
    def current(self) -> str:
        """Where wellness messages go now."""
        return self.address.email if self.address is not None and self.address.email else self.user.email

    @property
    def linked(self) -> bool:
        """Tied to a roster row: without one Beacon sends the account no wellness mail."""
        return self.user.officer_id is not None

    @property
    def personal(self) -> bool:
        return self.address is not None and self.address.email is not None

    @property
    def pending(self) -> bool:
        return (self.address is not None and self.address.pending_email is not None
                and self.address.token_expires_at is not None and clock.now() < self.address.token_expires_at)


def _officer_user(actor: Actor) -> User:
    actor.require(Role.OFFICER)
    user = db.session.get(User, actor.user_id)
    if user is None or user.officer_id is None:
        raise DomainError("Your account is not tied to a roster row yet, so Beacon sends you no wellness "
                          "messages. Ask HR.")
    return user


def _row(user_id: int, lock: bool = False) -> PrivateAddress | None:
    query = select(PrivateAddress).where(PrivateAddress.user_id == user_id)
    return db.session.scalar(query.with_for_update() if lock else query)


def page(actor: Actor) -> Page:
    """What the signed-in officer's page shows: their own channel only (no id taken)."""
    actor.require(Role.OFFICER)
    user = db.session.get(User, actor.user_id)
    return Page(user, _row(user.id))


def request_address(actor: Actor, email: str) -> None:
    """The signed-in officer asks for wellness messages to go to `email`: a confirmation
    link goes there; nothing else changes until it is confirmed (a confirmed address
    stays in use meanwhile). A newer request replaces a pending one (its link stops
    working). Commits."""
    user = _officer_user(actor)
    email = email.strip().lower()
    now = clock.now()
    row = _row(user.id, lock=True)
    if email == user.email.lower():
        raise DomainError("That is your department address, where wellness messages go without a personal one.")
    if row is not None and row.email == email:
        raise DomainError("Wellness messages already go to that address.")
    if row is not None and row.requested_at is not None and now - row.requested_at < RESEND_AFTER:
        raise DomainError("A confirmation link was sent a moment ago. Wait a minute before asking for another.")
    if row is None:
        row = PrivateAddress(user_id=user.id, created_at=now)
        db.session.add(row)
    elif row.token_hash is not None:
        outbox.drop_pending_keys([f"private-address:{row.token_hash}:confirm"])
    raw = secrets.token_urlsafe(32)
    row.pending_email, row.token_hash = email, _hash(raw)
    row.requested_at, row.token_expires_at = now, now + timedelta(hours=link_hours())
    db.session.flush()
    outbox.enqueue(kind=CONFIRM, recipient=email, subject="Beacon: confirm your address for wellness messages",
                   body=outbox.render_email("private_address_confirm.txt", user=user, hours=link_hours(),
                                            link_path=link_path(raw), code=raw,
                                            department=mask(user.email)),
                   dedup_key=f"private-address:{row.token_hash}:confirm", expires_at=row.token_expires_at)
    record(actor, "private_address.requested", target=user.email,
           detail="confirmation link sent to the new personal address" + (
               "; the confirmed one stays in use until then" if row.email else ""), private=True)
    db.session.commit()


def check(raw: str) -> PrivateAddress:
    """The pending address a code belongs to, or LinkInvalid saying why not (the same
    words for a code that never existed and one used up). Changes nothing."""
    row = db.session.scalar(select(PrivateAddress).where(PrivateAddress.token_hash == _hash(raw or "")))
    if row is None or row.pending_email is None:
        raise LinkInvalid("This confirmation link is not valid: it was used, replaced by a newer one, "
                          "or never existed.")
    if row.token_expires_at is None or clock.now() >= row.token_expires_at:
        raise LinkInvalid("This confirmation link has expired. Sign in to Beacon and add the address again "
                          "to get a new one.")
    if row.user.status != AccountStatus.ACTIVE:
        raise LinkInvalid("This confirmation link is not valid: the account is disabled.")
    return row


def confirm(raw: str, ip: str | None) -> str:
    """The holder of the pending address confirms it (signed in or not): wellness
    messages go there from now on, and the department address is told (masked).
    Returns the masked address. Commits."""
    row = check(raw)
    now = clock.now()
    email, user = row.pending_email, row.user
    done = db.session.execute(update(PrivateAddress).where(PrivateAddress.id == row.id,
                                                           PrivateAddress.token_hash == row.token_hash)
                              .values(email=email, confirmed_at=now, pending_email=None, token_hash=None,
                                      token_expires_at=None)).rowcount
    if done != 1:  # the same link confirmed twice at once: only the first counts
        db.session.rollback()
        raise LinkInvalid("This confirmation link has already been used.")
    db.session.expire(row)
    _note(user, False, email, f"private-address:{row.id}:confirmed:{now.isoformat()}")
    record(Actor.for_user(user, ip), "private_address.confirmed", target=user.email,
           detail="confirmed from the personal address; wellness messages go there now; "
                  "note sent to the department address", private=True)
    db.session.commit()
    return mask(email)


def remove(actor: Actor) -> None:
    """The signed-in officer removes their personal address (and any pending one):
    wellness messages go to the department address at once. Commits."""
    user = _officer_user(actor)
    row = _row(user.id, lock=True)
    if row is None or (row.email is None and row.pending_email is None):
        raise DomainError("You have no personal address: wellness messages go to your department address.")
    had = row.email
    _drop(row)
    if had:
        _note(user, True, had, f"private-address:{row.id}:removed:{clock.now().isoformat()}")
    record(actor, "private_address.removed", target=user.email,
           detail=("wellness messages go to the department address again" if had
                   else "the pending address was withdrawn"), private=True)
    db.session.commit()


def remove_on_disable(user: User, now: datetime) -> None:
    """core.services.accounts calls this when an account is disabled (separation), in
    its transaction: the personal address goes (a later account starts without one)."""
    row = _row(user.id)
    if row is not None:
        _drop(row)
        record(None, "private_address.removed", target=user.email, label="Beacon",
               detail="the account was disabled", private=True)


def _drop(row: PrivateAddress) -> None:
    if row.token_hash is not None:
        outbox.drop_pending_keys([f"private-address:{row.token_hash}:confirm"])
    db.session.delete(row)
    db.session.flush()


def _note(user: User, removed: bool, personal: str, key: str) -> None:
    """The neutral note to the department address: says a personal address is (no
    longer) in use, masked; never what the messages are about."""
    outbox.enqueue(kind=NOTICE, recipient=user.email, subject="Beacon: where your wellness messages go",
                   body=outbox.render_email("private_address_added.txt", user=user, removed=removed,
                                            masked=mask(personal)), dedup_key=key)


def wellness_address(officer) -> str:
    """Where wellness messages to this officer (a roster row) go: their confirmed
    personal address, or else the department address on the roster row."""
    personal = db.session.scalar(
        select(PrivateAddress.email).join(User, User.id == PrivateAddress.user_id)
        .where(User.officer_id == officer.id, User.status == AccountStatus.ACTIVE,
               PrivateAddress.email.is_not(None)))
    return personal or officer.email


def wellness_addresses(officer_ids) -> dict[int, str]:
    """The confirmed personal addresses of these officers (officer id -> address), in
    one query per thousand ids: officers without one are not in it (their department
    address stands). For sweeps that must not query per officer."""
    ids = sorted(set(officer_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        found.update(db.session.execute(
            select(User.officer_id, PrivateAddress.email).join(User, User.id == PrivateAddress.user_id)
            .where(User.officer_id.in_(ids[start:start + CHUNK]), User.status == AccountStatus.ACTIVE,
                   PrivateAddress.email.is_not(None))).all())
    return found


def seed_demo(rng=None) -> None:
    """The demo (a beacon.demo extension): the printed officer sign-in has a confirmed
    personal address, so its wellness mail shows the channel at work."""
    from core.models import Officer  # the demo only
    sergeant = db.session.scalar(select(Officer).where(Officer.rank == "Sergeant").order_by(Officer.badge_number))
    if sergeant is None:
        return
    user = db.session.scalar(select(User).join(Officer, Officer.id == User.officer_id)
                             .where(Officer.supervisor_id == sergeant.id, Officer.status == "active")
                             .order_by(Officer.badge_number))
    if user is None or _row(user.id) is not None:
        return
    now = clock.now()
    local = user.email.partition("@")[0]
    db.session.add(PrivateAddress(user_id=user.id, email=f"{local}.home@example.org", confirmed_at=now,
                                  created_at=now, requested_at=now))
    record(None, "private_address.confirmed", target=user.email, label="Beacon demo",
           detail="demo: a personal address for wellness messages", private=True)
    db.session.commit()


def personal_among(emails: list[str]) -> set[str]:
    """Which of these recipients are officers' confirmed personal addresses (one query):
    pages that list recipients show "the officer's personal address" instead."""
    if not emails:
        return set()
    return set(db.session.scalars(select(PrivateAddress.email).where(PrivateAddress.email.in_(set(emails)))))
