"""Pure decisions of the shared kernel: sign-in lockout, session expiry, one-time
tokens, access-review flags, and roster-file validation.

Plain values in, plain values out: no Flask, no database session, no clock of their
own (`now` is always passed in). Unit-tested in tests/unit/test_core_rules.py.
"""
import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
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
EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_PERIOD = EARLIEST_HIRE
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
PROGRESS_EVERY = 5000
# Anything text_problem or clean_text would act on, except the line breaks that end
# CSV records: a file without any of these needs no per-cell look (the common case).
_NEEDS_A_LOOK_RE = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                              "\u200b\u2060\ufeff]")


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str

    def __str__(self):
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


def read_csv(data: bytes | str,
             columns: tuple[str, ...]) -> tuple[Iterator[tuple[int, dict[str, str]]], list[LineError]]:
    """Read a CSV file whose header must hold exactly `columns` (in any order).

    Returns the non-blank lines as a lazy iterator of (line number, {column: clean,
    stripped value}) and the list of problems with their line (line 1 is the header).
    Header problems are in the list at once; a line's problems are added as the
    iterator reaches it, and that line is not yielded. Every cell is checked with
    `text_problem` (control characters, NUL, text-direction characters: refused,
    naming the column) and cleaned with `clean_text`. Lazy so that a file of 200,000
    lines is never held as 200,000 dicts. Shared by the roster and the metrics imports."""
    errors: list[LineError] = []
    lines, problem = _text_lines(data)
    if problem:
        return iter(()), [problem]
    looked = [False]   # set when a line just read holds a character worth a look
    reader = csv.reader(_flagged(lines, looked))
    try:
        header = [clean_text(h).strip() for h in next(reader)]
    except StopIteration:
        return iter(()), [LineError(1, "the file is empty: a header row is required")]
    except csv.Error as exc:
        return iter(()), [LineError(1, f"unreadable CSV ({exc})")]
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
        return iter(()), errors
    return _csv_lines(reader, header, errors, looked), errors


def _text_lines(data: bytes | str) -> tuple[Iterator[str] | None, LineError | None]:
    """The file's lines, line breaks kept (\\r\\n, \\n or \\r), decoded one at a time: the
    whole text beside the bytes would cost the file's size again (4 bytes a character
    for any text beyond Latin-1)."""
    if isinstance(data, str):
        return (match.group() for match in _LINE_RE.finditer(data.lstrip("\ufeff"))), None
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(data) or 1, 1 << 20):   # checked whole first: a bad file is refused before any line
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(view[start:start + (1 << 20)], final=start + (1 << 20) >= len(data))
        except UnicodeDecodeError as exc:
            line = data[: start - pending + exc.start].count(b"\n") + 1
            return None, LineError(line, "the file is not UTF-8 text (save it as CSV UTF-8)")
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""), None


def _flagged(lines: Iterator[str], looked: list[bool]) -> Iterator[str]:
    for line in lines:
        if _NEEDS_A_LOOK_RE.search(line):
            looked[0] = True
        yield line


def _csv_lines(reader, header: list[str], errors: list[LineError], looked: list[bool]):
    previous = reader.line_num
    looked[0] = False
    try:
        for values in reader:
            line = reader.line_num
            # The csv reader reads no further than the record it returns, so `looked`
            # speaks of this record's lines. A record over several lines holds a quoted
            # line break: look at its cells too.
            look = looked[0] or line - previous > 1
            looked[0] = False
            previous = line
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                errors.append(LineError(line, f"expected {len(header)} fields, found {len(values)}"))
                continue
            if look:
                problems = [LineError(line, f"{name} {problem}") for name, value in zip(header, values)
                            if (problem := text_problem(value))]
                if problems:
                    errors.extend(problems)
                    continue
                values = [clean_text(v) for v in values]
            yield line, {name: value.strip() for name, value in zip(header, values)}
    except csv.Error as exc:
        errors.append(LineError(reader.line_num, f"unreadable CSV ({exc})"))


PERIOD_END_AHEAD = 366   # days: a yearly period under way may be imported before it ends


