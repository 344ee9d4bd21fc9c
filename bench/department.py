"""A synthetic department of N officers, built fast with bulk inserts.

Shape (N = 1,000 gives about 83 units):

    Chief of Police
      └ Captain (one per district of 8 units)
          └ Lieutenant (one per unit of ~12)
              └ Sergeant (two per unit)
                  └ Police Officer (the rest, shared between the unit's sergeants)

Accounts: N in all — a handful of administrators, HR staff and clinicians, and the
rest tied to officers (so almost every officer has one). Last sign-ins are spread over
the past 200 days and a few accounts never signed in. Around them: an audit log of
5 × N entries, oldest first, and N / 4 outbox messages.

Rows are written with `session.execute(insert(Model), [dicts])` (executemany /
insertmanyvalues), with primary keys chosen here so that no row has to be read back.
Every account has the same argon2 hash, computed once, so the harness can sign in.
"""
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, text

from core.db import db
from core.models import AccountStatus, AuditEntry, Officer, OfficerStatus, Role, Unit, User, UserRole
from core.passwords import hash_password
from notifications.models import OutboxMessage, OutboxStatus

PASSWORD = "bench quartz meadow lantern"
ADMIN_EMAIL = "bench.admin@beacon-pd.example"
HR_EMAIL = "bench.hr@beacon-pd.example"
SEARCH_LAST_NAME = "Garcia"  # one of LAST: about N / len(LAST) officers carry it

OFFICERS_PER_UNIT = 12
UNITS_PER_DISTRICT = 8
SERGEANTS_PER_UNIT = 2
HISTORY_DAYS = 200
AUDIT_PER_OFFICER = 5
OUTBOX_PER_OFFICER = 0.25

FIRST = ["James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "William", "Elizabeth",
         "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy",
         "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley", "Paul", "Kimberly",
         "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle", "Kevin", "Carol", "Brian", "Amanda",
         "Luis", "Ana", "Carlos", "Rosa", "Jamal", "Aaliyah", "Wei", "Mei", "Omar", "Fatima",
         "Dmitri", "Olga", "Kwame", "Ama", "Raj", "Priya", "Tomás", "Lucía", "Sean", "Siobhan"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
        "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
        "Okafor", "Mensah", "Kowalski", "Novak", "Patel", "Shah", "Kim", "Park", "Chen", "Wang",
        "O'Brien", "Murphy", "Kelly", "Sullivan", "Schmidt", "Fischer", "Rossi", "Russo", "Haddad", "Khoury",
        "Cohen", "Levi", "Ivanov", "Petrov", "Silva", "Santos", "Yamamoto", "Tanaka", "Dubois", "Moreau"]
UNIT_KINDS = ["Patrol", "Traffic", "Investigations", "Community Policing", "K-9", "Narcotics", "Training",
              "Special Victims"]

# (action, outcome, detail, weight): the mix of a working department's log.
AUDIT_MIX = [
    ("auth.sign_in", "success", "", 55),
    ("auth.sign_in", "failure", "wrong password", 5),
    ("auth.sign_out", "success", "", 18),
    ("auth.session_ended", "success", "idle", 9),
    ("account.created", "success", "roles: officer", 3),
    ("account.invite_sent", "success", "", 3),
    ("auth.password_set", "success", "via invite link", 2),
    ("auth.reset_requested", "success", "", 1),
    ("access.denied", "denied", "GET /admin/accounts", 1),
    ("roster.import", "success", "0 added, 12 updated, 1 separated, 988 unchanged, 1 account(s) disabled", 1),
    ("account.roles_changed", "success", "officer → hr, officer", 1),
    ("access_review.exported", "success", "1000 accounts", 1),
]


@dataclass(frozen=True)
class Department:
    """What the harness needs to know about the department it measures: the values
    that fill the `{placeholders}` of its page paths, and the sign-ins."""

    officers: int
    units: int
    accounts: int
    audit_entries: int
    outbox_messages: int
    sergeant_id: int
    last_name: str

    def path_values(self) -> dict:
        return {"sergeant_id": self.sergeant_id, "last_name": self.last_name}


