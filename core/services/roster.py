"""The roster: import from the HR file, browse, and give officers their accounts."""
from dataclasses import dataclass, field

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import aliased

from core import clock, rules
from core.audit import Actor, record
from core.db import db
from core.errors import NotFound
from core.models import Officer, OfficerStatus, Role, Unit, User
from core.pagination import Page
from core.services import accounts

UPDATABLE = ("first_name", "last_name", "email", "rank", "hire_date")


@dataclass
class ImportReport:
    dry_run: bool
    errors: list[rules.LineError] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    separated: list[str] = field(default_factory=list)
    unchanged: int = 0
    accounts_disabled: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _known() -> dict[str, rules.KnownOfficer]:
    boss = aliased(Officer)
    rows = db.session.execute(
        select(Officer.badge_number, Officer.email, boss.badge_number)
        .outerjoin(boss, Officer.supervisor_id == boss.id)
    ).all()
    return {badge: rules.KnownOfficer(badge, email, sup) for badge, email, sup in rows}


def import_roster(actor: Actor, data: bytes | str, *, dry_run: bool, filename: str = "roster.csv") -> ImportReport:
    """HR imports the roster file: validated whole, then upserted by badge number in one
    transaction (or only previewed with `dry_run`). Separated officers lose their
    accounts in the same transaction. Commits."""
    actor.require("hr")
    report = ImportReport(dry_run=dry_run)
    known = _known()
    check = rules.check_roster(data, known)
    if not check.ok:
        report.errors = check.errors
        record(actor, "roster.import", target=filename, outcome="rejected",
               detail=f"{len(check.errors)} error(s); nothing written" + (" (dry run)" if dry_run else ""))
        db.session.commit()
        return report

    existing = {o.badge_number: o for o in db.session.scalars(select(Officer)).all()}
    units = {u.name: u for u in db.session.scalars(select(Unit)).all()}
    for row in check.rows:
        officer = existing.get(row.badge_number)
        if officer is None:
            report.added.append(row.badge_number)
            continue
        changed = (any(getattr(officer, name) != getattr(row, name) for name in UPDATABLE)
                   or officer.unit.name != row.unit or officer.status.value != row.status
                   or known[row.badge_number].supervisor_badge != row.supervisor_badge)
        if row.status == OfficerStatus.SEPARATED and officer.status != OfficerStatus.SEPARATED:
            report.separated.append(row.badge_number)
        elif changed:
            report.updated.append(row.badge_number)
        else:
            report.unchanged += 1

    if dry_run:
        record(actor, "roster.import", target=filename, outcome="previewed", detail=_summary(report))
        db.session.commit()
        return report

    now = clock.now()
    # Emails may move between officers within one file: free them before re-assigning,
    # so the unique constraint never sees a transient clash.
    moving = [existing[r.badge_number] for r in check.rows
              if r.badge_number in existing and existing[r.badge_number].email != r.email]
    for officer in moving:
        officer.email = f"moving-{officer.id}@invalid"
    if moving:
        db.session.flush()
    officers = {}
    for row in check.rows:
        unit = units.get(row.unit)
        if unit is None:
            unit = units[row.unit] = Unit(name=row.unit)
            db.session.add(unit)
        officer = existing.get(row.badge_number)
        if officer is None:
            officer = Officer(badge_number=row.badge_number, created_at=now)
            db.session.add(officer)
        for name in UPDATABLE:
            setattr(officer, name, getattr(row, name))
        officer.unit = unit
        officer.status = OfficerStatus(row.status)
        officer.updated_at = now
        officers[row.badge_number] = officer
    db.session.flush()
    for row in check.rows:
        boss = officers.get(row.supervisor_badge) or existing.get(row.supervisor_badge) if row.supervisor_badge else None
        officers[row.badge_number].supervisor_id = boss.id if boss else None
    _follow_email_changes(moving)
    separated_ids = [officers[b].id for b in report.separated]
    report.accounts_disabled = accounts.disable_separated(actor, separated_ids)
    record(actor, "roster.import", target=filename, detail=_summary(report))
    db.session.commit()
    return report


def _follow_email_changes(changed: list[Officer]) -> None:
    """An officer's new roster email becomes their account's email too (invitations,
    resets and reminders must reach the same address), unless another account
    already uses it."""
    users = {u.officer_id: u for u in db.session.scalars(
        select(User).where(User.officer_id.in_([o.id for o in changed])))} if changed else {}
    if not users:
        return
    taken = set(db.session.scalars(select(User.email).where(
        User.email.in_([o.email for o in changed]), User.officer_id.not_in(list(users)))))
    moves = [(users[o.id], o.email) for o in changed if o.id in users and o.email not in taken]
    for user, _ in moves:
        user.email = f"moving-{user.id}@invalid"
    db.session.flush()
    for user, email in moves:
        user.email = email
    db.session.flush()


