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

Wellness, a year into the programme (`_wellness`): five trauma-specialist clinicians
with weekly hours; for about 85% of officers one completed annual evaluation (completed
over the past 13 months) with its attended appointment; a few critical incidents with
their incident evaluations (completed, or still open for the recent ones); and the
evaluations in progress the daily sweep would have opened up to yesterday — overdue,
due soon, some booked or confirmed with an appointment in the coming four weeks,
paused for officers on leave. A handful of rows are left for today's sweep to act on:
officers who went on leave today, came back today, or were separated today.

Rows are written in bulk by `write()`: PostgreSQL's COPY, or on SQLite
`session.execute(insert(Model), [dicts])` (executemany / insertmanyvalues), with primary
keys chosen here so that no row has to be read back.
Every account has the same argon2 hash, computed once, so the harness can sign in.
"""
import enum
import json
import uuid
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import perf_counter

from sqlalchemy import JSON, Enum, func, insert, select, text

from core.db import db
from core import audit_chain
from core.models import AccountStatus, AuditEntry, Officer, OfficerStatus, Role, Unit, User, UserRole
from core.passwords import hash_password
from core.models import OutboxMessage, OutboxStatus
from wellness import rules
from wellness.models import (Appointment, AppointmentStatus, AttentionItem, Clinician, CriticalIncident,
                             EvaluationIncident, EvaluationKind, EvaluationStatus, IncidentOfficer, IncidentType,
                             IncidentUnit, Modality, WeeklyHours, WellnessEvaluation)
from wellness.services.common import settings

PASSWORD = "bench quartz meadow lantern"
ADMIN_EMAIL = "bench.admin@beacon-pd.example"
HR_EMAIL = "bench.hr@beacon-pd.example"
# The authenticator of every staff account (the harness signs in with its code).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
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

# --- wellness ---------------------------------------------------------------------------
WELLNESS_HISTORY_DAYS = 395      # completed evaluations spread over the past 13 months
EVALUATED_SHARE = 0.85           # officers with one completed annual evaluation
SCHEDULED_SHARE = 0.4            # evaluations in progress that are booked (as far as the slots go)
BOOKING_DAYS = 27                # future appointments within the next four weeks
INCIDENTS_PER_OFFICER = 1 / 2000  # at least MIN_INCIDENTS
MIN_INCIDENTS = 3
RECENT_INCIDENTS = 2             # the newest incidents, whose evaluations are still open
TODAY_CASES = 3                  # officers per case left for today's sweep (leave, return, separation)
# (name, practice, modality, days until the license expires): all trauma specialists with a
# valid license; one expires within the warning period (30 days), as happens in any year.
CLINICIANS = [
    ("Dr. Ngozi Okafor", "Riverside Trauma Clinic", Modality.BOTH, 700),
    ("Dr. Samuel Reyes", "Gateway Counseling", Modality.TELEHEALTH, 25),
    ("Dr. Hannah Lindqvist", "Lakeside Psychology Group", Modality.IN_PERSON, 540),
    ("Dr. Marcus Bell", "First Responder Wellness Center", Modality.BOTH, 900),
    ("Dr. Amira Haddad", "Northgate Behavioral Health", Modality.IN_PERSON, 365),
]
CLINIC_DAY = (time(8), time(16))  # Monday to Friday, 30-minute slots
SLOT_MINUTES = 30


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
    clinicians: int = 0
    evaluations: int = 0
    in_progress: int = 0
    appointments: int = 0
    active_appointments: int = 0
    incidents: int = 0
    record_officer_id: int = 0  # an officer with a history, a booking and an incident
    review_cycle_id: int = 0    # a published review cycle of every active officer
    reviews: int = 0
    anonymous_reviews: int = 0
    result_lines: int = 0       # the cycle's fixed results (version 1), made as publication does
    results_seconds: float = 0.0

    def path_values(self) -> dict:
        return {"sergeant_id": self.sergeant_id, "last_name": self.last_name,
                "record_officer_id": self.record_officer_id, "cycle_id": self.review_cycle_id}


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

    write(Unit, units)
    write(Officer, officers)

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
            # Administrators, HR and clinicians have two-step sign-in, as their role requires.
            "totp_secret": TOTP_SECRET if officer is None else None,
            "totp_enrolled_at": last_login if officer is None else None,
        })
        roles.extend({"user_id": uid, "role": r} for r in role_list)

    for email, name, role_list in staff:
        account(email, name, role_list, bench=email in (ADMIN_EMAIL, HR_EMAIL))
    for officer in with_account:
        account(officer["email"], f"{officer['first_name']} {officer['last_name']}", [Role.OFFICER], officer)
    write(User, users)
    write(UserRole, roles)

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
    write(AuditEntry, entries)

    # --- outbox -------------------------------------------------------------------------
    outbox = []
    for i in range(int(n * OUTBOX_PER_OFFICER)):
        user = users[rng.randrange(len(users))]
        created = start + timedelta(seconds=rng.randint(0, HISTORY_DAYS * 86400))
        status = rng.choices([OutboxStatus.QUEUED, OutboxStatus.SENT, OutboxStatus.FAILED], weights=[3, 95, 2])[0]
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
    write(OutboxMessage, outbox)

    wellness = _wellness(rng, now, officers, users)
    review_figures = _reviews(rng, now, officers, users)

    if session.get_bind().dialect.name == "postgresql":
        # Ids were given explicitly: move the sequences past them, as a real history would.
        for table in ("units", "officers", "users", "clinicians", "clinician_hours", "wellness_evaluations",
                      "appointments", "critical_incidents"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
    # The history was loaded in bulk: seal it into the audit chain now, as each commit of
    # the app does, so no measured request pays for it.
    audit_chain.seal(session.connection())
    session.commit()

    sergeant = sergeants[0][0] if sergeants and sergeants[0][0] <= len(officers) else officers[-1]["id"]
    return Department(officers=len(officers), units=unit_count, accounts=len(users), audit_entries=len(entries),
                      outbox_messages=len(outbox), sergeant_id=sergeant, last_name=SEARCH_LAST_NAME, **wellness,
                      **review_figures)


def _wellness(rng: random.Random, now: datetime, officers: list[dict], users: list[dict]) -> dict:
    """A year of wellness history around `now` (see the module's docstring). Returns
    the counts and ids the Department reports."""
    session = db.session
    s = settings()
    zone = s.zone
    day = now.astimezone(zone).date()
    yesterday = day - timedelta(days=1)
    hr_user = next(u["id"] for u in users if u["email"] == HR_EMAIL)
    by_email = {u["email"]: u["id"] for u in users}

    def at(on: date, clock_time: time) -> datetime:
        return rules.local_to_utc(on, clock_time, zone)

    # --- clinicians and their weekly hours ------------------------------------------------
    clinicians, hours = [], []
    for i, (name, practice, modality, valid_days) in enumerate(CLINICIANS, start=1):
        email = f"clinician{i}@clinic.example"  # the staff accounts made above
        clinicians.append({
            "id": i, "name": name, "practice": practice, "email": email, "phone": f"314-555-01{i:02d}",
            "license_number": f"PSY-{20400 + i}", "license_state": "MO",
            "license_expires": day + timedelta(days=valid_days), "trauma_specialty": True,
            "specialty_description": "PTSD, critical-incident stress", "modality": modality,
            "address": "" if modality == Modality.TELEHEALTH else f"{100 * i} Riverside Dr",
            "user_id": by_email.get(email), "created_at": now - timedelta(days=WELLNESS_HISTORY_DAYS + 30),
        })
        for weekday in range(5):
            hours.append({"id": len(hours) + 1, "clinician_id": i, "weekday": weekday, "starts": CLINIC_DAY[0],
                          "ends": CLINIC_DAY[1], "slot_minutes": SLOT_MINUTES,
                          "valid_from": day - timedelta(days=WELLNESS_HISTORY_DAYS + 30), "valid_until": None})
    clinician_ids = [c["id"] for c in clinicians]

    # Future slots, free and bookable (within the license), shared out at random.
    free = []
    for c in clinicians:
        published = [rules.Hours(h["weekday"], h["starts"], h["ends"], h["slot_minutes"], h["valid_from"])
                     for h in hours if h["clinician_id"] == c["id"]]
        last = min(day + timedelta(days=BOOKING_DAYS), c["license_expires"])
        free += [(c["id"], start, end)
                 for start, end in rules.slots(published, day + timedelta(days=1), last, zone, not_before=now)]
    rng.shuffle(free)

    # Past visits: distinct (clinician, start) pairs, 15 minutes apart from 07:00 on each day.
    taken = defaultdict(int)

    def past_visit(on: date) -> tuple[int, datetime]:
        clinician_id = rng.choice(clinician_ids)
        k = taken[clinician_id, on]
        taken[clinician_id, on] = k + 1
        return clinician_id, at(on, time(7)) + timedelta(minutes=15 * k)

    evaluations, appointments, links, attention = [], [], [], []

    def evaluation(officer_id, kind, status, due_on, opened_on, completed_on=None, paused_on=None) -> dict:
        row = {"id": len(evaluations) + 1, "officer_id": officer_id, "kind": kind, "status": status,
               "due_on": due_on, "opened_on": opened_on, "completed_on": completed_on, "paused_on": paused_on,
               "closed_reason": "", "created_at": at(opened_on, time(5)), "attention": None}
        evaluations.append(row)
        return row

    def appointment(ev, clinician_id, starts_at, status, booked_at, closed=False) -> dict:
        row = {"id": len(appointments) + 1, "evaluation_id": ev["id"], "clinician_id": clinician_id,
               "officer_id": ev["officer_id"], "starts_at": starts_at, "ends_at": starts_at + timedelta(hours=1),
               "status": status, "uid": f"bench-{len(appointments) + 1}@beacon-pd.example", "sequence": 0,
               "decline_reason": "I am away that week." if status == AppointmentStatus.DECLINED else "",
               "proposed_starts_at": None, "booked_by_id": hr_user, "booked_at": booked_at,
               "confirmed_at": (booked_at + timedelta(days=1)
                                if status in (AppointmentStatus.CONFIRMED, AppointmentStatus.ATTENDED,
                                              AppointmentStatus.NO_SHOW) else None),
               "closed_at": starts_at + timedelta(hours=1) if closed else None}
        appointments.append(row)
        return row

    def completed(officer, kind, completed_on, due_on, opened_on) -> dict:
        ev = evaluation(officer["id"], kind, EvaluationStatus.COMPLETED, due_on, min(opened_on, completed_on),
                        completed_on=completed_on)
        clinician_id, starts = past_visit(completed_on)
        appointment(ev, clinician_id, starts, AppointmentStatus.ATTENDED, starts - timedelta(days=rng.randint(5, 20)),
                    closed=True)
        return ev

    # --- a year of completed annual evaluations -----------------------------------------
    last_completed: dict[int, date] = {}
    for officer in officers:
        if rng.random() >= EVALUATED_SHARE:
            continue
        on = max(day - timedelta(days=rng.randint(1, WELLNESS_HISTORY_DAYS)), officer["hire_date"] + timedelta(days=30))
        on = min(on, yesterday)
        due = on + timedelta(days=rng.randint(-20, 50))  # mostly done before the due date, some late
        completed(officer, EvaluationKind.ANNUAL, on, due, due - timedelta(days=s.open_window_days))
        last_completed[officer["id"]] = on

    # --- critical incidents ---------------------------------------------------------------
    types = session.execute(select(IncidentType.id, IncidentType.window_days).order_by(IncidentType.id)).all()
    not_separated = [o for o in officers if o["status"] != OfficerStatus.SEPARATED]
    by_unit = defaultdict(list)
    for o in not_separated:
        by_unit[o["unit_id"]].append(o)
    incident_count = max(MIN_INCIDENTS, round(len(officers) * INCIDENTS_PER_OFFICER))
    incidents, incident_units, incident_officers = [], [], []
    # officer id -> (due, recorded on, incident ids) of the incidents whose evaluations are still open
    recent: dict[int, tuple[date, date, list[int]]] = {}
    for i in range(incident_count):
        type_id, window = rng.choice(types)
        is_recent = i >= incident_count - RECENT_INCIDENTS
        occurred = day - timedelta(days=rng.randint(2, 10) if is_recent else rng.randint(window + 5, 360))
        incident_id = i + 1
        if rng.random() < 0.5 and by_unit:
            unit_id = rng.choice(sorted(by_unit))
            affected, via_unit = by_unit[unit_id], True
            incident_units.append({"incident_id": incident_id, "unit_id": unit_id})
        else:
            affected, via_unit = rng.sample(not_separated, min(rng.randint(1, 3), len(not_separated))), False
        if not affected:
            continue
        incidents.append({"id": incident_id, "type_id": type_id, "occurred_on": occurred,
                          "description": f"Bench incident {incident_id}.", "recorded_by_id": hr_user,
                          "created_at": at(occurred + timedelta(days=1), time(9))})
        recorded = occurred + timedelta(days=1)
        due = rules.incident_due(occurred, recorded, window)
        for officer in affected:
            incident_officers.append({"incident_id": incident_id, "officer_id": officer["id"], "via_unit": via_unit})
            if is_recent:
                previous = recent.get(officer["id"])
                recent[officer["id"]] = (min(due, previous[0]) if previous else due,
                                         min(recorded, previous[1]) if previous else recorded,
                                         (previous[2] if previous else []) + [incident_id])
            else:
                on = min(occurred + timedelta(days=rng.randint(1, window)), yesterday)
                ev = completed(officer, EvaluationKind.INCIDENT, on, due, recorded)
                links.append({"evaluation_id": ev["id"], "incident_id": incident_id})
                last_completed[officer["id"]] = max(on, last_completed.get(officer["id"], on))

    # --- evaluations in progress, as of yesterday's sweep ----------------------------------
    in_progress: dict[int, dict] = {}
    program_start = day - timedelta(days=WELLNESS_HISTORY_DAYS)
    for officer in not_separated:
        due = rules.annual_due(last_completed.get(officer["id"]), officer["hire_date"], day, s.interval_months,
                               s.first_rule)
        window_opened = rules.opens_on(due, s.open_window_days)
        incident = recent.get(officer["id"])
        if window_opened < day:  # opened by an earlier sweep; incidents joined it
            ev = evaluation(officer["id"], EvaluationKind.ANNUAL, EvaluationStatus.OPEN,
                            rules.merged_due(due, incident[0]) if incident else due,
                            max(window_opened, program_start))
        elif incident:           # no annual one yet: the incident opened one
            ev = evaluation(officer["id"], EvaluationKind.INCIDENT, EvaluationStatus.OPEN, incident[0], incident[1])
        else:                    # window opens today or later: today's sweep (or a later one) opens it
            continue
        for incident_id in (incident[2] if incident else []):
            links.append({"evaluation_id": ev["id"], "incident_id": incident_id})
        if officer["status"] == OfficerStatus.LEAVE:  # paused by an earlier sweep
            ev["paused_on"] = max(day - timedelta(days=rng.randint(1, 90)), ev["opened_on"])
        in_progress[officer["id"]] = ev

    # Left for today's sweep: officers who went on leave today (not paused yet), came back
    # today (still paused), or were separated today (evaluation, even a booking, still open).
    on_leave = [ev for ev in in_progress.values() if ev["paused_on"] is not None]
    for ev in on_leave[:TODAY_CASES]:
        ev["paused_on"] = None
    active = [o for o in not_separated if o["status"] == OfficerStatus.ACTIVE and o["id"] in in_progress]
    returned = {o["id"] for o in active[-TODAY_CASES:]}
    for officer_id in returned:
        ev = in_progress[officer_id]
        ev["paused_on"] = max(day - timedelta(days=30), ev["opened_on"])
    separated_today = []
    for officer in [o for o in officers if o["status"] == OfficerStatus.SEPARATED][:TODAY_CASES]:
        last = last_completed.get(officer["id"])
        due = rules.annual_due(last, officer["hire_date"], day, s.interval_months, s.first_rule)
        separated_today.append(evaluation(officer["id"], EvaluationKind.ANNUAL, EvaluationStatus.OPEN, due,
                                          max(rules.opens_on(due, s.open_window_days), program_start)))

    # Some evaluations in progress are booked: an appointment in the coming weeks,
    # awaiting the clinician, confirmed, or with a reschedule requested.
    bookable = [ev for ev in in_progress.values() if ev["paused_on"] is None and ev["officer_id"] not in returned]
    rng.shuffle(bookable)
    booked = bookable[:min(int(len(bookable) * SCHEDULED_SHARE), len(free) - len(separated_today[:1]))]
    statuses = [AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULE_REQUESTED]
    for ev in booked + separated_today[:1]:
        clinician_id, starts, _ = free.pop()
        status = rng.choices(statuses, weights=[30, 60, 10])[0]
        ev["status"] = EvaluationStatus.SCHEDULED
        booked_at = min(now - timedelta(days=rng.randint(1, 14)), starts - timedelta(days=1))
        appointment(ev, clinician_id, starts, status, booked_at)
    # A few earlier attempts that did not happen: no-shows and declines, in the past.
    for ev in rng.sample(list(in_progress.values()), len(in_progress) // 30):
        if ev["opened_on"] >= yesterday:
            continue
        on = ev["opened_on"] + timedelta(days=rng.randint(0, (yesterday - ev["opened_on"]).days))
        clinician_id, starts = past_visit(on)
        status = rng.choice([AppointmentStatus.NO_SHOW, AppointmentStatus.DECLINED])
        missed = appointment(ev, clinician_id, starts, status, starts - timedelta(days=7), closed=True)
        # Still on HR's Needs attention list unless booked again since.
        if ev["status"] == EvaluationStatus.OPEN:
            kind = "no_show" if status == AppointmentStatus.NO_SHOW else "declined"
            ev["attention"] = kind
            attention.append({"id": len(attention) + 1, "evaluation_id": ev["id"], "appointment_id": missed["id"],
                              "kind": kind, "detail": "", "opened_at": starts + timedelta(hours=1),
                              "resolution": "", "note": ""})

    # --- write -----------------------------------------------------------------------------
    for model, rows in ((Clinician, clinicians), (WeeklyHours, hours), (CriticalIncident, incidents),
                        (IncidentUnit, incident_units), (IncidentOfficer, incident_officers),
                        (WellnessEvaluation, evaluations), (Appointment, appointments), (EvaluationIncident, links),
                        (AttentionItem, attention)):
        write(model, rows)

    linked = {link["evaluation_id"] for link in links}
    showcase = [ev for ev in booked if ev["officer_id"] in last_completed]
    showcase.sort(key=lambda ev: (ev["id"] not in linked, ev["id"]))
    record_officer = showcase[0]["officer_id"] if showcase else officers[0]["id"]
    return {"clinicians": len(clinicians), "evaluations": len(evaluations),
            "in_progress": len(in_progress) + len(separated_today), "appointments": len(appointments),
            "active_appointments": len(booked) + len(separated_today[:1]), "incidents": len(incidents),
            "record_officer_id": record_officer}


REVIEW_PEERS = 9   # with self, supervisor and direct reports: about 10 reviews per officer


def _reviews(rng: random.Random, now: datetime, officers: list[dict], users: list[dict]) -> dict:
    """A published review cycle of every active officer with an account as rater: self,
    supervisor, REVIEW_PEERS peers from the unit and every direct report; 95% answered.
    Upward reviews go to the anonymous table. Two periods of community metrics each."""
    from evaluations.models import (AnonymousReview, CommunityMetric, Criterion, CycleStatus, RaterGroup, ResultLine,
                                    Review, ReviewAssignment, ReviewCycle)
    criteria = db.session.scalars(select(Criterion).where(Criterion.rubric_id == 1)).all()
    asked = {g.value: [str(c.id) for c in criteria if c.answered_by(g.value)] for g in RaterGroup}
    closes = now.date() - timedelta(days=30)
    cycle = ReviewCycle(id=1, name="Bench annual", rubric_id=1, opens_on=closes - timedelta(days=30), closes_on=closes,
                        status=CycleStatus.PUBLISHED, all_units=True, peers=REVIEW_PEERS, threshold=3,
                        anonymous_peers=False, created_at=now, opened_at=now, closed_at=now, published_at=now)
    db.session.add(cycle)
    db.session.flush()
    raters = {u["officer_id"] for u in users if u["officer_id"] and u["status"] == AccountStatus.ACTIVE}
    active = [o for o in officers if o["status"] == OfficerStatus.ACTIVE]
    by_unit, reports = defaultdict(list), defaultdict(list)
    for o in active:
        if o["id"] in raters:
            by_unit[o["unit_id"]].append(o["id"])
            if o["supervisor_id"]:
                reports[o["supervisor_id"]].append(o["id"])
    assignments, named, anonymous = [], [], []

    def scores(group, base):
        return {c: max(1, min(5, round(base + rng.uniform(-1.3, 1.3)))) for c in asked[group]}

    for o in active:
        base = rng.uniform(2.5, 4.6)
        plan = [(o["id"], RaterGroup.SELF)] if o["id"] in raters else []
        if o["supervisor_id"] in raters:
            plan.append((o["supervisor_id"], RaterGroup.SUPERVISOR))
        direct = reports.get(o["id"], [])
        taken = {o["id"], o["supervisor_id"], *direct}
        pool = [m for m in by_unit[o["unit_id"]] if m not in taken]
        plan += [(m, RaterGroup.PEER) for m in rng.sample(pool, min(REVIEW_PEERS, len(pool)))]
        plan += [(m, RaterGroup.DIRECT_REPORT) for m in direct]
        for rater, group in plan:
            done = rng.random() < 0.95
            assignments.append({"id": len(assignments) + 1, "cycle_id": cycle.id, "subject_id": o["id"],
                                "rater_id": rater, "rater_group": group, "status": "submitted" if done else "pending"})
            if not done:
                continue
            given = scores(group.value, base)
            row = {"scores": given, "comment": "Solid work on the beat." if rng.random() < 0.3 else "",
                   "score_total": sum(given.values()), "score_count": len(given)}
            if group == RaterGroup.DIRECT_REPORT:
                anonymous.append({"id": uuid.uuid4(), "cycle_id": cycle.id, "subject_id": o["id"],
                                  "rater_group": group, **row})
            else:
                named.append({"assignment_id": assignments[-1]["id"], **row, "submitted_at": now, "updated_at": now})
    rng.shuffle(anonymous)
    write(ReviewAssignment, assignments)
    write(Review, named)
    write(AnonymousReview, anonymous)
    metrics = []
    for start, end in ((closes - timedelta(days=180), closes - timedelta(days=91)),
                       (closes - timedelta(days=90), closes - timedelta(days=1))):
        for o in active:
            complaints = rng.choice([0, 0, 0, 1, 2])
            metrics.append({"officer_id": o["id"], "period_start": start, "period_end": end,
                            "compliments": rng.randint(0, 6), "complaints": complaints,
                            "complaints_sustained": rng.randint(0, complaints), "community_meetings": rng.randint(0, 5),
                            "problem_solving_projects": rng.randint(0, 3),
                            "resident_safety_score": round(rng.uniform(2.5, 4.8), 2) if rng.random() < 0.8 else None,
                            "imported_at": now})
    write(CommunityMetric, metrics)
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("review_cycles", "review_assignments"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
    # Published: HR chose the last quarter, and the results are fixed as version 1, by the
    # same code as the "Publish reports" button (timed: it is the publish's cost).
    from core.audit import Actor
    from evaluations.services import results
    cycle.metrics_start, cycle.metrics_end, cycle.metrics_chosen = closes - timedelta(days=90), \
        closes - timedelta(days=1), True
    started = perf_counter()
    version = results.make_version(Actor.system("bench"), cycle, "Published")
    fixed = perf_counter() - started
    lines = db.session.scalar(select(func.count()).select_from(ResultLine).where(ResultLine.version_id == version.id))
    return {"review_cycle_id": cycle.id, "reviews": len(named) + len(anonymous), "anonymous_reviews": len(anonymous),
            "result_lines": lines, "results_seconds": round(fixed, 2)}


def write(model, rows: list[dict], chunk: int = 10000) -> None:
    """Insert `rows` (dicts with the same keys) in the session's transaction. On
    PostgreSQL through COPY, several times faster than multi-row INSERTs (the 250,000
    audit entries of N = 50,000 take about 3 s instead of 15): the values go to the
    driver as they are, so enums are given as their values and the scalar Python-side
    defaults of missing columns are filled in here, as the ORM would. Elsewhere,
    `insert(table)` with a list of dicts (keys are column names), `chunk` rows at a time."""
    if not rows:
        return
    session = db.session
    if session.get_bind().dialect.name != "postgresql":
        for start in range(0, len(rows), chunk):
            session.execute(insert(model.__table__), rows[start:start + chunk])
        return
    table = model.__table__
    keys = list(rows[0])
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in keys and c.default is not None and c.default.is_scalar}
    columns = ", ".join(f'"{name}"' for name in keys + list(defaults))
    extra = [v.value if isinstance(v, enum.Enum) else v for v in defaults.values()]
    enums = [i for i, k in enumerate(keys) if isinstance(table.c[k].type, Enum)]
    jsons = [i for i, k in enumerate(keys) if isinstance(table.c[k].type, JSON)]
    driver = session.connection().connection.driver_connection  # psycopg, inside the session's transaction
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            values = [row[k] for k in keys]
            for i in enums:
                if isinstance(values[i], enum.Enum):
                    values[i] = values[i].value
            for i in jsons:
                values[i] = json.dumps(values[i])
            copy.write_row(values + extra)


def analyze() -> None:
    """Refresh the planner's statistics, as PostgreSQL's autovacuum would soon after a
    bulk load. (SQLite has no such daemon, so the harness leaves it as it is.)"""
    db.session.execute(text("ANALYZE"))
    db.session.commit()
