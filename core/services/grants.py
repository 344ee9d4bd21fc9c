"""Two people for every privileged grant: the administrator, HR and clinician roles.

A person asks for such a role when creating an account or changing its roles
(core.services.accounts opens the pending grant and emails the other administrators).
Here the grant is decided: approved or rejected by an active administrator who is
neither the requester nor the person it is for (the database refuses any other), or
left to lapse after 7 days (the daily sweep, and lazily whenever a grant is looked at
or asked for again). The command line on the server may give a role at once: whoever
can run it holds the server, the second factor of trust for a department with a single
administrator. Removing a role and disabling an account stay immediate (accounts).
"""
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.errors import DomainError
from core.models import PRIVILEGED, AccountStatus, GrantAction, GrantStatus, Role, RoleGrant, UserRole
from core.services import accounts, two_step

COMMAND_LINE = Actor.system("command line")


def _flush_decision() -> None:
    """Write a decision the model has taken; the UPDATE only applies to a grant still
    pending (RoleGrant's version column), so of two decisions at once only one lands."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise DomainError("Someone else has just decided on this request.") from None


def _get_pending(grant_id: int) -> RoleGrant:
    grant = get_or_404(RoleGrant, grant_id, "No such request.")
    if grant.lapsed(clock.now()):  # lazily: the sweep may not have run yet
        accounts.expire_lapsed_grants(clock.now(), user_id=grant.user_id)
        db.session.commit()
        raise DomainError("This request has expired (after 7 days); ask again if it is still needed.")
    return grant


def approve(actor: Actor, grant_id: int) -> RoleGrant:
    """An active administrator other than the requester and the person concerned
    approves: the role is given at once (and, for an account that has no password yet,
    its invitation is sent now). Commits."""
    actor.require(Role.ADMIN)
    grant = _get_pending(grant_id)
    grant.approve(actor, clock.now())
    if grant.user.status != AccountStatus.ACTIVE:
        db.session.rollback()
        raise DomainError("This account is disabled; enable it before giving it a role.")
    if grant.action == GrantAction.RESET_TWO_STEP and not _reset_still_needed(grant):
        db.session.rollback()
        raise DomainError(f"{grant.user.name} has set up a new authenticator since this reset was asked for, so it "
                          "is no longer needed; reject it with that reason.")
    _flush_decision()
    if grant.action == GrantAction.RESET_TWO_STEP:
        two_step.reset(actor, grant.user, asked_by=grant.requested_by_label, request=grant.id)
    else:
        accounts.privileged_role_given(actor, grant.user, grant.role)
    record(actor, "grant.approved", target=grant.user.email,
           detail=f"{grant.short} (request {grant.id}), asked by {grant.requested_by_label}")
    db.session.commit()
    return grant


def reject(actor: Actor, grant_id: int, reason: str) -> RoleGrant:
    """An active administrator other than the requester and the person concerned
    rejects, with a reason; the request is kept. Commits."""
    actor.require(Role.ADMIN)
    grant = _get_pending(grant_id)
    grant.reject(actor, reason, clock.now())
    _flush_decision()
    record(actor, "grant.rejected", target=grant.user.email,
           detail=f"{grant.short} (request {grant.id}), asked by {grant.requested_by_label}: {grant.reason}")
    db.session.commit()
    return grant


def _reset_still_needed(grant: RoleGrant) -> bool:
    """A reset approved after its owner moved to a new phone would wipe the new setup."""
    enrolled = grant.user.totp_enrolled_at
    return grant.user.totp_secret is not None and (enrolled is None or enrolled <= grant.requested_at)


def ask_reset(actor: Actor, user_id: int) -> RoleGrant:
    """An administrator asks for an account's two-step sign-in to be reset (a lost
    phone and lost recovery codes). Whoever then holds the password could set up a new
    authenticator, so it waits for a second administrator like a privileged role; the
    other administrators are emailed. Commits."""
    actor.require(Role.ADMIN)
    user = accounts.get_user(user_id)
    if not user.two_step_on:
        raise DomainError("Two-step sign-in is not set up on this account: there is nothing to reset.")
    now = clock.now()
    accounts.expire_lapsed_grants(now, user_id=user.id)
    if db.session.scalar(select(RoleGrant.id).where(RoleGrant.user_id == user.id,
                                                    RoleGrant.status == GrantStatus.PENDING,
                                                    RoleGrant.action == GrantAction.RESET_TWO_STEP)) is not None:
        raise DomainError("A reset of this account's two-step sign-in already waits for a second administrator.")
    grant = RoleGrant.ask_reset(user.id, actor, now)
    db.session.add(grant)
    db.session.flush()
    record(actor, "grant.requested", target=user.email, detail=f"{grant.short} (request {grant.id})")
    accounts.tell_approvers(actor, user, grant)
    two_step.reset_asked(user, grant)
    db.session.commit()
    return grant


def reset_at_command_line(email: str) -> None:
    """`flask users reset-two-step EMAIL`: the reset at once, for a department with a
    single administrator (who holds the server). Audited as the command line's. Commits."""
    user = accounts.find_by_email(email)
    if user is None:
        raise DomainError(f"No account for {accounts.normalise_email(email)}.")
    if not user.two_step_on:
        raise DomainError(f"Two-step sign-in is not set up for {user.email}.")
    now = clock.now()
    accounts.expire_lapsed_grants(now, user_id=user.id)
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == user.id,
                                                      RoleGrant.status == GrantStatus.PENDING,
                                                      RoleGrant.action == GrantAction.RESET_TWO_STEP))
    if grant is not None:  # a request waiting in the web pages is closed as approved here
        grant.status, grant.decided_by_label, grant.decided_at = GrantStatus.APPROVED, COMMAND_LINE.label, now
        db.session.flush()
    two_step.reset(COMMAND_LINE, user, asked_by=grant.requested_by_label if grant else COMMAND_LINE.label,
                   request=grant.id if grant else None)
    db.session.commit()


