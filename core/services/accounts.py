"""Accounts: creation by an administrator, invitations and password resets, sign-in
with lockout, server-side sessions, disabling, and the access review."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from core import clock, rules
from core.audit import Actor, record
from core.db import db, get_or_404
from core.errors import DomainError, Forbidden
from core.pagination import paginate
from core.models import (
    AccountStatus,
    AccountToken,
    LoginSession,
    PRIVILEGED,
    GrantStatus,
    Officer,
    OfficerStatus,
    Role,
    RoleGrant,
    TokenPurpose,
    User,
    UserRole,
)
from core.passwords import hash_password, needs_rehash, password_problems, verify_password
from core.services import outbox

# Both carry a link that signs its reader in: an administrator never reads their body.
for _purpose in TokenPurpose:
    outbox.kind(_purpose.value, signs_in=True)

SIGN_IN_FAILED = ("The email or password is not right, or the account is locked for a few "
                  "minutes. Try again, or use “Forgot your password?”.")
# A new reset link is not mailed more often than this, so the form cannot flood a mailbox.
RESET_COOLDOWN = timedelta(minutes=5)


class SignInFailed(DomainError):
    def __init__(self):
        super().__init__(SIGN_IN_FAILED)


class TokenInvalid(DomainError):
    pass


class PasswordRejected(DomainError):
    pass


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def get_user(user_id: int) -> User:
    user = get_or_404(User, user_id, "No such account.")
    return user


# --- creating accounts and one-time links --------------------------------------------

def _check_password(user_email: str, user_name: str, password: str) -> None:
    problems = password_problems(password, [user_name, user_email])
    if problems:
        raise PasswordRejected(" ".join(problems))


def create_account(actor: Actor, *, email: str, name: str, roles, officer_id: int | None = None,
                   password: str | None = None) -> User:
    """An administrator creates an account (HR may create officer accounts from the
    roster; the command line anything). A privileged role asked for by a person waits
    for a second administrator (see add_account). Without `password` an invitation is
    emailed, once the account may sign in to something. Commits."""
    roles = {Role(r) for r in roles}
    if roles == {Role.OFFICER} and officer_id is not None:
        actor.require(Role.ADMIN, Role.HR)
    else:
        actor.require(Role.ADMIN)
    user = add_account(actor, email=email, name=name, roles=roles, officer_id=officer_id, password=password)
    db.session.commit()
    return user


def add_account(actor, *, email, name, roles, officer_id=None, password=None) -> User:
    """Add an account in the caller's transaction (the caller has checked the actor's
    role and commits). Two people for every privileged grant: when a person (not the
    command line) asks for the administrator, HR or clinician role, the account is
    created without it and a pending grant waits for another administrator
    (core.services.grants); its invitation is sent only when the first grant is
    approved, so nobody reads a privileged account's link before a second person
    agreed. The command line on the server gives every role at once, audited as such.
    Otherwise, without `password` an invitation is queued."""
    roles = {Role(r) for r in roles}
    email = normalise_email(email)
    name = name.strip()
    if not roles:
        raise DomainError("Give the account at least one role.")
    if not name:
        raise DomainError("A name is required.")
    if find_by_email(email) is not None:
        raise DomainError(f"An account for {email} already exists.")
    if Role.OFFICER in roles and officer_id is None:
        raise DomainError("An officer account must be tied to its roster row (give the badge number).")
    if officer_id is not None:
        officer = db.session.get(Officer, officer_id)
        if officer is None:
            raise DomainError("No such officer on the roster.")
        if officer.status == OfficerStatus.SEPARATED:
            raise DomainError(f"Officer {officer.badge_number} is separated and cannot have an account.")
        if db.session.scalar(select(User.id).where(User.officer_id == officer_id)) is not None:
            raise DomainError(f"Officer {officer.badge_number} already has an account.")
    now = clock.now()
    asked = set() if actor.is_system else roles & PRIVILEGED
    given = roles - asked
    user = User(email=email, name=name, status=AccountStatus.ACTIVE, officer_id=officer_id,
                created_at=now, failed_logins=0)
    user.role_rows = [UserRole(role=r) for r in sorted(given)]
    if password is not None:
        _check_password(email, name, password)
        user.password_hash = hash_password(password)
        user.password_changed_at = now
    db.session.add(user)
    db.session.flush()
    record(actor, "account.created", target=email, detail="roles: " + (", ".join(sorted(given)) or "none yet")
           + (f"; waiting for approval: {', '.join(sorted(asked))}" if asked else ""))
    _granted_at_the_server(actor, user, given & PRIVILEGED)
    _ask_for_grants(actor, user, asked)
    if password is None and not asked:
        _send_link(actor, user, TokenPurpose.INVITE)
    return user


# --- privileged roles: two people --------------------------------------------------------

GRANT_REQUESTED = outbox.kind("grant_requested", label="role approval")


def approvers(*not_these: int) -> list[User]:
    """The active administrators, but for `not_these` account ids (the requester, the
    person the role is for): who may decide on a grant."""
    return db.session.scalars(
        select(User).where(User.status == AccountStatus.ACTIVE, User.role_rows.any(UserRole.role == Role.ADMIN),
                           User.id.not_in([i for i in not_these if i is not None]))
        .order_by(User.email)).all()


def _granted_at_the_server(actor: Actor, user: User, roles) -> None:
    """The command line (or the demo seeder) gave privileged roles at once: audited as such."""
    for role in sorted(roles):
        record(actor, "grant.command_line", target=user.email,
               detail=f"{role} given at once on the server by {actor.label} (no second approval)")


def _ask_for_grants(actor: Actor, user: User, roles) -> list[RoleGrant]:
    """Open a pending grant of each privileged role in `roles` for `user` (in the
    caller's transaction), and email every other active administrator about it."""
    if not roles:
        return []
    now = clock.now()
    expire_lapsed_grants(now, user_id=user.id)
    pending = set(db.session.scalars(select(RoleGrant.role).where(
        RoleGrant.user_id == user.id, RoleGrant.status == GrantStatus.PENDING)))
    grants = [RoleGrant.ask(user.id, role, actor, now) for role in sorted(roles) if role not in pending]
    db.session.add_all(grants)
    db.session.flush()
    for grant in grants:
        record(actor, "grant.requested", target=user.email, detail=f"{grant.short} (request {grant.id})")
        tell_approvers(actor, user, grant)
    return grants


def tell_approvers(actor: Actor, user: User, grant: RoleGrant) -> None:
    """Email every active administrator who may decide `grant` (in the caller's transaction)."""
    subject = ("Beacon: a role waits for your approval" if grant.role is not None
               else "Beacon: a two-step sign-in reset waits for your approval")
    for approver in approvers(actor.user_id, user.id):
        outbox.enqueue(kind=GRANT_REQUESTED, recipient=approver.email, subject=subject,
                       body=outbox.render_email("grant_requested.txt", grant=grant, user=user, approver=approver),
                       dedup_key=f"grant:{grant.id}:asked:{approver.id}", expires_at=grant.expires_at)


def expire_lapsed_grants(now, user_id: int | None = None) -> int:
    """Pending grants older than 7 days lapse (of one account, or all), in the caller's
    transaction, each with an audit entry. Returns how many."""
    query = select(RoleGrant).where(RoleGrant.status == GrantStatus.PENDING, RoleGrant.expires_at <= now)
    if user_id is not None:
        query = query.where(RoleGrant.user_id == user_id)
    lapsed = db.session.scalars(query.with_for_update(of=RoleGrant, skip_locked=True)).all()
    for grant in lapsed:
        grant.expire(now)
        record(Actor.system("grants sweep"), "grant.expired", target=grant.user.email,
               detail=f"{grant.short} (request {grant.id}), asked by {grant.requested_by_label}, not decided in 7 days")
    db.session.flush()
    return len(lapsed)


def privileged_role_given(actor: Actor, user: User, role: Role) -> None:
    """A second administrator approved `role` for `user` (core.services.grants): give
    it, in the caller's transaction. The first privileged role of an account makes
    every link sent to it before unusable; one that has no password yet gets its
    invitation now, the first a person could read."""
    first = not (user.roles & PRIVILEGED)
    if role not in user.roles:
        user.role_rows.append(UserRole(role=role))
    if first:
        _expire_links(user.id, clock.now())
        if not user.two_step_on:  # the role needs two-step sign-in: set up at the next sign-in
            end_sessions(user.id, clock.now())
        if user.password_hash is None:
            _send_link(actor, user, TokenPurpose.INVITE)


def _issue_token(user: User, purpose: TokenPurpose) -> tuple[AccountToken, str]:
    """A fresh single-use link; earlier unused links of the same purpose stop working,
    and a message still waiting to carry one of them (an SMTP outage) is dropped: it
    would arrive with a dead link."""
    now = clock.now()
    replaced = db.session.scalars(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose,
               AccountToken.used_at.is_(None), AccountToken.expires_at > now)
        .values(expires_at=now).returning(AccountToken.id)
    ).all()
    outbox.drop_pending_keys([f"token:{token_id}" for token_id in replaced])
    raw = secrets.token_urlsafe(32)
    lifetime = rules.INVITE_LIFETIME if purpose == TokenPurpose.INVITE else rules.RESET_LIFETIME
    token = AccountToken(user_id=user.id, purpose=purpose, token_hash=_hash(raw),
                         created_at=now, expires_at=now + lifetime)
    db.session.add(token)
    db.session.flush()
    return token, raw