def _summary(report: ImportReport) -> str:
    return (f"{len(report.added)} added, {len(report.updated)} updated, {len(report.separated)} separated, "
            f"{report.unchanged} unchanged, {report.accounts_disabled} account(s) disabled")


@dataclass(frozen=True)
class RosterLine:
    officer: Officer
    supervisor_name: str | None
    supervisor_badge: str | None
    account_id: int | None


def list_officers(actor: Actor, *, q: str = "", unit_id: int | None = None, status: str | None = None,
                  page: int = 1, per_page: int = 50):
    """HR and admins browse the roster by unit; search by name or badge. A fixed
    number of queries whatever the size of the roster."""
    actor.require("hr", "admin")
    boss = aliased(Officer)
    query = (
        select(Officer, boss.first_name + literal(" ") + boss.last_name, boss.badge_number, User.id)
        .join(Officer.unit)
        .outerjoin(boss, Officer.supervisor_id == boss.id)
        .outerjoin(User, User.officer_id == Officer.id)
        .order_by(Unit.name, Officer.last_name, Officer.first_name, Officer.id)
    )
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(
            func.lower(Officer.first_name + literal(" ") + Officer.last_name).like(like),
            func.lower(Officer.last_name).like(like),
            func.lower(Officer.badge_number) == q.strip().lower(),
            func.lower(Officer.badge_number).like(like),
        ))
    if unit_id:
        query = query.where(Officer.unit_id == unit_id)
    if status:
        query = query.where(Officer.status == OfficerStatus(status))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = max(page, 1)
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([RosterLine(*row) for row in rows], total, page, per_page)


def units() -> list[Unit]:
    return db.session.scalars(select(Unit).order_by(Unit.name)).all()


def unit_choices() -> list[tuple[int, str]]:
    """(id, name) of every unit, for filters: plain rows, cheap at thousands of units."""
    return [tuple(row) for row in db.session.execute(select(Unit.id, Unit.name).order_by(Unit.name))]


def get_officer(actor: Actor, officer_id: int) -> Officer:
    actor.require("hr", "admin")
    officer = db.session.get(Officer, officer_id)
    if officer is None:
        raise NotFound("No such officer.")
    return officer


def find_by_badge(badge: str) -> Officer | None:
    return db.session.scalar(select(Officer).where(Officer.badge_number == badge.strip()))


def chain_of_command(officer: Officer) -> list[Officer]:
    """The officer's supervisor, their supervisor, … up to the top, in one query."""
    chain = select(Officer.id, Officer.supervisor_id, literal(1).label("depth")).where(Officer.id == officer.supervisor_id)
    chain = chain.cte("chain", recursive=True)
    parent = aliased(Officer)
    chain = chain.union_all(
        select(parent.id, parent.supervisor_id, chain.c.depth + 1)
        .join(chain, parent.id == chain.c.supervisor_id)
        .where(chain.c.depth < 50)
    )
    return db.session.scalars(select(Officer).join(chain, Officer.id == chain.c.id).order_by(chain.c.depth)).all()


def direct_reports(officer: Officer) -> list[Officer]:
    return db.session.scalars(
        select(Officer).where(Officer.supervisor_id == officer.id).order_by(Officer.last_name, Officer.first_name)
    ).all()


def account_for(officer: Officer) -> User | None:
    return db.session.scalar(select(User).where(User.officer_id == officer.id))


@dataclass
class AccountsReport:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def create_officer_accounts(actor: Actor, officer_ids: list[int] | None = None) -> AccountsReport:
    """HR gives officers without an account one (all of them, or the chosen ones), and
    each gets an invitation. Separated officers and emails already used by another
    account are skipped and reported. Commits."""
    actor.require("hr", "admin")
    query = (select(Officer).outerjoin(User, User.officer_id == Officer.id)
             .where(User.id.is_(None), Officer.status != OfficerStatus.SEPARATED)
             .order_by(Officer.badge_number))
    if officer_ids is not None:
        query = query.where(Officer.id.in_(officer_ids))
    candidates = db.session.scalars(query).all()
    taken = set(db.session.scalars(select(User.email).where(User.email.in_([o.email for o in candidates]))).all())
    report = AccountsReport()
    for officer in candidates:
        if officer.email in taken:
            report.skipped.append(f"{officer.badge_number}: {officer.email} already has an account")
            continue
        accounts.add_account(actor, email=officer.email, name=officer.full_name,
                              roles={Role.OFFICER}, officer_id=officer.id)
        report.created.append(officer.badge_number)
    if officer_ids is not None:
        found = {o.id for o in candidates}
        report.skipped += [f"officer {i}: already has an account or is separated" for i in officer_ids if i not in found]
    db.session.commit()
    return report
