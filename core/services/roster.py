"""The roster: import from the HR file, browse, and give officers their accounts."""
import gc
from dataclasses import dataclass, field

from sqlalchemy import Date, String, bindparam, cast, func, insert, literal, or_, select, update
from sqlalchemy.orm import aliased

from core import clock, department, rules
from core.audit import Actor, record
from core.db import db, get_or_404
from core.models import Officer, OfficerStatus, Role, SupervisorSpell, Unit, User
from core.pagination import paginate
from core.services import accounts, email_changes, imports
from core.services.imports import CHUNK

UPDATABLE = ("first_name", "last_name", "email", "rank", "hire_date")
EMAIL_CHANGES_KEPT = 1000   # listed by name on the import job's page (all are counted and audited)


@dataclass
class ImportReport:
    dry_run: bool
    errors: list[rules.LineError] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    separated: list[str] = field(default_factory=list)
    unchanged: int = 0
    accounts_disabled: int = 0
    # [badge, name, roster email, new email, the account's sign-in email or None], in file order
    email_changes: list[list] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        """The counts, as kept on the import job (the badges of separated officers too, a
        short list HR checks before confirming)."""
        return {"added": len(self.added), "updated": len(self.updated), "separated": len(self.separated),
                "unchanged": self.unchanged, "accounts_disabled": self.accounts_disabled,
                "separated_badges": self.separated[:200], "email_change_count": len(self.email_changes),
                "email_changes": self.email_changes[:EMAIL_CHANGES_KEPT]}


