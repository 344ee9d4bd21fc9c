"""Accounts, their roles, their signed-in sessions and their one-time tokens."""
import enum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, enum_of


class Role(enum.StrEnum):
    ADMIN = "admin"
    HR = "hr"
    CLINICIAN = "clinician"
    OFFICER = "officer"
    # Command staff and oversight members: name-free aggregates only (oversight/).
    COMMAND = "command"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class TokenPurpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"


class User(UserMixin, db.Model):
    """A person who signs in. Created only by an administrator (or HR from the roster)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    # Null until the invitation is accepted: such an account cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[AccountStatus] = mapped_column(enum_of(AccountStatus, "account_status"),
                                                  default=AccountStatus.ACTIVE)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), unique=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, nullable=False)
    last_login_at = mapped_column(UTCDateTime)
    password_changed_at = mapped_column(UTCDateTime)
    disabled_at = mapped_column(UTCDateTime)
    # Two-step sign-in (core.services.two_step): the authenticator's secret once the
    # person confirmed a code from it, the one being set up until then, the last time
    # step a code was accepted for (a code is never accepted twice), and the wrong
    # codes in a row (counted apart from wrong passwords, locking the same way).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    role_rows: Mapped[list["UserRole"]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan", order_by="UserRole.role"
    )
    officer = relationship("Officer", lazy="select")

    @property
    def roles(self) -> set[Role]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def two_step_on(self) -> bool:
        return self.totp_secret is not None

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account is never signed in
        return self.status == AccountStatus.ACTIVE


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_of(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class LoginSession(db.Model):
    """A signed-in browser. The cookie carries a random id; only its hash is kept here,
    so signing out, disabling an account or expiry ends the session on the server."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_open", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at = mapped_column(UTCDateTime, nullable=False)
    last_seen_at = mapped_column(UTCDateTime, nullable=False)
    ended_at = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    # Opened with the second step (or proved by a code since): an account that takes two
    # steps is never served by a session opened with its password alone.
    second_step: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AccountToken(db.Model):
    """A single-use link for an invitation or a password reset. Only the hash is kept."""

    __tablename__ = "account_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_of(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    used_at = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A single-use code that stands in for the authenticator once (a lost phone).
    Ten are given at enrolment and shown once; only their hashes are kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False)
    used_at = mapped_column(UTCDateTime)
