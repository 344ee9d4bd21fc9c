"""A realistic demo department for `flask --app app seed-demo` (empty database only)."""
import random
from datetime import date, timedelta

from sqlalchemy import func, select, update

from core import clock, department
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import PRIVILEGED, Officer, Role, SupervisorSpell, User
from core.services import accounts, roster

DEMO_PASSWORD = "lantern orbit kettle meadow"
# The demo's administrator, HR and clinician already have an authenticator, with this
# published key (as the password is published): add it to an app, or print the current
# code with `flask --app app users demo-code EMAIL` (development only).
DEMO_TOTP_SECRET = "BEACONDEMOSECRETFORTRYINGITOUT23"
UNITS = ["1st District Patrol", "2nd District Patrol", "3rd District Patrol", "Community Engagement Unit",
         "Investigations"]
FIRST = ["James", "Maria", "Darnell", "Aisha", "Kevin", "Rosa", "Tyrone", "Emily", "Marcus", "Keisha", "Luis",
         "Hannah", "Andre", "Nicole", "Brian", "Tamika", "Carlos", "Megan", "Derrick", "Latoya", "Sean", "Jasmine",
         "Victor", "Olivia", "Terrence", "Grace", "Anthony", "Monique", "Patrick", "Sofia"]
LAST = ["Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Wilson", "Martinez",
        "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
        "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green"]


def roster_csv(rng: random.Random, today: date) -> str:
    """About 60 officers: a captain, a lieutenant per unit, sergeants, officers."""
    lines = ["badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"]
    used = set()
    badge = 1000

    def person(rank, unit, boss, years, status="active"):
        nonlocal badge
        badge += 1
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if (first, last) not in used:
                used.add((first, last))
                break
        hired = today - timedelta(days=int(years * 365.25) + rng.randint(0, 300))
        email = f"{first}.{last}@beacon-pd.example".lower()
        lines.append(f"{badge},{first},{last},{email},{unit},{rank},{boss or ''},{hired.isoformat()},{status}")
        return str(badge)

    captain = person("Captain", "Investigations", None, 24)
    for unit in UNITS:
        lieutenant = person("Lieutenant", unit, captain, rng.randint(14, 20))
        for _ in range(2):
            sergeant = person("Sergeant", unit, lieutenant, rng.randint(8, 14))
            for _ in range(rng.randint(4, 5)):
                status = rng.choices(["active", "leave"], weights=[20, 1])[0]
                person("Police Officer", unit, sergeant, rng.choice([1, 2, 3, 5, 7, 10]), status)
    return "\n".join(lines) + "\n"


def _earlier_sergeant(officer: Officer) -> None:
    """The demo officer came to their sergeant five months ago from the unit's other
    sergeant: the roster's supervisor history says so, and a 360 cycle asks both."""
    other = db.session.scalar(select(Officer).where(Officer.rank == "Sergeant", Officer.unit_id == officer.unit_id,
                                                    Officer.id != officer.supervisor_id).order_by(Officer.id))
    if other is None:
        return
    moved = department.today() - timedelta(days=150)
    db.session.execute(update(SupervisorSpell).where(SupervisorSpell.officer_id == officer.id,
                                                     SupervisorSpell.ended_on.is_(None)).values(started_on=moved))
    db.session.add(SupervisorSpell(officer_id=officer.id, supervisor_id=other.id, started_on=None, ended_on=moved))


def is_empty() -> bool:
    return not (db.session.scalar(select(func.count()).select_from(User))
                or db.session.scalar(select(func.count()).select_from(Officer)))


def seed(seed_value: int = 7, extensions=()) -> list[tuple[str, str, str]]:
    """Fill an empty database. Returns (role, email, password) for the demo sign-ins.
    Each of `extensions` (the domains' demo seeders) then adds its own data."""
    if not is_empty():
        raise DomainError("The database is not empty; seed-demo only fills a new one.")
    rng = random.Random(seed_value)
    actor = Actor.system("seed-demo")
    report = roster.import_roster(actor, roster_csv(rng, clock.now().date()), dry_run=False, filename="demo-roster.csv")
    if not report.ok:
        raise DomainError("demo roster rejected: " + "; ".join(map(str, report.errors)))

    logins = []

    def login(role_label, email, name, roles, officer=None):
        user = accounts.add_account(actor, email=email, name=name, roles=roles,
                                    officer_id=officer.id if officer else None, password=DEMO_PASSWORD)
        if roles & PRIVILEGED:
            user.totp_secret, user.totp_enrolled_at = DEMO_TOTP_SECRET, clock.now()
        logins.append((role_label, email, DEMO_PASSWORD))

    login("admin", "admin@beacon-pd.example", "Dana Whitfield", {Role.ADMIN})
    login("hr", "hr@beacon-pd.example", "Priya Raman", {Role.HR})
    login("clinician", "dr.okafor@clinic.example", "Dr. Ngozi Okafor", {Role.CLINICIAN})
    login("command", "board@beacon-pd.example", "Police Board member", {Role.COMMAND})
    sergeant = db.session.scalar(select(Officer).where(Officer.rank == "Sergeant").order_by(Officer.badge_number))
    officer = db.session.scalar(select(Officer).where(Officer.supervisor_id == sergeant.id, Officer.status == "active")
                                .order_by(Officer.badge_number))
    login("officer", officer.email, officer.full_name, {Role.OFFICER}, officer)
    login("supervisor", sergeant.email, sergeant.full_name, {Role.OFFICER}, sergeant)
    _earlier_sergeant(officer)
    db.session.commit()
    for extend in extensions:
        extend(rng)
    return logins
