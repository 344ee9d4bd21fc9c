"""Two-step sign-in: a password, then a code from an authenticator app (TOTP, RFC 6238)
or one of ten single-use recovery codes.

Who: required for the accounts that reach health information or run the system
(administrators, HR, clinicians: PRIVILEGED), who set it up at their next sign-in;
optional for officers, from their account page. Once on, an account always asks for
the second step; an officer may turn it off, a privileged account may not.

The second step locks like the first: each code is claimed with one atomic UPDATE
before it is checked, so however many workers try at once no more than
LOCKOUT_THRESHOLD codes are checked before the account locks (for LOCKOUT_DURATION,
the same lock as wrong passwords). Wrong codes are counted apart from wrong passwords,
because the person at this step has already given the right password: when the lock
comes, the owner is emailed that someone has it. The step also shares the sign-in
page's rate limits (views.auth).

A code is accepted once: the step it belongs to is stored, and a later code must be
from a later step. Recovery codes are random (80 bits), so a plain SHA-256 of each is
kept; they are shown once. A lost authenticator is reset by an administrator's request
that a second administrator approves (core.services.grants); the owner sets up a new
one at their next sign-in. Setting up, each use, each recovery code, each reset and
each wrong code are audited.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update

from core import clock, rules
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError
from core.models import PRIVILEGED, RecoveryCode, User
from core.services import outbox
from core.services.accounts import claim_try, end_sessions

STEP_SECONDS = 30        # what every authenticator app uses
DRIFT_STEPS = 1          # a phone's clock may be one step off either way
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
RECOVERY_LENGTH = 16     # 16 of 32 symbols: 80 bits
ISSUER = "Beacon"
# After the password, the second step must be done within this time.
SECOND_STEP_WINDOW = timedelta(minutes=5)

NOTICE = outbox.kind("two_step", label="two-step sign-in notice")
WRONG_CODE = "That code is not right. Enter the 6 digits your authenticator app shows now, or a recovery code."
LOCKED = ("Too many wrong codes: the account is locked for a few minutes, and its owner has been emailed. "
          "Sign in again later.")


class CodeRejected(DomainError):
    def __init__(self, message: str, about_current: bool = False):
        super().__init__(message)
        self.about_current = about_current  # the old authenticator's code, when moving to a new one


class SecondStepLocked(DomainError):
    """The second step cannot go on: the account is locked (or its two-step sign-in was
    reset meanwhile). The person starts again from the password."""

    def __init__(self, message: str = LOCKED):
        super().__init__(message)


def required(user: User) -> bool:
    """Must this account use two-step sign-in? (Administrators, HR, clinicians.)"""
    return bool(user.roles & PRIVILEGED)


def asked_for(user: User) -> bool:
    """Does signing in to this account take a second step (set up, or to be set up now)?"""
    return user.two_step_on or required(user)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _clean(code: str | None) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _step(now) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now) -> int | None:
    """The time step `code` belongs to (now, or one step either side), or None."""
    code = _clean(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = _step(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):  # all of them: constant work
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def code_at(secret: str, now) -> str:
    """The code an authenticator shows at `now` (the demo command, the tests)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).generate_otp(_step(now))


# --- setting up -----------------------------------------------------------------------

def key_mark(secret: str | None) -> str:
    """What a browser keeps of the key it was shown (views.two_step): a hash, so the
    key itself is never in the session cookie."""
    return hashlib.sha256((secret or "").encode()).hexdigest()[:32]


def begin(user: User, shown: str | None) -> str:
    """The key to set up, for the browser that holds `shown` (key_mark of the key it
    was shown, or None). That browser sees its key again (reloading the page keeps the
    QR code); any other gets a new one, and the key shown before stops working, so
    nobody who glimpsed a setup page keeps a key its owner goes on to confirm. Commits
    a new key."""
    if user.totp_pending_secret is None or not hmac.compare_digest(key_mark(user.totp_pending_secret), shown or ""):
        user.totp_pending_secret = pyotp.random_base32()
        record(Actor.for_user(user), "two_step.setup_shown", target=user.email,
               detail="a new key to set up was shown; any shown before stops working")
        db.session.commit()
    return user.totp_pending_secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The QR code of `uri`, drawn on the server as inline SVG (no script, no request
    to anyone else)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                 title="QR code to scan with your authenticator app")
    return Markup(svg)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it in by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm(user: User, code: str, ip: str | None, shown: str | None, current_code: str | None = None) -> list[str]:
    """Finish setting up: `code` must come from the pending key, the one this browser
    was shown (`shown`, see begin). The key becomes the account's, earlier recovery
    codes stop working and ten new ones are returned (to be shown once); the owner is
    emailed. Replacing an authenticator that is already set up also takes
    `current_code` from it (or a recovery code), checked after the new code so a typo
    in the new one uses nothing up. Commits."""
    now = clock.now()
    actor = Actor.for_user(user, ip)
    secret = user.totp_pending_secret
    if secret is None or not hmac.compare_digest(key_mark(secret), shown or ""):
        raise CodeRejected("The key to set up has changed (it was opened elsewhere since). Scan the new QR code "
                           "on this page and enter the code it gives.")
    step = matching_step(secret, code, now)
    if step is None:
        record(actor, "two_step.enrolled", target=user.email, outcome="failure", detail="wrong code from the new app")
        db.session.commit()
        raise CodeRejected("That code is not right. Check that the app shows “Beacon” with your email, and enter "
                           "the 6 digits it shows now.")
    again = user.two_step_on
    if again:
        try:
            _check_own_code(actor, user, current_code, "two_step.enrolled")
        except CodeRejected as exc:
            raise CodeRejected(str(exc), about_current=True) from None
    # Only if the key is still the one checked: of two confirmations at once, one lands.
    if db.session.execute(update(User).where(User.id == user.id, User.totp_pending_secret == secret)
                          .values(totp_secret=secret, totp_pending_secret=None, totp_enrolled_at=now,
                                  totp_last_step=step, failed_codes=0)).rowcount != 1:
        db.session.rollback()
        raise CodeRejected("Two-step sign-in was just set up from another page.")
    db.session.refresh(user)
    codes = _new_recovery_codes(user, now)
    record(actor, "two_step.enrolled", target=user.email,
           detail=("a new authenticator replaces the old one" if again else "authenticator set up")
           + f"; {RECOVERY_CODES} recovery codes issued")
    _tell(user, "Beacon: two-step sign-in is on", "two_step_on.txt", again=again)
    db.session.commit()
    return codes


