"""Who is acting, and the audit trail every service leaves.

Services take an `Actor` (built by the view from the signed-in user and the request,
or by the CLI) instead of reading `request` themselves. `record()` adds the entry to
the current transaction, so a change and its audit entry commit together or not at all.
"""
from dataclasses import dataclass, field

from core import clock
from core.db import db
from core.errors import Forbidden
from core.models import AuditEntry


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

    def has_role(self, *roles) -> bool:
        return self.is_system or bool(self.roles.intersection(roles))

    def require(self, *roles) -> None:
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