def _chunks(items, size=CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_roster(actor: Actor, data: bytes | str, *, dry_run: bool, filename: str = "roster.csv",
                  progress=None, finish=None) -> ImportReport:
    """HR (through an import job) or the command line imports the roster file:
    validated whole, then upserted by badge number in one transaction (or only
    previewed with `dry_run`). Separated officers lose their accounts in the same
    transaction. `progress(phase, done, total)` hears of each chunk checked or
    written; `finish(report)` may add to the transaction just before it commits (the
    import job's own state). Commits.

    Sized for 200,000 officers in a few hundred MB: the file is read as a stream and
    compared with the roster a chunk of badges at a time (neither the rows nor the
    roster are held whole), then read again, a chunk at a time, to be written."""
    actor.require(Role.HR)
    progress = progress or imports.no_progress
    report = ImportReport(dry_run=dry_run)
    today = department.today()
    total_lines = imports.line_count(data)
    progress("checking", 0, total_lines)
    scan = rules.RosterScan(today)
    new_emails: dict[int, str] = {}   # officer id -> the email the file gives them
    for chunk in imports.batches(scan.rows(data, lambda line: progress("checking", min(line, total_lines),
                                                                       total_lines))):
        _count_changes(chunk, report, new_emails, scan.errors)
    scan.against_roster(_roster_links())
    gc.collect()
    if not scan.ok:
        return imports.rejected(actor, "roster", filename, report, scan.errors, finish)
    if dry_run:
        record(actor, "roster.import", target=filename, outcome="previewed", detail=_summary(report))
        imports.settle(finish, report)
        return report

    now = clock.now()
    table = Officer.__table__
    rows = len(scan.lines)
    total, done = 2 * rows, 0
    progress("writing", done, total)
    # Emails may move between officers within one file: free them before re-assigning,
    # so the unique constraint never sees a transient clash.
    for ids in _chunks(list(new_emails)):
        db.session.execute(update(table).where(table.c.id.in_(ids))
                           .values(email=literal("moving-") + cast(table.c.id, String) + literal("@invalid")))
    unit_ids = _unit_ids(scan.units)
    by_id = bindparam("officer_id")
    for chunk in imports.batches(rules.roster_rows_again(data, today)):
        inserts, updates = _writes(chunk, unit_ids)
        if inserts:
            db.session.execute(insert(table), [dict(values, created_at=now, updated_at=now) for values in inserts])
        if updates:
            db.session.execute(update(table).where(table.c.id == by_id),
                               [dict(values, updated_at=now) for values in updates])
        done += len(chunk)
        progress("writing", done, total)
    # Supervisors last: every officer of the file has an id by now. Each change of
    # supervisor ends the officer's open spell and opens the next (the history 360
    # cycles read to find everyone who supervised an officer in their period).
    set_boss = update(table).where(table.c.id == by_id).values(supervisor_id=bindparam("boss_id"))
    for badges in _chunks(list(scan.lines)):
        wanted = {b: scan.supervisors.get(b) for b in badges}
        known = {badge: (officer_id, boss_id) for badge, officer_id, boss_id in db.session.execute(
            select(table.c.badge_number, table.c.id, table.c.supervisor_id)
            .where(table.c.badge_number.in_(set(badges) | {s for s in wanted.values() if s})))}
        moves = []
        for badge, sup in wanted.items():
            officer_id, boss_id = known[badge]
            new_boss = known[sup][0] if sup else None
            if boss_id != new_boss:
                moves.append({"officer_id": officer_id, "boss_id": new_boss, "was": boss_id})
        if moves:
            db.session.execute(set_boss, moves)
            _record_spells(moves, today)
        done += len(badges)
        progress("writing", done, total)
    for badges in _chunks(report.separated):
        ids = list(db.session.scalars(select(table.c.id).where(table.c.badge_number.in_(badges))))
        report.accounts_disabled += accounts.disable_separated(actor, ids)
    # Sign-in emails follow only once the new address confirms (after the separations:
    # a disabled account is not asked).
    email_changes.request_from_roster(actor, new_emails, filename)
    record(actor, "roster.import", target=filename, detail=_summary(report))
    imports.settle(finish, report)
    return report


def _record_spells(moves: list[dict], today) -> None:
    """The supervisor history of one chunk of changes ({officer_id, boss_id, was}), once
    officers.supervisor_id holds the new supervisors: the open spell of each officer
    ends today and, with a new supervisor, the next starts today. An officer whose old
    supervisor has no open spell (a roster older than the history) is given a closed
    one, from an unknown start, so the change is kept. At most four statements a chunk,
    whatever its size (one for a new roster, whose officers had nobody before)."""
    spells, officers = SupervisorSpell.__table__, Officer.__table__
    had = [m["officer_id"] for m in moves if m["was"] is not None]
    if had:
        kept = set(db.session.scalars(select(spells.c.officer_id).where(spells.c.officer_id.in_(had),
                                                                        spells.c.ended_on.is_(None))))
        db.session.execute(update(spells).where(spells.c.officer_id.in_(had), spells.c.ended_on.is_(None))
                           .values(ended_on=today))
        lost = [{"officer_id": m["officer_id"], "supervisor_id": m["was"], "started_on": None, "ended_on": today}
                for m in moves if m["was"] is not None and m["officer_id"] not in kept]
        if lost:
            db.session.execute(insert(spells), lost)
    gained = [m["officer_id"] for m in moves if m["boss_id"] is not None]
    if gained:
        db.session.execute(insert(spells).from_select(
            ["officer_id", "supervisor_id", "started_on"],
            select(officers.c.id, officers.c.supervisor_id, literal(today, Date))
            .where(officers.c.id.in_(gained))))


def _roster_links():
    """(badge, email, supervisor's badge) of every officer on the roster, as a stream
    (a server-side cursor on PostgreSQL): for rules.RosterScan.against_roster."""
    boss = aliased(Officer)
    query = (select(Officer.badge_number, Officer.email, boss.badge_number)
             .outerjoin(boss, boss.id == Officer.supervisor_id).execution_options(yield_per=CHUNK))
    for row in db.session.execute(query):
        yield tuple(row)


def _count_changes(chunk: list[rules.RosterRow], report: ImportReport, new_emails: dict[int, str],
                   errors: list[rules.LineError]) -> None:
    """Compare one chunk of good rows with the same officers on the roster (one query,
    and two more when emails change): counted on `report`; the officers whose email
    changes go to `new_emails` and, by name, to the report. A new email that is the
    sign-in email of another account is an error of its line: an import never moves
    a sign-in address from one account to another."""
    boss = aliased(Officer)
    old = {row[1]: row for row in db.session.execute(
        select(Officer.id, Officer.badge_number, Officer.first_name, Officer.last_name, Officer.email, Unit.name,
               Officer.rank, boss.badge_number, Officer.hire_date, Officer.status)
        .join(Unit, Unit.id == Officer.unit_id).outerjoin(boss, boss.id == Officer.supervisor_id)
        .where(Officer.badge_number.in_([row.badge_number for row in chunk])))}
    for row in chunk:
        was = old.get(row.badge_number)
        if was is None:
            report.added.append(row.badge_number)
            continue
        officer_id, _, first, last, email, unit, rank, supervisor, hire_date, status = was
        if row.status == OfficerStatus.SEPARATED and status != OfficerStatus.SEPARATED:
            report.separated.append(row.badge_number)
        elif ((first, last, email, rank, hire_date, unit, status.value, supervisor)
              != (row.first_name, row.last_name, row.email, row.rank, row.hire_date, row.unit, row.status,
                  row.supervisor_badge)):
            report.updated.append(row.badge_number)
        else:
            report.unchanged += 1
        if email != row.email:
            new_emails[officer_id] = row.email
    _check_email_changes([(row, old[row.badge_number]) for row in chunk
                          if row.badge_number in old and old[row.badge_number][4] != row.email], report, errors)


def _check_email_changes(changed, report: ImportReport, errors: list[rules.LineError]) -> None:
    """(row, the officer's roster row) of the officers whose email the file changes."""
    if not changed:
        return
    signs_in = dict(db.session.execute(select(User.officer_id, User.email)
                                       .where(User.officer_id.in_([was[0] for _, was in changed]))).all())
    holders = dict(db.session.execute(select(User.email, User.officer_id)
                                      .where(User.email.in_([row.email for row, _ in changed]))).all())
    for row, was in changed:
        officer_id, old_email = was[0], was[4]
        if row.email in holders and holders[row.email] != officer_id:
            errors.append(rules.LineError(row.line, f"email {row.email} is already the sign-in email of another "
                                                    f"Beacon account; officer {row.badge_number} cannot be given it"))
            continue
        report.email_changes.append([row.badge_number, f"{row.first_name} {row.last_name}", old_email, row.email,
                                     signs_in.get(officer_id)])


def _writes(chunk: list[rules.RosterRow], unit_ids: dict[str, int]) -> tuple[list[dict], list[dict]]:
    """The inserts and updates (supervisors apart) one chunk of rows makes: one query."""
    table = Officer.__table__
    columns = ("first_name", "last_name", "email", "rank", "hire_date", "status", "unit_id")
    old = {row[0]: row[1:] for row in db.session.execute(
        select(table.c.badge_number, table.c.id, *(table.c[c] for c in columns))
        .where(table.c.badge_number.in_([row.badge_number for row in chunk])))}
    inserts, updates = [], []
    for row in chunk:
        values = _values(row, unit_ids)
        was = old.get(row.badge_number)
        if was is None:
            inserts.append(dict(values, badge_number=row.badge_number))
        elif tuple(was[1:]) != tuple(values[c] for c in columns):
            updates.append(dict(values, officer_id=was[0]))
    return inserts, updates


def _values(row: rules.RosterRow, unit_ids: dict[str, int]) -> dict:
    return {"first_name": row.first_name, "last_name": row.last_name, "email": row.email, "rank": row.rank,
            "hire_date": row.hire_date, "status": OfficerStatus(row.status), "unit_id": unit_ids[row.unit]}


def _unit_ids(names: set[str]) -> dict[str, int]:
    """Every unit named in the file, created when new."""
    units = dict(db.session.execute(select(Unit.name, Unit.id)).all())
    missing = sorted(names - set(units))
    if missing:
        db.session.execute(insert(Unit.__table__), [{"name": name} for name in missing])
        units = dict(db.session.execute(select(Unit.name, Unit.id)).all())
    return units


def _summary(report: ImportReport) -> str:
    return (f"{len(report.added)} added, {len(report.updated)} updated, {len(report.separated)} separated, "
            f"{report.unchanged} unchanged, {report.accounts_disabled} account(s) disabled, "
            f"{len(report.email_changes)} email change(s)")


@dataclass(frozen=True)
class RosterLine:
    officer: Officer
    supervisor_name: str | None
    supervisor_badge: str | None
    account_id: int | None


# The roster's sort keys (?sort=...&dir=desc); anything else is by unit, then name.
SORTS = ("unit", "name", "badge", "rank", "hired", "status")


def list_officers(actor: Actor, *, q: str = "", unit_id: int | None = None, status: str | None = None,
                  page: int = 1, per_page: int = 50, sort: str | None = None, descending: bool = False):
    """HR and admins browse the roster by unit; search by name or badge; sort. A fixed
    number of queries whatever the size of the roster."""
    actor.require(Role.HR, Role.ADMIN)
    return paginate(officers_query(q=q, unit_id=unit_id, status=status, sort=sort, descending=descending),
                    page, per_page, rows=True).map(lambda row: RosterLine(*row))


def _roster_order(sort: str | None, descending: bool) -> list:
    def d(column):
        return column.desc() if descending else column.asc()
    name = [d(Officer.last_name), d(Officer.first_name)]
    first = {"name": [], "badge": [d(Officer.badge_number)], "rank": [d(Officer.rank)],
             "hired": [d(Officer.hire_date)], "status": [d(Officer.status)]}.get(sort)
    if first is None:  # by unit (the default)
        return [d(Unit.name), *name, Officer.id]
    return [*first, *name, Officer.id]


def officers_query(*, q: str = "", unit_id: int | None = None, status: str | None = None,
                   sort: str | None = None, descending: bool = False):
    """The query `list_officers` pages (the roster CSV streams it): the caller has checked the role.
    Rows of (officer, supervisor's name, supervisor's badge, account id)."""
    boss = aliased(Officer)
    query = (
        select(Officer, boss.first_name + literal(" ") + boss.last_name, boss.badge_number, User.id)
        .join(Officer.unit)
        .outerjoin(boss, Officer.supervisor_id == boss.id)
        .outerjoin(User, User.officer_id == Officer.id)
        .order_by(*_roster_order(sort if sort in SORTS else None, descending))
    )
    if q:
        term = q.strip().lower()  # "%" and "_" are searched as themselves (autoescape)
        query = query.where(or_(
            func.lower(Officer.first_name + literal(" ") + Officer.last_name).contains(term, autoescape=True),
            func.lower(Officer.last_name).contains(term, autoescape=True),
            func.lower(Officer.badge_number) == term,
            func.lower(Officer.badge_number).contains(term, autoescape=True),
        ))
    if unit_id:
        query = query.where(Officer.unit_id == unit_id)
    if status:
        query = query.where(Officer.status == OfficerStatus(status))
    return query


def units() -> list[Unit]:
    return db.session.scalars(select(Unit).order_by(Unit.name)).all()


def unit_choices() -> list[tuple[int, str]]:
    """(id, name) of every unit, for filters: plain rows, cheap at thousands of units."""
    return [tuple(row) for row in db.session.execute(select(Unit.id, Unit.name).order_by(Unit.name))]


def get_officer(actor: Actor, officer_id: int) -> Officer:
    actor.require(Role.HR, Role.ADMIN)
    officer = get_or_404(Officer, officer_id, "No such officer.")
    return officer


def officer_ids_by_badge(badges) -> tuple[list[int], list[str]]:
    """The badge lookup of every form and command that names officers by badge: the
    officer ids of `badges` (in their order, repeats once) and the badges not on the
    roster, in one query. Anyone may call it; it changes nothing."""
    wanted = list(dict.fromkeys(b.strip() for b in badges if b and b.strip()))
    found = dict(db.session.execute(select(Officer.badge_number, Officer.id)
                                    .where(Officer.badge_number.in_(wanted))).all()) if wanted else {}
    return [found[b] for b in wanted if b in found], [b for b in wanted if b not in found]


def chain_of_command(officer: Officer) -> list[Officer]:
    """The officer's supervisor, their supervisor, … up to the top, in one query."""
    chain = (select(Officer.id, Officer.supervisor_id, literal(1).label("depth"))
             .where(Officer.id == officer.supervisor_id))
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
    actor.require(Role.HR, Role.ADMIN)
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
        report.skipped += [f"officer {i}: already has an account or is separated"
                           for i in officer_ids if i not in found]
    db.session.commit()
    return report