def _new_recovery_codes(user: User, now) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH)) for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c), created_at=now) for c in codes)
    db.session.flush()
    return ["-".join(c[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for c in codes]


def recovery_codes_left(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))


# --- the second step of signing in -------------------------------------------------------

def _claim(user_id: int, now) -> int | None:
    """Take one of the tries at a code an unlocked account has, atomically, before the
    code is checked (counted apart from wrong passwords). Committed at once."""
    return claim_try(user_id, now, counter=User.failed_codes)


def verify(user_id: int, code: str, ip: str | None) -> tuple[User, str]:
    """The second step: `code` is the authenticator's current code or an unused
    recovery code. Returns the account and how it was done ("authenticator code",
    "recovery code"), for the sign-in's audit entry; raises CodeRejected, or
    SecondStepLocked when the account is (or has just become) locked. Commits."""
    now = clock.now()
    attempt = _claim(user_id, now)
    user = db.session.get(User, user_id)
    actor = Actor.for_user(user, ip)
    if attempt is None or user.totp_secret is None:
        record(actor, "auth.second_step", target=user.email, outcome="failure",
               detail="account locked" if user.totp_secret else "two-step sign-in was reset meanwhile")
        db.session.commit()
        raise SecondStepLocked() if user.totp_secret else SecondStepLocked(
            "Two-step sign-in was reset for this account meanwhile. Sign in again.")
    how, why = _use(user, code, now)
    accepted = why is None
    if not accepted:
        record(actor, "auth.second_step", target=user.email, outcome="failure", detail=why)
        if attempt >= rules.LOCKOUT_THRESHOLD:
            _lock(user, actor, now)
            db.session.commit()
            raise SecondStepLocked()
        db.session.commit()
        raise CodeRejected(WRONG_CODE)
    user.failed_codes = 0
    if how == "recovery code":
        left = recovery_codes_left(user.id)
        record(actor, "two_step.recovery_code_used", target=user.email, detail=f"{left} left")
        _tell(user, "Beacon: a recovery code was used to sign in", "two_step_recovery_used.txt", left=left,
              at=now, ip=ip)
    db.session.flush()
    return user, how


def _use(user: User, code: str, now) -> tuple[str, str | None]:
    """Use `code` on `user`'s account, in the caller's transaction: an authenticator
    code for a step later than the last one accepted, or an unused recovery code (used
    up here). Returns how ("authenticator code", "recovery code") and, when refused, why."""
    cleaned = _clean(code)
    if len(cleaned) == 6:
        step = matching_step(user.totp_secret, cleaned, now)
        if step is None:
            return "authenticator code", "wrong code"
        fresh = db.session.execute(
            update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)).rowcount == 1
        return "authenticator code", None if fresh else "code already used"
    used = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(cleaned),
                                   RecoveryCode.used_at.is_(None)).values(used_at=now)).rowcount == 1
    return "recovery code", None if used else "wrong or used recovery code"


def password_given(user: User, ip: str | None) -> None:
    """The password was right and the code is asked for next: audited, so a password
    given and no code after it is on record. Commits."""
    record(Actor.for_user(user, ip), "auth.password_checked", target=user.email,
           detail="right password; waiting for the " + ("code" if user.two_step_on else "authenticator to be set up"))
    db.session.commit()


def stamp(user: User) -> str:
    """What the note kept between the two steps must still match: it changes when the
    password changes, two-step sign-in is set up or reset, or the account signs in, so
    a note from before any of these (a copied cookie, a reset meanwhile) is void."""
    return hashlib.sha256(f"{user.password_hash}|{user.totp_secret}|{user.last_login_at}".encode()).hexdigest()[:32]