def grant_at_command_line(email: str, role: str) -> RoleGrant | None:
    """`flask users grant EMAIL ROLE`: the role is given at once, audited as given by
    the command line. A pending request for it is closed as approved there. Commits."""
    user = accounts.find_by_email(email)
    if user is None:
        raise DomainError(f"No account for {accounts.normalise_email(email)}.")
    role = Role(role)
    if user.status != AccountStatus.ACTIVE:
        raise DomainError("This account is disabled; enable it first.")
    if role in user.roles:
        raise DomainError(f"{user.email} already has the {role} role.")
    if role == Role.OFFICER and user.officer_id is None:
        raise DomainError("The officer role needs the account to be tied to a roster row.")
    now = clock.now()
    accounts.expire_lapsed_grants(now, user_id=user.id)
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.role == role,
                                                      RoleGrant.status == GrantStatus.PENDING))
    if grant is not None:
        grant.status, grant.decided_by_label, grant.decided_at = GrantStatus.APPROVED, COMMAND_LINE.label, now
    if role in PRIVILEGED:
        accounts.privileged_role_given(COMMAND_LINE, user, role)
    else:
        user.role_rows.append(UserRole(role=role))
    record(COMMAND_LINE, "grant.command_line", target=user.email,
           detail=f"{role} given at once on the server (no second approval)"
                  + (f"; closes request {grant.id} by {grant.requested_by_label}" if grant else ""))
    db.session.commit()
    return grant


@dataclass(frozen=True)
class PendingGrant:
    grant: RoleGrant
    mine: bool  # asked by, or for, the viewer: someone else must decide


def pending(actor: Actor) -> list[PendingGrant]:
    """Administrators: the requests waiting for a decision, oldest first, each marked
    when the viewer may not decide it. Lapsed ones are expired first. Commits that."""
    actor.require(Role.ADMIN)
    if accounts.expire_lapsed_grants(clock.now()):
        db.session.commit()
    grants = db.session.scalars(select(RoleGrant).where(RoleGrant.status == GrantStatus.PENDING)
                                .order_by(RoleGrant.requested_at, RoleGrant.id)).all()
    return [PendingGrant(g, actor.user_id in (g.requested_by_id, g.user_id)) for g in grants]


def recent(actor: Actor, limit: int = 20) -> list[RoleGrant]:
    """Administrators: the latest decided requests (approved, rejected, expired)."""
    actor.require(Role.ADMIN)
    return db.session.scalars(select(RoleGrant).where(RoleGrant.status != GrantStatus.PENDING)
                              .order_by(RoleGrant.decided_at.desc(), RoleGrant.id.desc()).limit(limit)).all()


def for_account(actor: Actor, user_id: int) -> list[RoleGrant]:
    """Administrators: one account's pending requests (its page shows them)."""
    actor.require(Role.ADMIN)
    return db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user_id,
                                                      RoleGrant.status == GrantStatus.PENDING,
                                                      RoleGrant.expires_at > clock.now())
                              .order_by(RoleGrant.role)).all()


def home_summary(actor: Actor) -> dict:
    """An administrator's home panel: how many requests wait, and how many this
    administrator may decide. Changes nothing."""
    actor.require(Role.ADMIN)
    now = clock.now()
    waiting = (RoleGrant.status == GrantStatus.PENDING) & (RoleGrant.expires_at > now)
    total, theirs = db.session.execute(select(
        func.count(),
        func.count().filter((RoleGrant.requested_by_id == actor.user_id) | (RoleGrant.user_id == actor.user_id)),
    ).select_from(RoleGrant).where(waiting)).one()
    oldest = db.session.scalars(select(RoleGrant).where(waiting).order_by(RoleGrant.requested_at).limit(5)).all()
    return {"waiting": total, "yours_to_decide": total - theirs, "oldest": oldest}


def sweep(now=None) -> int:
    """The daily job: requests nobody decided within 7 days lapse (audited). Idempotent.
    Returns how many lapsed. Commits."""
    count = accounts.expire_lapsed_grants(now or clock.now())
    db.session.commit()
    return count
