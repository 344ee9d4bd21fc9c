"""Pure decisions of the shared kernel: sign-in lockout, session expiry, one-time
tokens, access-review flags, and roster-file validation.

Plain values in, plain values out: no Flask, no database session, no clock of their
own (`now` is always passed in). Unit-tested in tests/unit/test_core_rules.py.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

# --- sign-in lockout ---------------------------------------------------------------

LOCKOUT_THRESHOLD = 5
LOCKOUT_DURATION = timedelta(minutes=10)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failed_sign_in(failed_in_a_row: int, now: datetime,
                         threshold: int = LOCKOUT_THRESHOLD,
                         duration: timedelta = LOCKOUT_DURATION) -> tuple[int, datetime | None]:
    """The new failure count and, when this failure reaches the threshold, the time
    the lock ends. The count starts again after a lock, so an unlocked account gets
    `threshold` fresh tries."""
    count = failed_in_a_row + 1
    if count >= threshold:
        return 0, now + duration
    return count, None


# --- sessions ------------------------------------------------------------------------

SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)


def session_end_reason(created_at: datetime, last_seen_at: datetime, now: datetime,
                       idle: timedelta = SESSION_IDLE, longest: timedelta = SESSION_MAX) -> str | None:
    """Why a signed-in session is over at `now` ("idle" or "expired"), or None."""
    if now - created_at >= longest:
        return "expired"
    if now - last_seen_at >= idle:
        return "idle"
    return None


# --- one-time tokens -----------------------------------------------------------------

INVITE_LIFETIME = timedelta(hours=72)
RESET_LIFETIME = timedelta(hours=72)


def token_problem(expires_at: datetime, used_at: datetime | None, now: datetime) -> str | None:
    """Why a one-time link can no longer be used ("used", "expired"), or None."""
    if used_at is not None:
        return "used"
    if now >= expires_at:
        return "expired"
    return None


# --- access review -------------------------------------------------------------------

ACCESS_IDLE_DAYS = 90


def access_flags(active: bool, last_login_at: datetime | None, now: datetime,
                 idle_days: int = ACCESS_IDLE_DAYS) -> list[str]:
    """What an access reviewer should look at for one account. Disabled accounts
    cannot sign in, so they raise no flag."""
    if not active:
        return []
    if last_login_at is None:
        return ["never signed in"]
    idle = (now - last_login_at).days
    if idle > idle_days:
        return [f"idle {idle} days"]
    return []


# --- input that is never stored: control characters and dates out of range -------------

# Text that reaches a form field, a filter or a CSV cell. C0/C1 control characters (NUL
# among them) are refused: PostgreSQL cannot store NUL and none of them means anything
# in a name or a note. Bidirectional overrides, embeddings and isolates are refused
# too: they make "Smith" display as something else in lists and CSVs (spoofing).
# Zero-width spaces and byte-order marks are stripped silently: they are invisible
# leftovers of copy and paste. Zero-width joiners/non-joiners stay, since Persian,
# Indic and other scripts need them in names.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_ONE_LINE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BIDI_RE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_INVISIBLE_RE = re.compile("[\u200b\u2060\ufeff]")


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why `value` cannot be accepted as text, or None. Tabs and line breaks are
    allowed only in multi-line fields (notes, descriptions)."""
    pattern = _CONTROL_RE if multiline else _CONTROL_ONE_LINE_RE
    if pattern.search(value):
        return "contains a control character (such as NUL); remove it and try again"
    if _BIDI_RE.search(value):
        return "contains an invisible text-direction character; remove it and try again"
    return None


def clean_text(value: str) -> str:
    """`value` without zero-width spaces and byte-order marks (see above)."""
    return _INVISIBLE_RE.sub("", value)


EARLIEST_HIRE = date(1900, 1, 1)
HIRE_AHEAD = 366          # days: a hire date may be set up to a year ahead (new recruits)
EVENT_YEARS_BACK = 5      # incidents and activities: not in the future, at most 5 years back