def _lock(user: User, actor: Actor, now) -> None:
    """Too many wrong codes: the account locks as for wrong passwords, unless a right
    code came in meanwhile; whoever got this far had the password, so the owner is told."""
    _, locked_until = rules.after_failed_sign_in(rules.LOCKOUT_THRESHOLD - 1, now)
    db.session.execute(update(User).where(User.id == user.id, User.failed_codes >= rules.LOCKOUT_THRESHOLD)
                       .values(failed_codes=0, locked_until=locked_until))
    record(actor, "auth.locked", target=user.email,
           detail=f"{rules.LOCKOUT_THRESHOLD} wrong codes after the right password; "
                  f"locked until {locked_until:%Y-%m-%d %H:%M} UTC")
    _tell(user, "Beacon: someone has your password", "two_step_locked.txt", at=now, ip=actor.ip,
          minutes=int(rules.LOCKOUT_DURATION.total_seconds() // 60))


# --- signed in: recovery codes, turning off ------------------------------------------------

def _check_own_code(actor: Actor, user: User, code: str, action: str) -> str:
    """A signed-in person proves they still hold the authenticator (a current code, or
    a recovery code when the phone is gone) before changing it. Wrong codes count
    towards the lock as at sign-in. Returns how."""
    now = clock.now()
    attempt = _claim(user.id, now)
    if attempt is None:
        record(actor, action, target=user.email, outcome="failure", detail="account locked")
        db.session.commit()
        raise SecondStepLocked()
    how, why = _use(user, code, now)
    if why:
        record(actor, action, target=user.email, outcome="failure", detail=why)
        if attempt >= rules.LOCKOUT_THRESHOLD:
            _lock(user, actor, now)
            db.session.commit()
            raise SecondStepLocked()
        db.session.commit()
        raise CodeRejected("That code is not right. Enter the 6 digits your authenticator app shows now, "
                           "or one of your recovery codes.")
    user.failed_codes = 0
    if how == "recovery code":
        record(actor, "two_step.recovery_code_used", target=user.email,
               detail=f"{recovery_codes_left(user.id)} left; to {action.removeprefix('two_step.').replace('_', ' ')}")
    return how


def new_recovery_codes(actor: Actor, code: str) -> list[str]:
    """The person replaces their recovery codes (the old ones stop working). Commits."""
    user = db.session.get(User, actor.user_id)
    if not user.two_step_on:
        raise DomainError("Two-step sign-in is not on for this account.")
    _check_own_code(actor, user, code, "two_step.recovery_codes_replaced")
    codes = _new_recovery_codes(user, clock.now())
    record(actor, "two_step.recovery_codes_replaced", target=user.email, detail=f"{RECOVERY_CODES} new codes")
    db.session.commit()
    return codes


def turn_off(actor: Actor, code: str) -> None:
    """An officer turns two-step sign-in off (never an administrator, HR or a
    clinician, for whom it is required). Commits."""
    user = db.session.get(User, actor.user_id)
    if required(user):
        raise DomainError("Two-step sign-in is required for your role; it cannot be turned off.")
    if not user.two_step_on:
        raise DomainError("Two-step sign-in is not on for this account.")
    _check_own_code(actor, user, code, "two_step.turned_off")
    _forget(user)
    record(actor, "two_step.turned_off", target=user.email)
    _tell(user, "Beacon: two-step sign-in is off", "two_step_off.txt", by_self=True)
    db.session.commit()


def _forget(user: User) -> None:
    user.totp_secret = user.totp_pending_secret = user.totp_enrolled_at = user.totp_last_step = None
    user.failed_codes = 0
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def reset(actor: Actor, user: User, *, asked_by: str, request: int | None) -> None:
    """A second administrator approved a reset (core.services.grants), or the command
    line did it, in the caller's transaction: the authenticator and recovery codes are
    forgotten and every session of the account ends. A privileged account sets up a new
    authenticator at its next sign-in; the owner is emailed who asked and who approved."""
    _forget(user)
    end_sessions(user.id, clock.now())
    record(actor, "two_step.reset", target=user.email,
           detail=f"asked by {asked_by}, approved by {actor.label}" + (f" (request {request})" if request else ""))
    _tell(user, "Beacon: your two-step sign-in was reset", "two_step_off.txt", by_self=False, asked_by=asked_by,
          approver=actor.label, again=required(user))


def reset_asked(user: User, grant) -> None:
    """The owner hears of a reset request before a second administrator decides, so
    they can object (or say they have found the phone). In the caller's transaction."""
    _tell(user, "Beacon: a reset of your two-step sign-in was asked for", "two_step_reset_asked.txt", grant=grant)


def _tell(user: User, subject: str, template: str, **context) -> None:
    """Mail the owner about their own account (never kept private from themselves;
    nothing in it is a secret)."""
    outbox.enqueue(kind=NOTICE, recipient=user.email, subject=subject,
                   body=outbox.render_email(template, user=user, **context),
                   dedup_key=f"two-step:{user.id}:{template}:{secrets.token_hex(8)}",
                   expires_at=clock.now() + timedelta(days=7))