def period_date_problem(value: date, today: date, days_ahead: int = 0) -> str | None:
    """Why `value` cannot bound a period of counted figures (community metrics), or
    None: not before 1900 and not more than `days_ahead` days after today (0 for a
    period's start: its figures cannot be counted before it begins; PERIOD_END_AHEAD
    for its end)."""
    if value < EARLIEST_PERIOD:
        return "cannot be before 1900"
    if (value - today).days > days_ahead:
        return "cannot be in the future" if not days_ahead else f"cannot be more than {days_ahead} days ahead"
    return None


def check_roster(data: bytes | str, known: Mapping[str, KnownOfficer], today: date,
                 progress: Callable[[int], None] | None = None) -> RosterCheck:
    """Validate a whole roster file against itself and the existing roster; `today`
    (in the department's time zone) bounds the hire dates. `progress(line)` is told
    every PROGRESS_EVERY lines how far the check has read.

    Returns every problem with its line number (line 1 is the header); `rows` are
    only meaningful when there are no errors. Holds every row: for small files (a
    large import reads with RosterScan and keeps none).
    """
    scan = RosterScan(today)
    rows = list(scan.rows(data, progress))
    scan.against_roster((k.badge_number, k.email, k.supervisor_badge) for k in known.values())
    return RosterCheck(rows, scan.errors)


class RosterScan:
    """A roster file checked in one streaming pass: `rows()` yields each good row
    and forgets it, keeping per officer only what the checks across lines need (their
    line, email and supervisor's badge); `against_roster()` then checks the file
    against the existing roster, read as a stream too. About 75 MB for 200,000
    officers, where keeping the rows and the roster took several hundred.

    `errors` holds every problem with its line once both are done, in line order."""

    def __init__(self, today: date):
        self.today = today
        self.errors: list[LineError] = []
        self.lines: dict[str, int] = {}          # badge -> line, every good row (file order)
        self.supervisors: dict[str, str] = {}    # badge -> supervisor's badge, rows that name one
        self.emails: dict[str, int] = {}         # email -> line (dropped by against_roster)
        self.units: set[str] = set()

    @property
    def ok(self) -> bool:
        return not self.errors

    def rows(self, data: bytes | str, progress: Callable[[int], None] | None = None) -> Iterator[RosterRow]:
        """Each good row of the file, once; bad and repeated rows go to `errors`."""
        lines, self.errors = read_csv(data, ROSTER_COLUMNS)
        shared: dict = {}   # one object for the many equal units, ranks, statuses and hire dates
        for count, (line, raw) in enumerate(lines, 1):
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(line)
            row = _check_row(line, raw, self.errors, self.today, shared)
            if row is None:
                continue
            if row.badge_number in self.lines:
                self.errors.append(LineError(line, f"badge_number {row.badge_number} "
                                                   f"is already on line {self.lines[row.badge_number]}"))
                continue
            if row.email in self.emails:
                self.errors.append(LineError(line, f"email {row.email} is already on line {self.emails[row.email]}"))
                continue
            self.lines[row.badge_number] = line
            self.emails[row.email] = line
            if row.supervisor_badge:
                self.supervisors[row.badge_number] = row.supervisor_badge
            self.units.add(row.unit)
            yield row
        if not self.lines and not self.errors:
            self.errors.append(LineError(2, "the file has a header but no officers"))

    def against_roster(self, roster: Iterable[tuple[str, str, str | None]]) -> None:
        """Check the rows read against the roster, given as (badge, email, supervisor's
        badge) of every officer on it, in one pass; then sort `errors` by line."""
        wanted = {sup for sup in self.supervisors.values() if sup not in self.lines}
        kept: dict[str, str | None] = {}   # officers the file does not mention keep their supervisor
        for badge, email, supervisor in roster:
            wanted.discard(badge)
            if badge in self.lines:
                continue
            # Emails of officers the file does not mention stay theirs.
            if (line := self.emails.get(email)) is not None:
                self.errors.append(LineError(line, f"email {email} belongs to officer {badge} on the roster"))
            if supervisor is not None:
                kept[badge] = supervisor
        self.emails = {}
        for badge, sup in self.supervisors.items():
            if sup in wanted:
                self.errors.append(LineError(self.lines[badge],
                                             f"supervisor_badge {sup} is neither in this file nor on the roster"))
        self._check_loops(kept)
        self.errors.sort(key=lambda e: e.line)

    def _check_loops(self, kept: dict[str, str | None]) -> None:
        """Loops are judged on the roster as it would be after the import. Each
        officer is walked up the chain once (linear): a walk stops at an officer
        already judged."""
        lines, supervisors = self.lines, self.supervisors

        def supervisor_of(badge):
            return supervisors.get(badge) if badge in lines else kept.get(badge)
        judged: set[str] = set()
        for badge in lines:
            path: dict[str, int] = {}   # badge -> position on this walk (dicts keep order)
            current = badge
            while current is not None and current not in judged and current not in path:
                path[current] = len(path)
                current = supervisor_of(current)
            if current is not None and current in path:
                loop = list(path)[path[current]:]
                for i, member in enumerate(loop):
                    if member in lines:
                        chain = loop[i:] + loop[:i] + [member]
                        self.errors.append(LineError(lines[member], "supervisor loop: " + " → ".join(chain)))
            judged.update(path)


