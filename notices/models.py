"""Notices: a message from HR to many people, sent only once a second person approves it."""
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import Actor
from core.db import UTCDateTime, db, enum_of
from core.errors import DomainError, Forbidden


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"    # written, waiting for a second person
    SENT = "sent"          # approved and queued to every recipient
    REJECTED = "rejected"  # kept, with the reason
    WITHDRAWN = "withdrawn"  # the author took it back before anyone decided; kept

    @property
    def label(self) -> str:
        """The one name of this state, on every page and in every email."""
        return {"pending": "waiting for approval"}.get(self.value, self.value)

    @property
    def tone(self) -> str:
        """The colour of its badge."""
        return {"pending": "warning", "sent": "success", "rejected": "secondary", "withdrawn": "dark"}[self.value]


class Notice(db.Model):
    """A message from HR to many people. It goes out only once a second person (an
    administrator or another HR member, never the author) approves it; every notice,
    its author, approver and recipients stay on record.

    Its life is pending -> sent (approve), pending -> rejected (reject) or pending ->
    withdrawn (the author, who may undo that for a few minutes: withdrawn -> pending);
    while pending its author may edit it. The methods refuse any other move. `status`
    is also the mapper's version column: every UPDATE of a notice (a decision, an edit,
    a withdrawal) only takes effect while the row still has the status it was read
    with, so an approval and a rejection, withdrawal or edit at the same moment cannot
    both win (the loser's flush raises StaleDataError)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(20))          # everyone | unit | role
    audience_value: Mapped[str] = mapped_column(String(120), default="", server_default="")
    audience_label: Mapped[str] = mapped_column(String(160))
    status: Mapped[NoticeStatus] = mapped_column(enum_of(NoticeStatus, "notice_status"), default=NoticeStatus.PENDING)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(254))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_label: Mapped[str] = mapped_column(String(254), default="", server_default="")
    decided_at = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at = mapped_column(UTCDateTime, nullable=False)
    edited_at = mapped_column(UTCDateTime)      # the author's last edit while pending
    withdrawn_at = mapped_column(UTCDateTime)   # when the author withdrew it
    __table_args__ = (CheckConstraint("decided_by_id IS NULL OR decided_by_id <> author_id", name="second_person"),)
    __mapper_args__ = {"version_id_col": status, "version_id_generator": False}

    @property
    def version(self) -> str:
        """Which text of the notice this is: changes with every edit. An approval names
        the version its approver read, so an edit made meanwhile is never approved unseen."""
        return self.version_at(self.edited_at or self.created_at)

    @staticmethod
    def version_at(moment) -> str:
        return moment.strftime("%Y%m%d%H%M%S%f")

    def _author_only(self, by: Actor, what: str) -> None:
        if self.author_id != by.user_id:
            raise Forbidden(f"Only the author of a notice may {what} it.")

    def edit(self, by: Actor, now, **fields) -> list[str]:
        """The author changes a notice still waiting for approval; returns the names of
        the fields that changed (nothing is written when none did)."""
        self._author_only(by, "edit")
        if self.status != NoticeStatus.PENDING:
            raise DomainError(f"This notice is {self.status.label}: it can no longer be edited.")
        changed = [name for name, value in fields.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, fields[name])
        if changed:
            self.edited_at = now
        return changed

    def withdraw(self, by: Actor, now) -> None:
        """The author takes back a notice nobody has decided on yet; it is kept."""
        self._author_only(by, "withdraw")
        if self.status != NoticeStatus.PENDING:
            raise DomainError(f"This notice is {self.status.label}: it can no longer be withdrawn.")
        self.status, self.withdrawn_at = NoticeStatus.WITHDRAWN, now

    def undo_withdraw(self, by: Actor, now, window) -> None:
        """The author changes their mind within `window` of withdrawing: pending again."""
        self._author_only(by, "restore")
        if self.status != NoticeStatus.WITHDRAWN:
            raise DomainError(f"This notice is {self.status.label}: there is no withdrawal to undo.")
        if not self.undo_open(by.user_id, now, window):
            raise DomainError("The time to undo the withdrawal has passed; "
                              "write the notice again if it is still needed.")
        self.status, self.withdrawn_at = NoticeStatus.PENDING, None

    def undo_open(self, user_id, now, window) -> bool:
        """May `user_id` still undo this withdrawal at `now`?"""
        return (self.status == NoticeStatus.WITHDRAWN and self.author_id == user_id
                and self.withdrawn_at is not None and now < self.withdrawn_at + window)

    def approve(self, by: Actor, now) -> None:
        """A second person approves: the notice is to be sent (the caller queues it)."""
        self._decide(NoticeStatus.SENT, by, now)

    def reject(self, by: Actor, reason: str, now) -> None:
        """A second person rejects it, with a reason for the author; it is kept."""
        self._decide(NoticeStatus.REJECTED, by, now, (reason or "").strip())

    def _decide(self, status: NoticeStatus, by: Actor, now, reason: str = "") -> None:
        if self.author_id == by.user_id:
            raise Forbidden("The author of a notice cannot approve or reject it: a second person must.")
        if self.status != NoticeStatus.PENDING:
            raise DomainError(f"This notice is already {self.status.label}.")
        if status == NoticeStatus.REJECTED and not reason:
            raise DomainError("Give the author a reason.")
        self.status = status
        self.decided_by_id, self.decided_by_label, self.decided_at = by.user_id, by.label, now
        self.reason = reason[:500]


class NoticeRecipient(db.Model):
    __tablename__ = "notice_recipients"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
