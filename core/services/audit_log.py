"""Reading the audit log. There is deliberately no function that changes an entry."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from core.audit import REFUSALS, REFUSED_FILTER, REPEATED, Actor
from core.db import db
from core.pagination import paginate
from core.models import AuditEntry, Role

LAST_DAY = date(9998, 12, 31)


def search(actor: Actor, *, person: str = "", action: str = "", date_from=None, date_to=None,
           page: int = 1, per_page: int = 100, private: bool = False):
    """Search the log, newest first: by person (email, part of it), action and UTC date
    range (both ends included). Administrators search the general log; HR searches the
    health-related (wellness) entries, which the general log leaves out. The action
    "refused" finds every refusal (403, 404 for a record id, repeated refusals)."""
    actor.require(Role.HR if private else Role.ADMIN)
    query = (select(AuditEntry).where(AuditEntry.private.is_(private))
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if person:
        query = query.where(func.lower(AuditEntry.actor_label).like(f"%{person.strip().lower()}%"))
    if action == REFUSED_FILTER:
        query = query.where(AuditEntry.action.in_((*REFUSALS, REPEATED)))
    elif action:
        query = query.where(AuditEntry.action == action)
    if date_from:
        query = query.where(AuditEntry.at >= datetime.combine(date_from, time.min, timezone.utc))
    if date_to and date_to < LAST_DAY:
        query = query.where(AuditEntry.at < datetime.combine(date_to + timedelta(days=1), time.min, timezone.utc))
    return paginate(query, page, per_page)


def actions(private: bool = False) -> list[str]:
    """The actions present in the log, for the filter; "refused" first when any
    request was refused, so refusals of every kind are found together."""
    found = db.session.scalars(select(AuditEntry.action).where(AuditEntry.private.is_(private)).distinct()
                               .order_by(AuditEntry.action)).all()
    if any(a in (*REFUSALS, REPEATED) for a in found):
        return [REFUSED_FILTER, *found]
    return list(found)
