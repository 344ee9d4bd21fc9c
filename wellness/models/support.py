"""Support after an incident: the people an officer can turn to, kept by HR."""
import enum

from sqlalchemy import Boolean, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, enum_of


class SupportKind(enum.StrEnum):
    PEER_SUPPORT = "peer_support"
    CHAPLAIN = "chaplain"
    EAP = "eap"                  # employee assistance programme
    CRISIS_LINE = "crisis_line"
    OTHER = "other"


class SupportResource(db.Model):
    """One resource (the peer support team, the chaplain, the employee assistance
    programme, a crisis line) and how to reach it. Nothing records who reads the list."""

    __tablename__ = "support_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[SupportKind] = mapped_column(enum_of(SupportKind, "support_kind"))
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # Other ways to reach it: a text line, an email address, a web page, a room.
    contact: Mapped[str] = mapped_column(String(300), default="", server_default="")
    hours: Mapped[str] = mapped_column(String(120), default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at = mapped_column(UTCDateTime, nullable=False)
    updated_at = mapped_column(UTCDateTime, nullable=False)
