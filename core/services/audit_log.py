"""Reading the audit log. There is deliberately no function that changes an entry."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from core import audit_chain, clock
from core.audit import CONFIDENTIAL, REFUSALS, REFUSED_FILTER, REPEATED, Actor, record
from core.db import db
from core.pagination import paginate
from core.models import AccountStatus, AuditEntry, Role, User, UserRole
from core.services import outbox

LAST_DAY = date(9998, 12, 31)


def search(actor: Actor, *, person: str = "", action: str = "", date_from=None, date_to=None,
           page: int = 1, per_page: int = 100, private: bool = False):
    """Search the log, newest first: by person (email, part of it), action and UTC date
    range (both ends included). Administrators search the general log; HR searches the
    health-related (wellness) entries, which the general log leaves out. The action
    "refused" finds every refusal (403, 404 for a record id, repeated refusals)."""
    actor.require(Role.HR if private else Role.ADMIN)
    return paginate(matching(person=person, action=action, date_from=date_from, date_to=date_to, private=private),
                    page, per_page)


def matching(*, person: str = "", action: str = "", date_from=None, date_to=None, private: bool = False):
    """The query `search` pages (the CSV export streams it): the caller has checked the role."""
    query = (select(AuditEntry).where(AuditEntry.private.is_(private))
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if person:  # never a confidential entry: finding it by its author would say who it was
        query = query.where(func.lower(AuditEntry.actor_label).like(f"%{person.strip().lower()}%"),
                            ~AuditEntry.target.startswith(CONFIDENTIAL, autoescape=True))
    if action == REFUSED_FILTER:
        query = query.where(AuditEntry.action.in_((*REFUSALS, REPEATED)))
    elif action:
        query = query.where(AuditEntry.action == action)
    if date_from:
        query = query.where(AuditEntry.at >= datetime.combine(date_from, time.min, timezone.utc))
    if date_to and date_to < LAST_DAY:
        query = query.where(AuditEntry.at < datetime.combine(date_to + timedelta(days=1), time.min, timezone.utc))
    return query


def actions(private: bool = False) -> list[str]:
    """The actions present in the log, for the filter; "refused" first when any
    request was refused, so refusals of every kind are found together."""
    found = db.session.scalars(select(AuditEntry.action).where(AuditEntry.private.is_(private)).distinct()
                               .order_by(AuditEntry.action)).all()
    if any(a in (*REFUSALS, REPEATED) for a in found):
        return [REFUSED_FILTER, *found]
    return list(found)


# --- the chain ----------------------------------------------------------------------------

CHAIN_BROKEN = outbox.kind("audit_chain_broken", label="audit log check failed")


def check_chain() -> audit_chain.Report:
    """Walk both chains (the daily job, `flask audit verify`). The result is itself
    audited; when a chain does not hold, every active administrator is emailed which
    entry breaks it (administrators see the general log; the wellness log's entry is
    named by its id and place only). Commits."""
    try:
        report = audit_chain.verify(db.session.connection())
    except Exception as exc:  # a check that cannot run is a failed check: the administrators hear of it
        db.session.rollback()
        report = audit_chain.Report([audit_chain.LogReport("general", problem=f"the check could not run ({exc})")])
    counts = ", ".join(f"{log.log} {log.entries} entries" for log in report.logs)
    broken = report.first_problem()
    if broken is None:
        record(Actor.system("audit check"), "audit.verified", detail=f"chains hold: {counts}")
    else:
        where = f"entry {broken.entry_id}" if broken.entry_id else "its head"
        record(Actor.system("audit check"), "audit.verified", outcome="failure",
               detail=f"the {broken.log} log breaks at {where}: {broken.problem}")
        admins = db.session.scalars(select(User).where(User.status == AccountStatus.ACTIVE,
                                                       User.role_rows.any(UserRole.role == Role.ADMIN))).all()
        for admin in admins:
            outbox.enqueue(kind=CHAIN_BROKEN, recipient=admin.email, subject="Beacon: the audit log check failed",
                           body=outbox.render_email("audit_chain_broken.txt", admin=admin, log=broken,
                                                    where=where, checked_at=clock.now()),
                           dedup_key=f"audit-chain:{clock.now():%Y-%m-%d}:{admin.id}")
    db.session.commit()
    return report


def read(actor: Actor, action: str, target: str = "", detail: str = "", private: bool = False) -> None:
    """Audit a read: an administrator (or HR) opened personnel data, the access review,
    the audit log or the outbox. Commits (the page then only reads)."""
    record(actor, action, target=target, detail=detail[:500], private=private)
    db.session.commit()


# --- what the log holds about one person's records ("who looked") ---------------------------

REFUSED_SENTENCE = "Tried to open it and was refused"


@dataclass
class Seen:
    """One line of a person's "who has looked" list, as the domains tell it."""
    at: object
    who: str
    role: str
    what: str
    refused: bool

def entries_about(targets: list[str], *, private: bool, page: int = 1, per_page: int = 50):
    """The entries whose target is one of `targets` (a person's own records), newest first,
    with the acting account's current name and roles: rows of (entry, name, roles). The
    caller has checked that `targets` are the signed-in person's own. Two queries for the
    page (the targets' index), one for the actors' roles."""
    if not targets:
        return paginate([], page, per_page)
    query = (select(AuditEntry, User.name).outerjoin(User, User.id == AuditEntry.actor_id)
             .where(AuditEntry.private.is_(private), AuditEntry.target.in_(targets))
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    result = paginate(query, page, per_page, rows=True)
    ids = {entry.actor_id for entry, _ in result.items if entry.actor_id is not None}
    roles: dict[int, set] = {}
    for user_id, role in db.session.execute(select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(ids))):
        roles.setdefault(user_id, set()).add(role)
    result.items = [(entry, name, roles.get(entry.actor_id, set())) for entry, name in result.items]
    return result
