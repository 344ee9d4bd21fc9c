"""Who is acting, and the audit trail every service leaves.

Services take an `Actor` (built by the view from the signed-in user and the request,
or by the CLI) instead of reading `request` themselves. `record()` adds the entry to
the current transaction, so a change and its audit entry commit together or not at all.
`record_refusal()` is the exception: a refused request's work is rolled back, its
entry is not, so it is written in a transaction of its own.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core import clock
from core.db import db
from core.errors import Forbidden
from core import audit_chain  # noqa: F401  (seals every transaction's entries into the hash chain)
from core.models import AuditEntry, Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    ip: str | None = None
    roles: frozenset = field(default_factory=frozenset)

    @classmethod
    def for_user(cls, user, ip=None):
        return cls(user_id=user.id, label=user.email, ip=ip, roles=frozenset(user.roles))

    @classmethod
    def system(cls, label="system"):
        """The command line or the scheduler, acting for the department."""
        return cls(user_id=None, label=label, roles=frozenset({"system"}))

    @property
    def is_system(self) -> bool:
        return "system" in self.roles

    def has_role(self, *roles: Role) -> bool:
        # Role members only: a string ("hR", or even "hr") is a programming error, not a
        # silent refusal, so one role enum is used everywhere.
        for role in roles:
            if not isinstance(role, Role):
                raise TypeError(f"roles are core.models.Role members, not {role!r}")
        return self.is_system or bool(self.roles.intersection(roles))

    def require(self, *roles: Role) -> None:
        """Refuse (Forbidden) unless the actor holds one of `roles`; the CLI may do anything."""
        if not self.has_role(*roles):
            raise Forbidden("You do not have permission to do that.")


def record(actor: Actor | None, action: str, target: str = "", outcome: str = "success",
           detail: str = "", label: str | None = None, ip: str | None = None, private: bool = False) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits).

    `label` names the actor when there is none yet (a failed sign-in names the email
    that was tried). `private` marks health-related entries (wellness): they are shown
    to HR, not in the administrators' log.
    """
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor.user_id if actor else None,
        actor_label=(label or (actor.label if actor else "anonymous"))[:254],
        action=action,
        target=target[:200],
        outcome=outcome,
        ip=ip or (actor.ip if actor else None),
        detail=detail,
        private=private,
    )
    db.session.add(entry)
    return entry


# A target that starts with this is about a record whose very existence is confidential
# (a self-referral): the audit pages and their CSV show such an entry's action and day,
# never who did it, from where or at what time of day (which could be matched with the
# same person's sign-in). The entry itself keeps everything (the chain covers it).
CONFIDENTIAL = "confidential "

DENIED = "access.denied"          # 403: the actor may not do this
NOT_FOUND = "access.not_found"    # 404 for a record id: none, or one the actor may not know
REPEATED = "access.repeated_refusals"
REFUSALS = (DENIED, NOT_FOUND)
# The audit pages' filter value that finds all three.
REFUSED_FILTER = "refused"


def record_refusal(actor: Actor, *, not_found: bool, target: str, detail: str, private: bool,
                   alert_count: int, alert_minutes: int) -> None:
    """Write the entry of a refused request (403, or 404 for a record id) and commit it
    at once, in a session of its own: the request's transaction is rolled back (the
    caller does that first, so no lock it holds can block this write), the entry stays.

    When this actor (an account, or an IP when signed out) has now been refused
    `alert_count` times within `alert_minutes` in the same log (`private`: the wellness
    log), one more entry "repeated refusals" is written, once per window, so probing for
    other people's ids stands out. Called by the web edge only; it changes nothing else.
    """
    now = clock.now()
    with Session(db.engine) as session:
        session.add(AuditEntry(
            at=now, actor_id=actor.user_id, actor_label=(actor.label or "anonymous")[:254],
            action=NOT_FOUND if not_found else DENIED, target=target[:200],
            outcome="not found" if not_found else "denied", ip=actor.ip, detail=detail[:500], private=private))
        session.flush()
        if actor.user_id is not None:
            who = AuditEntry.actor_id == actor.user_id
        elif actor.ip:
            who = and_(AuditEntry.actor_id.is_(None), AuditEntry.ip == actor.ip)
        else:
            who = None
        if who is not None:
            recent = and_(who, AuditEntry.private.is_(private), AuditEntry.at > now - timedelta(minutes=alert_minutes))
            refused = session.scalar(select(func.count()).where(recent, AuditEntry.action.in_(REFUSALS)))
            alerted = session.scalar(select(func.count()).where(recent, AuditEntry.action == REPEATED))
            if refused >= alert_count and not alerted:
                session.add(AuditEntry(
                    at=now, actor_id=actor.user_id, actor_label=(actor.label or "anonymous")[:254],
                    action=REPEATED, target=target[:200], outcome="denied", ip=actor.ip, private=private,
                    detail=f"repeated refusals: {refused} in {alert_minutes} minutes"))
        session.commit()
