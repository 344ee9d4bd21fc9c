"""Requests decided by a second administrator: giving an account a privileged role, or
resetting its two-step sign-in (which gives whoever holds the password a fresh
enrolment, so it is as strong a grant as a role)."""
import enum
from datetime import timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of
from core.errors import DomainError
from core.models.user import Role, User

# Roles that reach health information or run the system: given only with two people.
PRIVILEGED = frozenset({Role.ADMIN, Role.HR, Role.CLINICIAN})
# A request nobody decided on within this time lapses; it can be asked for again.
GRANT_LIFETIME = timedelta(days=7)


class SecondPersonRequired(DomainError):
    """The requester, or the person a role is for, tried to decide on it."""


class GrantAction(enum.StrEnum):
    ROLE = "role"                      # give `role`
    RESET_TWO_STEP = "reset_two_step"  # forget the authenticator and recovery codes


class GrantStatus(enum.StrEnum):
    PENDING = "pending"    # asked for, waiting for a second administrator
    APPROVED = "approved"  # the role was given
    REJECTED = "rejected"  # refused, with the reason
    EXPIRED = "expired"    # nobody decided within GRANT_LIFETIME


class RoleGrant(db.Model):
    """One request to give `user` the privileged `role` (action "role"), or to reset
    their two-step sign-in (action "reset_two_step", no role). It takes effect only when an
    active administrator other than the requester (and other than the person it is
    for) approves it; the database refuses any other decider, as it does for notices.

    pending -> approved | rejected | expired; the methods refuse any other move.
    `status` is the mapper's version column, so of two decisions at the same moment
    only one lands (the other's flush raises StaleDataError)."""

    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint("decided_by_id IS NULL OR (decided_by_id <> requested_by_id AND decided_by_id <> user_id)",
                        name="second_person"),
        CheckConstraint("(action = 'role') = (role IS NOT NULL)", name="role_given_for_role"),
        Index("uq_role_grants_pending", "user_id", "role", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("uq_role_grants_pending_reset", "user_id", unique=True,
              sqlite_where=text("status = 'pending' AND action = 'reset_two_step'"),
              postgresql_where=text("status = 'pending' AND action = 'reset_two_step'")),
        Index("ix_role_grants_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action: Mapped[GrantAction] = mapped_column(enum_of(GrantAction, "grant_action"), default=GrantAction.ROLE,
                                                server_default=GrantAction.ROLE.value)
    role: Mapped[Role | None] = mapped_column(enum_of(Role, "role"))
    status: Mapped[GrantStatus] = mapped_column(enum_of(GrantStatus, "grant_status"), default=GrantStatus.PENDING)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_by_label: Mapped[str] = mapped_column(String(254))
    requested_at = mapped_column(UTCDateTime, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_label: Mapped[str] = mapped_column(String(254), default="", server_default="")
    decided_at = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="", server_default="")

    __mapper_args__ = {"version_id_col": status, "version_id_generator": False}

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)

    @classmethod
    def ask(cls, user_id: int, role: Role, by, now) -> "RoleGrant":
        """A new pending request by the actor `by`, lapsing after GRANT_LIFETIME."""
        if role not in PRIVILEGED:
            raise DomainError(f"The {role} role needs no approval.")
        return cls(user_id=user_id, action=GrantAction.ROLE, role=role, status=GrantStatus.PENDING,
                   requested_by_id=by.user_id, requested_by_label=by.label, requested_at=now,
                   expires_at=now + GRANT_LIFETIME)

    @classmethod
    def ask_reset(cls, user_id: int, by, now) -> "RoleGrant":
        """A new pending request to reset `user_id`'s two-step sign-in."""
        return cls(user_id=user_id, action=GrantAction.RESET_TWO_STEP, role=None, status=GrantStatus.PENDING,
                   requested_by_id=by.user_id, requested_by_label=by.label, requested_at=now,
                   expires_at=now + GRANT_LIFETIME)

    @property
    def what(self) -> str:
        """What is asked for, in words: "the hr role", "a two-step sign-in reset"."""
        return f"the {self.role.value} role" if self.action == GrantAction.ROLE else "a two-step sign-in reset"

    @property
    def short(self) -> str:
        """For lists and the audit log: "hr", "two-step reset"."""
        return self.role.value if self.action == GrantAction.ROLE else "two-step reset"

    def lapsed(self, now) -> bool:
        return self.status == GrantStatus.PENDING and now >= self.expires_at

    def approve(self, by, now) -> None:
        self._decide(GrantStatus.APPROVED, by, now)

    def reject(self, by, reason: str, now) -> None:
        self._decide(GrantStatus.REJECTED, by, now, (reason or "").strip())

    def expire(self, now) -> None:
        if self.status != GrantStatus.PENDING:
            raise DomainError(f"This request is already {self.status.value}.")
        self.status = GrantStatus.EXPIRED
        self.decided_at = now

    def _decide(self, status: GrantStatus, by, now, reason: str = "") -> None:
        if by.user_id == self.requested_by_id:
            raise SecondPersonRequired("You asked for this: another administrator must approve or reject it.")
        if by.user_id == self.user_id:
            raise SecondPersonRequired("This request is about your own account: another administrator must approve "
                                       "or reject it.")
        if self.status != GrantStatus.PENDING:
            raise DomainError(f"This request is already {self.status.value}.")
        if self.lapsed(now):
            raise DomainError("This request has expired (after 7 days); ask again if it is still needed.")
        if status == GrantStatus.REJECTED and not reason:
            raise DomainError("Give the requester a reason.")
        self.status = status
        self.decided_by_id, self.decided_by_label, self.decided_at = by.user_id, by.label, now
        self.reason = reason[:500]