def roster_rows_again(data: bytes | str, today: date) -> Iterator[RosterRow]:
    """The rows of a file RosterScan found good, read a second time: the write reads
    the stored file again, a chunk at a time, rather than keep every row in memory."""
    lines, errors = read_csv(data, ROSTER_COLUMNS)
    shared: dict = {}
    for line, raw in lines:
        row = _check_row(line, raw, errors, today, shared)
        if row is None:
            raise ValueError(f"line {line} of the roster file is not the one that was checked")
        yield row
    if errors:
        raise ValueError(f"{errors[0]} (the roster file is not the one that was checked)")


def _check_row(line: int, raw: dict[str, str], errors: list[LineError], today: date,
               shared: dict | None = None) -> RosterRow | None:
    before = len(errors)
    for name in ROSTER_REQUIRED:
        if not raw[name]:
            errors.append(LineError(line, f"{name} is required"))
    for name, limit in FIELD_LIMITS.items():
        if len(raw[name]) > limit:
            errors.append(LineError(line, f"{name} is longer than {limit} characters"))
    if raw["badge_number"] and not BADGE_RE.match(raw["badge_number"]):
        errors.append(LineError(line, f"badge_number {raw['badge_number']!r} "
                                      "may hold only letters, digits and hyphens"))
    if raw["supervisor_badge"] and not BADGE_RE.match(raw["supervisor_badge"]):
        errors.append(LineError(line, f"supervisor_badge {raw['supervisor_badge']!r} "
                                      "may hold only letters, digits and hyphens"))
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
        else:
            if problem := hire_date_problem(hire_date, today):
                errors.append(LineError(line, f"hire_date {raw['hire_date']} {problem}"))
    status = raw["status"].lower()
    if status and status not in ROSTER_STATUSES:
        errors.append(LineError(line, f"status {raw['status']!r} must be one of: {', '.join(ROSTER_STATUSES)}"))
    if raw["supervisor_badge"] and raw["supervisor_badge"] == raw["badge_number"]:
        errors.append(LineError(line, "an officer cannot be their own supervisor"))
    if len(errors) > before:
        return None
    one = shared.setdefault if shared is not None else (lambda value, default: value)
    return RosterRow(line=line, badge_number=raw["badge_number"], first_name=raw["first_name"],
                     last_name=raw["last_name"], email=email, unit=one(raw["unit"], raw["unit"]),
                     rank=one(raw["rank"], raw["rank"]), supervisor_badge=raw["supervisor_badge"] or None,
                     hire_date=one(hire_date, hire_date), status=one(status, status))


# --- outbox delivery ---------------------------------------------------------------

FAST_ATTEMPTS = 5  # 1, 2, 4, 8 times the base apart; after the fifth failure, the slow pace


def retry_at(attempts: int, now: datetime, base_seconds: int = 60, max_seconds: int = 3600) -> datetime:
    """When to try a message again after its `attempts`-th failure: 1, 2, 4, 8 times
    the base (minutes by default) later, then every `max_seconds` (an hour by default)
    for as long as it takes: a failed message is never given up, only expired."""
    if attempts >= FAST_ATTEMPTS:
        return now + timedelta(seconds=max_seconds)
    return now + timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def message_expired(expires_at: datetime | None, now: datetime) -> bool:
    """Whether a message stopped being true before it went out (a reset link whose token
    lapsed, a reminder of an appointment that has begun). One without an expiry never
    expires."""
    return expires_at is not None and now >= expires_at


def waited(delta: timedelta) -> str:
    """How long something has waited, in the largest whole unit: "3 hours", "1 day"."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"