def hire_date_problem(value: date, today: date) -> str | None:
    """Why `value` cannot be a hire date, or None: not before 1900, not more than a
    year ahead."""
    if value < EARLIEST_HIRE:
        return "cannot be before 1900"
    if (value - today).days > HIRE_AHEAD:
        return "cannot be more than a year in the future"
    return None


def event_date_problem(value: date, today: date, years_back: int = EVENT_YEARS_BACK) -> str | None:
    """Why `value` cannot be the date of something that happened (a critical incident,
    a community activity), or None: not in the future, not more than `years_back`
    years ago."""
    if value > today:
        return "cannot be in the future"
    earliest = _years_before(today, years_back)
    if value < earliest:
        return f"cannot be more than {years_back} years ago (before {earliest.isoformat()})"
    return None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- roster file ---------------------------------------------------------------------

ROSTER_COLUMNS = ("badge_number", "first_name", "last_name", "email", "unit", "rank",
                  "supervisor_badge", "hire_date", "status")
ROSTER_REQUIRED = tuple(c for c in ROSTER_COLUMNS if c != "supervisor_badge")
ROSTER_STATUSES = ("active", "leave", "separated")
FIELD_LIMITS = {"badge_number": 20, "first_name": 80, "last_name": 80, "email": 254,
                "unit": 120, "rank": 60, "supervisor_badge": 20}
BADGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")
# Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is not ours to judge.
EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self):
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class RosterRow:
    line: int
    badge_number: str
    first_name: str
    last_name: str
    email: str
    unit: str
    rank: str
    supervisor_badge: str | None
    hire_date: date
    status: str


@dataclass(frozen=True)
class KnownOfficer:
    """What the roster already holds about one officer, for checking a file against it."""
    badge_number: str
    email: str
    supervisor_badge: str | None


@dataclass
class RosterCheck:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def decode_text(data: bytes | str) -> tuple[str | None, LineError | None]:
    if isinstance(data, str):
        return data.lstrip("\ufeff"), None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, LineError(line, "the file is not UTF-8 text (save it as CSV UTF-8)")


def read_csv(data: bytes | str, columns: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]], list[LineError]]:
    """Read a CSV file whose header must hold exactly `columns` (in any order): the
    non-blank lines as (line number, {column: stripped value}), and every problem with
    its line (line 1 is the header). Shared by the roster and the metrics imports."""
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[LineError] = []
    text, problem = decode_text(data)
    if problem:
        return rows, [problem]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return rows, [LineError(1, "the file is empty: a header row is required")]
    except csv.Error as exc:
        return rows, [LineError(1, f"unreadable CSV ({exc})")]
    missing = [c for c in columns if c not in header]
    unknown = [h for h in header if h not in columns]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if missing:
        errors.append(LineError(1, "missing column(s): " + ", ".join(missing)))
    if unknown:
        errors.append(LineError(1, "unknown column(s): " + ", ".join(unknown)))
    if repeated:
        errors.append(LineError(1, "repeated column(s): " + ", ".join(repeated)))
    if errors:
        return rows, errors
    try:
        for values in reader:
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                errors.append(LineError(line, f"expected {len(header)} fields, found {len(values)}"))
                continue
            rows.append((line, {name: value.strip() for name, value in zip(header, values)}))
    except csv.Error as exc:
        errors.append(LineError(reader.line_num, f"unreadable CSV ({exc})"))
    return rows, errors


def check_roster(data: bytes | str, known: dict[str, KnownOfficer]) -> RosterCheck:
    """Validate a whole roster file against itself and the existing roster.

    Returns every problem with its line number (line 1 is the header); `rows` are
    only meaningful when there are no errors.
    """
    result = RosterCheck()
    lines, result.errors = read_csv(data, ROSTER_COLUMNS)
    if result.errors and not lines:
        return result
    seen_badges: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for line, raw in lines:
        row = _check_row(line, raw, result.errors)
        if row is None:
            continue
        if row.badge_number in seen_badges:
            result.errors.append(LineError(line, f"badge_number {row.badge_number} is already on line {seen_badges[row.badge_number]}"))
            continue
        if row.email in seen_emails:
            result.errors.append(LineError(line, f"email {row.email} is already on line {seen_emails[row.email]}"))
            continue
        seen_badges[row.badge_number] = line
        seen_emails[row.email] = line
        result.rows.append(row)

    if not result.rows and not result.errors:
        result.errors.append(LineError(2, "the file has a header but no officers"))
    _check_against_roster(result, known)
    result.errors.sort(key=lambda e: e.line)
    return result


