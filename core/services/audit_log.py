"""Reading the audit log. There is deliberately no function that changes an entry."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from core.audit import Actor
from core.db import db
from core.models import AuditEntry

LAST_DAY = date(9998, 12, 31)


def search(actor: Actor, *, person: str = "", action: str = "", date_from=None, date_to=None,
           page: int = 1, per_page: int = 100, private: bool = False):
    """Search the log, newest first: by person (email, part of it), action and UTC date
    range (both ends included). Administrators search the general log; HR searches the
    health-related (wellness) entries, which the general log leaves out."""
    actor.require("hr" if private else "admin")
    query = (select(AuditEntry).where(AuditEntry.private.is_(private))
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if person:
        query = query.where(func.lower(AuditEntry.actor_label).like(f"%{person.strip().lower()}%"))
    if action:
        query = query.where(AuditEntry.action == action)
    if date_from:
        query = query.where(AuditEntry.at >= datetime.combine(date_from, time.min, timezone.utc))
    if date_to and date_to < LAST_DAY:
        query = query.where(AuditEntry.at < datetime.combine(date_to + timedelta(days=1), time.min, timezone.utc))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def actions(private: bool = False) -> list[str]:
    return db.session.scalars(select(AuditEntry.action).where(AuditEntry.private.is_(private)).distinct()
                              .order_by(AuditEntry.action)).all()