def build(n: int, now: datetime, seed: int = 2026) -> Department:
    """Fill an empty, migrated database (in the current app context) and commit."""
    rng = random.Random(seed)
    session = db.session
    password_hash = hash_password(PASSWORD)  # argon2 is slow on purpose: once for everyone

    # --- units and officers, top of the chain first --------------------------------
    unit_count = max(1, round(n / OFFICERS_PER_UNIT))
    units = [{"id": i + 1, "name": f"{UNIT_KINDS[i % len(UNIT_KINDS)]} {i // len(UNIT_KINDS) + 1}"}
             for i in range(unit_count)]
    district_count = -(-unit_count // UNITS_PER_DISTRICT)

    officers = []

    def add(rank, unit_id, supervisor_id, years):
        number = len(officers) + 1
        first, last = rng.choice(FIRST), rng.choice(LAST)  # namesakes happen, as in any department
        badge = f"{10000 + number}"
        status = (OfficerStatus.ACTIVE if rank != "Police Officer"
                  else rng.choices(list(OfficerStatus), weights=[93, 5, 2])[0])
        hired = now.date() - timedelta(days=int(years * 365.25) + rng.randint(0, 300))
        officers.append({
            "id": number, "badge_number": badge, "first_name": first, "last_name": last,
            "email": f"{first}.{last}.{badge}@beacon-pd.example".lower().replace("'", ""),
            "unit_id": unit_id, "rank": rank, "supervisor_id": supervisor_id, "hire_date": hired,
            "status": status, "created_at": now - timedelta(days=HISTORY_DAYS), "updated_at": now,
        })
        return number

    chief = add("Chief of Police", 1, None, 28)
    captains = [add("Captain", d * UNITS_PER_DISTRICT + 1, chief, rng.randint(20, 26)) for d in range(district_count)]
    lieutenants = [add("Lieutenant", u["id"], captains[(u["id"] - 1) // UNITS_PER_DISTRICT], rng.randint(14, 20))
                   for u in units]
    sergeants = [[add("Sergeant", u["id"], lieutenants[u["id"] - 1], rng.randint(8, 14))
                  for _ in range(SERGEANTS_PER_UNIT)] for u in units]
    remaining = n - len(officers)
    for i in range(max(remaining, 0)):
        unit_index = i % unit_count
        squad = sergeants[unit_index]
        add("Police Officer", unit_index + 1, squad[(i // unit_count) % len(squad)],
            rng.choice([1, 2, 3, 5, 7, 10, 15]))
    officers = officers[:n]  # a tiny N keeps only the top of the chain

    session.execute(insert(Unit), units)
    session.execute(insert(Officer), officers)

    # --- accounts --------------------------------------------------------------------
    staff = ([(ADMIN_EMAIL, "Bench Administrator", [Role.ADMIN]), (HR_EMAIL, "Bench HR", [Role.HR])]
             + [(f"admin{i}@beacon-pd.example", f"Admin {i}", [Role.ADMIN]) for i in range(1, 3)]
             + [(f"hr{i}@beacon-pd.example", f"HR Staff {i}", [Role.HR]) for i in range(1, 5)]
             + [(f"clinician{i}@clinic.example", f"Dr. Clinician {i}", [Role.CLINICIAN]) for i in range(1, 9)])
    # Every supervisor has an account; a few patrol officers (as many as there are staff
    # accounts, so the total stays N) have none yet.
    patrol = [o["id"] for o in officers if o["rank"] == "Police Officer"]
    without = set(rng.sample(patrol, min(len(staff), len(patrol))))
    with_account = [o for o in officers if o["id"] not in without]

    users, roles = [], []

    def account(email, name, role_list, officer=None, bench=False):
        uid = len(users) + 1
        separated = officer is not None and officer["status"] == OfficerStatus.SEPARATED
        never = not bench and rng.random() < 0.07
        last_login = None if never else now - timedelta(seconds=rng.randint(0, HISTORY_DAYS * 86400))
        locked = not bench and not separated and rng.random() < 0.002
        users.append({
            "id": uid, "email": email, "name": name,
            "password_hash": None if never and rng.random() < 0.5 else password_hash,
            "status": AccountStatus.DISABLED if separated else AccountStatus.ACTIVE,
            "officer_id": officer["id"] if officer else None,
            "failed_logins": 0,
            "locked_until": now + timedelta(minutes=5) if locked else None,
            "created_at": now - timedelta(days=HISTORY_DAYS + rng.randint(0, 700)),
            "last_login_at": last_login,
            "password_changed_at": None if never else now - timedelta(days=HISTORY_DAYS + 1),
            "disabled_at": now - timedelta(days=rng.randint(1, 60)) if separated else None,
        })
        roles.extend({"user_id": uid, "role": r} for r in role_list)

    for email, name, role_list in staff:
        account(email, name, role_list, bench=email in (ADMIN_EMAIL, HR_EMAIL))
    for officer in with_account:
        account(officer["email"], f"{officer['first_name']} {officer['last_name']}", [Role.OFFICER], officer)
    session.execute(insert(User), users)
    session.execute(insert(UserRole), roles)

    # --- audit log, oldest first ------------------------------------------------------
    audit_count = AUDIT_PER_OFFICER * n
    start = now - timedelta(days=HISTORY_DAYS)
    step = (now - start) / max(audit_count, 1)
    mix, weights = AUDIT_MIX, [w for *_, w in AUDIT_MIX]
    picks = rng.choices(range(len(mix)), weights=weights, k=audit_count)
    entries = []
    for i, pick in enumerate(picks):
        action, outcome, detail, _ = mix[pick]
        user = users[rng.randrange(len(users))]
        system = action == "roster.import"
        entries.append({
            "at": start + step * i, "actor_id": None if system else user["id"],
            "actor_label": "system" if system else user["email"], "action": action,
            "target": "roster.csv" if system else user["email"], "outcome": outcome,
            "ip": None if system else f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "detail": detail,
        })
    session.execute(insert(AuditEntry), entries)

    # --- outbox -------------------------------------------------------------------------
    outbox = []
    for i in range(int(n * OUTBOX_PER_OFFICER)):
        user = users[rng.randrange(len(users))]
        created = start + timedelta(seconds=rng.randint(0, HISTORY_DAYS * 86400))
        status = rng.choices(list(OutboxStatus), weights=[3, 0, 95, 2])[0]
        kind = rng.choice(["invite", "reset"])
        outbox.append({
            "dedup_key": f"bench:{i}", "kind": kind, "recipient": user["email"],
            "subject": "Beacon: your new account" if kind == "invite" else "Beacon: set a new password",
            "body": f"Hello {user['name']},\n\nSign in to Beacon to continue: http://beacon.test/password/set/x{i}\n",
            "status": status, "attempts": {OutboxStatus.QUEUED: 0, OutboxStatus.SENT: 1}.get(status, 5),
            "last_error": ("SMTPServerDisconnected: Connection unexpectedly closed"
                           if status == OutboxStatus.FAILED else None),
            "message_id": f"<bench.{i}@beacon-pd.example>", "created_at": created,
            "next_attempt_at": created if status == OutboxStatus.QUEUED else None,
            "sent_at": created + timedelta(seconds=30) if status == OutboxStatus.SENT else None,
        })
    if outbox:
        session.execute(insert(OutboxMessage), outbox)

    if session.get_bind().dialect.name == "postgresql":
        # Ids were given explicitly: move the sequences past them, as a real history would.
        for table in ("units", "officers", "users"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
    session.commit()

    sergeant = sergeants[0][0] if sergeants and sergeants[0][0] <= len(officers) else officers[-1]["id"]
    return Department(officers=len(officers), units=unit_count, accounts=len(users), audit_entries=len(entries),
                      outbox_messages=len(outbox), sergeant_id=sergeant, last_name=SEARCH_LAST_NAME)


def analyze() -> None:
    """Refresh the planner's statistics, as PostgreSQL's autovacuum would soon after a
    bulk load. (SQLite has no such daemon, so the harness leaves it as it is.)"""
    db.session.execute(text("ANALYZE"))
    db.session.commit()