def _check_row(line: int, raw: dict[str, str], errors: list[LineError]) -> RosterRow | None:
    before = len(errors)
    for name in ROSTER_REQUIRED:
        if not raw[name]:
            errors.append(LineError(line, f"{name} is required"))
    for name, limit in FIELD_LIMITS.items():
        if len(raw[name]) > limit:
            errors.append(LineError(line, f"{name} is longer than {limit} characters"))
    if raw["badge_number"] and not BADGE_RE.match(raw["badge_number"]):
        errors.append(LineError(line, f"badge_number {raw['badge_number']!r} may hold only letters, digits and hyphens"))
    if raw["supervisor_badge"] and not BADGE_RE.match(raw["supervisor_badge"]):
        errors.append(LineError(line, f"supervisor_badge {raw['supervisor_badge']!r} may hold only letters, digits and hyphens"))
    email = raw["email"].lower()
    if email and not EMAIL_RE.match(email):
        errors.append(LineError(line, f"email {raw['email']!r} is not a valid address"))
    hire_date = None
    if raw["hire_date"]:
        try:
            if not DATE_RE.match(raw["hire_date"]):
                raise ValueError
            hire_date = date.fromisoformat(raw["hire_date"])
        except ValueError:
            errors.append(LineError(line, f"hire_date {raw['hire_date']!r} is not a date in the form YYYY-MM-DD"))
    status = raw["status"].lower()
    if status and status not in ROSTER_STATUSES:
        errors.append(LineError(line, f"status {raw['status']!r} must be one of: {', '.join(ROSTER_STATUSES)}"))
    if raw["supervisor_badge"] and raw["supervisor_badge"] == raw["badge_number"]:
        errors.append(LineError(line, "an officer cannot be their own supervisor"))
    if len(errors) > before:
        return None
    return RosterRow(line=line, badge_number=raw["badge_number"], first_name=raw["first_name"],
                     last_name=raw["last_name"], email=email, unit=raw["unit"], rank=raw["rank"],
                     supervisor_badge=raw["supervisor_badge"] or None, hire_date=hire_date, status=status)


def _check_against_roster(result: RosterCheck, known: dict[str, KnownOfficer]) -> None:
    in_file = {row.badge_number: row for row in result.rows}
    # Emails of officers the file does not mention stay theirs.
    emails_kept = {k.email: k.badge_number for k in known.values() if k.badge_number not in in_file}
    for row in result.rows:
        owner = emails_kept.get(row.email)
        if owner is not None:
            result.errors.append(LineError(row.line, f"email {row.email} belongs to officer {owner} on the roster"))
        sup = row.supervisor_badge
        if sup and sup not in in_file and sup not in known:
            result.errors.append(LineError(row.line, f"supervisor_badge {sup} is neither in this file nor on the roster"))

    # Loops are judged on the roster as it would be after the import.
    supervisor_of = {badge: k.supervisor_badge for badge, k in known.items()}
    supervisor_of.update({row.badge_number: row.supervisor_badge for row in result.rows})
    for row in result.rows:
        chain = [row.badge_number]
        current = supervisor_of.get(row.badge_number)
        while current is not None and current not in chain and len(chain) <= len(supervisor_of):
            chain.append(current)
            current = supervisor_of.get(current)
        if current == row.badge_number:
            result.errors.append(LineError(row.line, "supervisor loop: " + " → ".join(chain + [row.badge_number])))