def link_path(raw: str) -> str:
    """Where an emailed link points: the token rides in the fragment, which browsers
    never send, so no request line (access logs, proxies, Referer) ever holds it. The
    page's script posts it to be exchanged for a session-bound form."""
    return f"/password/link#t={raw}"


def _send_link(actor: Actor | None, user: User, purpose: TokenPurpose) -> None:
    token, raw = _issue_token(user, purpose)
    template = "invite.txt" if purpose == TokenPurpose.INVITE else "reset.txt"
    subject = "Beacon: your new account" if purpose == TokenPurpose.INVITE else "Beacon: set a new password"
    outbox.enqueue(
        kind=purpose.value, recipient=user.email, subject=subject,
        body=outbox.render_email(template, user=user, link_path=link_path(raw), code=raw,
                                 hours=int((token.expires_at - token.created_at).total_seconds() // 3600)),
        dedup_key=f"token:{token.id}", expires_at=token.expires_at,  # a lapsed link is never sent
    )
    record(actor, f"account.{purpose.value}_sent", target=user.email,
           label=None if actor else user.email)


def resend_invitation(actor: Actor, user_id: int) -> None:
    """An administrator sends a new invitation link (the old one stops working)."""
    actor.require(Role.ADMIN, Role.HR)
    user = get_user(user_id)
    if actor.roles == frozenset({Role.HR}) and not user.has_role(Role.OFFICER):
        raise Forbidden("HR may only invite officer accounts.")
    if user.status != AccountStatus.ACTIVE:
        raise DomainError("This account is disabled; enable it first.")
    if not user.roles:  # its privileged role waits for approval: the invitation goes out with it
        raise DomainError("This account's role waits for a second administrator's approval; "
                          "the invitation is sent when it is approved.")
    _send_link(actor, user, TokenPurpose.INVITE)
    db.session.commit()


def request_password_reset(email: str, ip: str | None) -> None:
    """Anyone may ask; the answer never says whether the email has an account.
    A pending invitation is sent again instead of a reset link. Commits.

    Whatever the answer, the request does the same work, so its time tells nothing
    either: when no link is due (no such active account, or one sent within
    RESET_COOLDOWN) a link is still issued, rendered and queued, for a stand-in
    account, inside a savepoint that is then rolled back. The same queries, hashes and
    template run; only RELEASE or ROLLBACK TO SAVEPOINT differs at the end."""
    user = find_by_email(email)
    now = clock.now()
    active = user is not None and user.status == AccountStatus.ACTIVE
    recent = db.session.scalar(
        select(func.count()).select_from(AccountToken)
        .where(AccountToken.user_id == (user.id if active else 0), AccountToken.created_at > now - RESET_COOLDOWN)
    )
    if not active:
        record(None, "auth.reset_requested", target=normalise_email(email)[:200], outcome="ignored",
               label=normalise_email(email) or "anonymous", ip=ip,
               detail="no active account with this email")
    else:
        record(Actor.for_user(user, ip), "auth.reset_requested", target=user.email,
               outcome="throttled" if recent else "success")
    savepoint = db.session.begin_nested()
    if active and not recent:
        _send_link(Actor.for_user(user, ip), user, TokenPurpose.RESET if user.password_hash else TokenPurpose.INVITE)
        savepoint.commit()
    else:
        stand_in = _stand_in(now)
        _send_link(Actor.for_user(stand_in, ip), stand_in, TokenPurpose.RESET)
        db.session.flush()  # its audit entry is written too, as a real one is before RELEASE
        savepoint.rollback()
    db.session.commit()


def _stand_in(now) -> User:
    """An account that exists only inside a savepoint about to be rolled back (see
    request_password_reset): never committed, never seen by another transaction."""
    user = User(email=f"stand-in-{secrets.token_hex(8)}@invalid", name="Stand-in", status=AccountStatus.ACTIVE,
                created_at=now, failed_logins=0)
    db.session.add(user)
    db.session.flush()
    return user


def check_token(raw: str) -> tuple[User, AccountToken]:
    """The account a one-time link belongs to, or TokenInvalid saying why not."""
    return _still_valid(db.session.scalar(select(AccountToken).where(AccountToken.token_hash == _hash(raw or ""))))


def check_link(token_id: int | None) -> tuple[User, AccountToken]:
    """The same as check_token, for a link already exchanged: its id, as the browser's
    session holds it after the token was shown once (see views.auth)."""
    return _still_valid(db.session.get(AccountToken, token_id) if isinstance(token_id, int) else None)


def _still_valid(token: AccountToken | None) -> tuple[User, AccountToken]:
    if token is None:
        raise TokenInvalid("This link is not valid. Ask for a new one.")
    problem = rules.token_problem(token.expires_at, token.used_at, clock.now())
    if problem == "used":
        raise TokenInvalid("This link has already been used. Ask for a new one if you need it.")
    if problem == "expired":
        raise TokenInvalid("This link has expired. Ask for a new one.")
    user = db.session.get(User, token.user_id)
    if user.status != AccountStatus.ACTIVE:
        raise TokenInvalid("This link is not valid. Ask for a new one.")
    return user, token


def set_password_with_token(raw: str, password: str, ip: str | None) -> User:
    """set_password_with_link, given the raw token (scripts and tests). Commits."""
    return set_password_with_link(check_token(raw)[1].id, password, ip)


def set_password_with_link(token_id: int | None, password: str, ip: str | None) -> User:
    """The holder of an invitation or reset link (exchanged for `token_id` in their
    session) sets a password. The link is used up, every other session of the account
    ends, and a lock is lifted. Commits."""
    user, token = check_link(token_id)
    _check_password(user.email, user.name, password)
    now = clock.now()
    used = db.session.execute(update(AccountToken).where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
                              .values(used_at=now)).rowcount
    if used != 1:  # the same link used twice at once: only the first counts
        db.session.rollback()
        raise TokenInvalid("This link has already been used. Ask for a new one if you need it.")
    _expire_links(user.id, now)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(user.id, now)
    record(Actor.for_user(user, ip), "auth.password_set", target=user.email, detail=f"via {token.purpose.value} link")
    db.session.commit()
    return user


def change_password(actor: Actor, current_password: str, new_password: str, keep_sid: str | None) -> None:
    """A signed-in person changes their own password; their other sessions end. Commits."""
    user = get_user(actor.user_id)
    if not verify_password(user.password_hash, current_password):
        record(actor, "auth.password_changed", target=user.email, outcome="failure", detail="wrong current password")
        db.session.commit()
        raise PasswordRejected("Your current password is not right.")
    _check_password(user.email, user.name, new_password)
    now = clock.now()
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    _expire_links(user.id, now)
    end_sessions(user.id, now, keep=_hash(keep_sid) if keep_sid else None)
    record(actor, "auth.password_changed", target=user.email)
    db.session.commit()


# --- signing in and sessions -----------------------------------------------------------

def claim_try(user_id: int, now, counter=User.failed_logins) -> int | None:
    """Count a try before it is checked (a password; with `counter` User.failed_codes,
    a two-step code): one atomic UPDATE takes one of the LOCKOUT_THRESHOLD tries an
    unlocked account has, and gives the count (or None: locked, or every try already
    taken by tries still running). However many workers try at once, no more are
    checked than the threshold before the account locks. Committed at once, so the
    count holds whatever happens next."""
    attempt = db.session.execute(
        update(User).where(User.id == user_id, User.status == AccountStatus.ACTIVE,
                           or_(User.locked_until.is_(None), User.locked_until <= now),
                           counter < rules.LOCKOUT_THRESHOLD)
        .values({counter: counter + 1})
        .returning(counter)).scalar_one_or_none()
    db.session.commit()
    return attempt


def check_password(email: str, password: str, ip: str | None) -> User:
    """The first step of signing in: the password. Returns the account; raises
    SignInFailed with the same message whatever went wrong. Opens no session (see
    sign_in, and views.auth for the second step). Commits (a failure is recorded too)."""
    now = clock.now()
    user = find_by_email(email)
    attempt = claim_try(user.id, now) if user is not None and user.status == AccountStatus.ACTIVE else None
    if attempt is None:
        verify_password(None, password)  # same work as a real check: timing tells nothing
        reason = ("unknown email" if user is None else
                  "account disabled" if user.status != AccountStatus.ACTIVE else "account locked")
        record(Actor.for_user(user, ip) if user else None, "auth.sign_in", target=normalise_email(email)[:200],
               outcome="failure", detail=reason, label=normalise_email(email) or "anonymous", ip=ip)
        db.session.commit()
        raise SignInFailed()
    if not verify_password(user.password_hash, password):
        actor = Actor.for_user(user, ip)
        record(actor, "auth.sign_in", target=user.email, outcome="failure",
               detail="no password set yet" if user.password_hash is None else "wrong password")
        _, locked_until = rules.after_failed_sign_in(attempt - 1, now)
        if locked_until is not None:
            # Unless a right password came in meanwhile (it set the count back to 0).
            db.session.execute(update(User).where(User.id == user.id, User.failed_logins >= rules.LOCKOUT_THRESHOLD)
                               .values(failed_logins=0, locked_until=locked_until))
            record(actor, "auth.locked", target=user.email,
                   detail=f"{rules.LOCKOUT_THRESHOLD} failed attempts in a row; "
                          f"locked until {locked_until:%Y-%m-%d %H:%M} UTC")
        db.session.commit()
        raise SignInFailed()
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def open_session(user: User, ip: str | None, how: str = "") -> str:
    """Sign `user` in: a new server-side session, audited with `how` the second step was
    done, if there was one. Returns the session id for the cookie. Commits."""
    now = clock.now()
    user.last_login_at = now
    raw_sid = secrets.token_urlsafe(32)
    db.session.add(LoginSession(sid_hash=_hash(raw_sid), user_id=user.id, created_at=now, last_seen_at=now, ip=ip,
                                second_step=bool(how)))
    record(Actor.for_user(user, ip), "auth.sign_in", target=user.email,
           detail=f"password and {how}" if how else "password")
    db.session.commit()
    return raw_sid


def takes_two_steps(user: User) -> bool:
    """Does signing in to `user` take a code after the password? (Its two-step sign-in
    is on, or its role requires it: see core.services.two_step.)"""
    return user.totp_secret is not None or bool(user.roles & PRIVILEGED)


def sign_in(email: str, password: str, ip: str | None) -> tuple[User, str]:
    """Sign in to an account that takes one step (scripts): check_password, then
    open_session. Refused, as a failed sign-in, for an account that takes two."""
    user = check_password(email, password, ip)
    if takes_two_steps(user):
        raise SignInFailed()
    return user, open_session(user, ip)


def mark_second_step(raw_sid: str | None) -> None:
    """This browser's session has just proved a code (two-step sign-in set up while
    signed in): it goes on serving the account. Caller commits."""
    if raw_sid:
        db.session.execute(update(LoginSession).where(LoginSession.sid_hash == _hash(raw_sid))
                           .values(second_step=True))


def _session_limits():
    config = current_app.config
    return timedelta(minutes=config["SESSION_IDLE_MINUTES"]), timedelta(hours=config["SESSION_MAX_HOURS"])


def resume_session(user_id: int, raw_sid: str | None) -> User | None:
    """The signed-in user for a request, or None when the session has ended (signed
    out, idle, too old, account disabled). Called by the login manager on each request."""
    if not raw_sid:
        return None
    now = clock.now()
    row = db.session.scalar(select(LoginSession).where(LoginSession.sid_hash == _hash(raw_sid)))
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return None
    idle, longest = _session_limits()
    reason = rules.session_end_reason(row.created_at, row.last_seen_at, now, idle, longest)
    user = db.session.get(User, user_id)
    if reason is None and user.status != AccountStatus.ACTIVE:
        reason = "account disabled"
    if reason is None and not row.second_step and takes_two_steps(user):
        reason = "opened with the password alone; this account takes two steps"
    if reason:
        row.ended_at = now
        record(Actor.for_user(user, row.ip), "auth.session_ended", target=user.email, detail=reason)
        db.session.commit()
        return None
    if now - row.last_seen_at >= timedelta(seconds=30):
        row.last_seen_at = now
        db.session.commit()
    return user


def sign_out(actor: Actor, raw_sid: str | None) -> None:
    """End this browser's session on the server. Commits."""
    if raw_sid:
        db.session.execute(update(LoginSession).where(LoginSession.sid_hash == _hash(raw_sid),
                                                      LoginSession.ended_at.is_(None)).values(ended_at=clock.now()))
    record(actor, "auth.sign_out", target=actor.label)
    db.session.commit()


def _expire_links(user_id: int, now) -> None:
    """A new password makes every other outstanding invitation or reset link useless."""
    db.session.execute(update(AccountToken).where(AccountToken.user_id == user_id, AccountToken.used_at.is_(None),
                                                  AccountToken.expires_at > now).values(expires_at=now))


def end_sessions(user_id: int, now, keep: str | None = None) -> None:
    """End every open session of the account (but `keep`, a session id's hash), in the
    caller's transaction."""
    query = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
    if keep:
        query = query.where(LoginSession.sid_hash != keep)
    db.session.execute(query.values(ended_at=now))


# --- administering accounts -------------------------------------------------------------

def _active_admins_other_than(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).join(UserRole)
        .where(UserRole.role == Role.ADMIN, User.status == AccountStatus.ACTIVE, User.id != user_id)
    )


def set_roles(actor: Actor, user_id: int, roles) -> set[Role]:
    """An administrator changes an account's roles. Removing a role, and giving the
    officer role, take effect at once; a privileged role (administrator, HR, clinician)
    is asked for and waits for a second administrator (core.services.grants), also
    when an administrator asks for it for themselves. Returns the roles asked for.
    Commits."""
    actor.require(Role.ADMIN)
    user = get_user(user_id)
    new = {Role(r) for r in roles}
    old = user.roles
    if not new:
        raise DomainError("Give the account at least one role; disable it to remove all access.")
    if Role.ADMIN in old and Role.ADMIN not in new and _active_admins_other_than(user.id) == 0:
        raise DomainError("This is the last active administrator; make someone else an administrator first.")
    if Role.OFFICER in new and user.officer_id is None:
        raise DomainError("The officer role needs the account to be tied to a roster row.")
    asked = set() if actor.is_system else (new - old) & PRIVILEGED
    given = new - asked
    if given != old:
        user.role_rows = [UserRole(role=r) for r in sorted(given)]
        record(actor, "account.roles_changed", target=user.email,
               detail=f"{', '.join(sorted(old))} → {', '.join(sorted(given))}")
        _granted_at_the_server(actor, user, (given - old) & PRIVILEGED)
    _ask_for_grants(actor, user, asked)
    db.session.commit()
    return asked


def disable_account(actor: Actor, user_id: int, reason: str = "") -> None:
    """An administrator disables an account: every session ends at once. Commits."""
    actor.require(Role.ADMIN)
    user = get_user(user_id)
    if user.status == AccountStatus.DISABLED:
        raise DomainError("This account is already disabled.")
    if actor.user_id == user.id:
        raise DomainError("You cannot disable your own account.")
    if user.has_role(Role.ADMIN) and _active_admins_other_than(user.id) == 0:
        raise DomainError("This is the last active administrator.")
    _disable(user, clock.now())
    record(actor, "account.disabled", target=user.email, detail=reason.strip()[:500])
    db.session.commit()


@dataclass(frozen=True)
class DisableForecast:
    """What disabling an account would do, for its confirmation page (changes nothing)."""
    user: User
    open_sessions: int
    unused_links: int
    pending_grants: int
    refusal: str | None   # why it cannot be disabled, or None


def disable_forecast(actor: Actor, user_id: int) -> DisableForecast:
    """The dry run of `disable_account`: the sessions it ends, the links that stop
    working, the role requests that can no longer be approved, or why it is refused."""
    actor.require(Role.ADMIN)
    user = get_user(user_id)
    now = clock.now()
    refusal = ("This account is already disabled." if user.status == AccountStatus.DISABLED else
               "You cannot disable your own account." if actor.user_id == user.id else
               "This is the last active administrator."
               if user.has_role(Role.ADMIN) and _active_admins_other_than(user.id) == 0 else None)

    def count(query) -> int:
        return db.session.scalar(select(func.count()).select_from(query.subquery()))
    return DisableForecast(
        user=user, refusal=refusal,
        open_sessions=count(select(LoginSession.id).where(LoginSession.user_id == user.id,
                                                          LoginSession.ended_at.is_(None))),
        unused_links=count(select(AccountToken.id).where(AccountToken.user_id == user.id,
                                                         AccountToken.used_at.is_(None),
                                                         AccountToken.expires_at > now)),
        pending_grants=count(select(RoleGrant.id).where(RoleGrant.user_id == user.id,
                                                        RoleGrant.status == GrantStatus.PENDING,
                                                        RoleGrant.expires_at > now)))


@dataclass(frozen=True)
class OfficerAccountsForecast:
    """What "create accounts for all officers without one" would do (changes nothing):
    `create` officers get an account and an invitation (the first `shown` of them
    listed, by badge); `taken` are skipped because another account already uses their
    email (listed too); `separated` officers without an account are left out."""
    create: int
    to_create: list
    taken: int
    to_skip: list
    separated: int


def officer_accounts_forecast(actor: Actor, shown: int = 50) -> OfficerAccountsForecast:
    """The dry run of roster.create_officer_accounts for all officers, with the same
    rules: officers not separated with no account; skipped when their email is already
    an account's."""
    actor.require(Role.HR, Role.ADMIN)
    linked = select(User.id).where(User.officer_id == Officer.id)
    owner = select(User.id).where(User.email == Officer.email)
    without = select(Officer).where(~linked.exists(), Officer.status != OfficerStatus.SEPARATED)
    free, taken = without.where(~owner.exists()), without.where(owner.exists())

    def count(query) -> int:
        return db.session.scalar(select(func.count()).select_from(query.subquery()))
    return OfficerAccountsForecast(
        create=count(free), to_create=db.session.scalars(free.order_by(Officer.badge_number).limit(shown)).all(),
        taken=count(taken), to_skip=db.session.scalars(taken.order_by(Officer.badge_number).limit(shown)).all(),
        separated=count(select(Officer.id).where(~linked.exists(), Officer.status == OfficerStatus.SEPARATED)))


# app.extensions[ON_DISABLE]: functions (user, now) that packages add to end, in the same
# transaction, what an account holds outside its sessions (wellness: its calendar feed).
ON_DISABLE = "beacon.on_disable"


def _disable(user: User, now) -> None:
    user.status = AccountStatus.DISABLED
    user.disabled_at = now
    end_sessions(user.id, now)
    for hook in current_app.extensions.get(ON_DISABLE, ()):
        hook(user, now)


def disable_separated(actor: Actor, officer_ids) -> int:
    """Accounts follow employment: disable the accounts of separated officers, in the
    caller's transaction (the roster import). Returns how many were disabled."""
    if not officer_ids:
        return 0
    now = clock.now()
    users = db.session.scalars(select(User).where(User.officer_id.in_(list(officer_ids)),
                                                  User.status == AccountStatus.ACTIVE)).all()
    for user in users:
        _disable(user, now)
        record(actor, "account.disabled", target=user.email, detail="officer separated (roster import)")
    return len(users)


def enable_account(actor: Actor, user_id: int) -> None:
    """An administrator re-enables an account (not one whose officer is separated). Commits."""
    actor.require(Role.ADMIN)
    user = get_user(user_id)
    if user.status == AccountStatus.ACTIVE:
        raise DomainError("This account is already active.")
    if user.officer_id and user.officer.status == OfficerStatus.SEPARATED:
        raise DomainError("This officer is separated on the roster; the account stays disabled.")
    user.status = AccountStatus.ACTIVE
    user.disabled_at = None
    user.failed_logins = 0
    user.locked_until = None
    record(actor, "account.enabled", target=user.email)
    db.session.commit()


def unlock_account(actor: Actor, user_id: int) -> None:
    """An administrator lifts a sign-in lock before it runs out. Commits."""
    actor.require(Role.ADMIN)
    user = get_user(user_id)
    if not rules.is_locked(user.locked_until, clock.now()):
        raise DomainError("This account is not locked.")
    user.locked_until = None
    user.failed_logins = 0
    record(actor, "account.unlocked", target=user.email)
    db.session.commit()


def list_accounts(actor: Actor, *, q: str = "", role: str | None = None, page: int = 1, per_page: int = 50):
    actor.require(Role.ADMIN)
    query = select(User).order_by(User.name, User.id)
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if role:
        query = query.where(User.role_rows.any(UserRole.role == Role(role)))
    return paginate(query, page, per_page)


def is_locked(user: User) -> bool:
    return rules.is_locked(user.locked_until, clock.now())


# --- access review ----------------------------------------------------------------------

@dataclass(frozen=True)
class AccessRow:
    user: object  # a row with id, name, email, status, created_at, last_login_at
    roles: list[str]
    flags: list[str]
    locked: bool


def access_review(actor: Actor, *, flagged_only: bool = False, page: int | None = None,
                  per_page: int = 200):
    """Every account with its roles, status, created and last sign-in, flagged when it
    never signed in or has been idle too long. With `page`, one page of them (and the
    total); without, all (the CSV). Three queries whatever the size."""
    actor.require(Role.ADMIN)
    now = clock.now()
    idle_days = current_app.config["ACCESS_REVIEW_IDLE_DAYS"]
    query = select(User.id, User.name, User.email, User.status, User.created_at, User.last_login_at,
                   User.locked_until)
    if flagged_only:  # rules.access_flags, as a filter in SQL
        idle_since = now - timedelta(days=idle_days + 1)
        query = query.where(User.status == AccountStatus.ACTIVE,
                            or_(User.last_login_at.is_(None), User.last_login_at <= idle_since))
    query = query.order_by(User.name, User.id)
    cut = paginate(query, page, per_page, rows=True) if page is not None else None
    users = cut.items if cut else db.session.execute(query).all()
    roles: dict[int, list[str]] = {}
    role_query = select(UserRole.user_id, UserRole.role).order_by(UserRole.role)
    if cut:
        role_query = role_query.where(UserRole.user_id.in_([u.id for u in users]))
    for user_id, role in db.session.execute(role_query):
        roles.setdefault(user_id, []).append(role.value)

    def line(u):
        return AccessRow(user=u, roles=roles.get(u.id, []),
                         flags=rules.access_flags(u.status == AccountStatus.ACTIVE, u.last_login_at, now, idle_days),
                         locked=rules.is_locked(u.locked_until, now))
    return cut.map(line) if cut else [line(u) for u in users]


def record_access_review_export(actor: Actor, count: int) -> None:
    record(actor, "access_review.exported", detail=f"{count} accounts")
    db.session.commit()
