"""Pure decisions about wellness evaluations: due dates, windows, states, free slots.

Plain values in, plain values out: no Flask, no session, no clock of their own.
Dates are the department's local dates; instants are timezone-aware UTC.
"""
import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

ANNUAL_INTERVAL_MONTHS = 12
OPEN_WINDOW_DAYS = 60
# For an officer with no evaluation yet: "hire" = one interval after hire;
# "immediately" = due as soon as the rules first see them.
FIRST_RULES = ("hire", "immediately")

DEFAULT_INCIDENT_TYPES = (
    ("Officer-involved shooting / firearm discharge on duty", 3),
    ("Death of a partner", 7),
    ("Death of a unit member", 14),
)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, held to the month's last day (Jan 31 + 1 = Feb 28/29,
    Feb 29 + 12 = Feb 28). Held to the calendar's ends too (9999-12-31 + 12 = 9999-12-31),
    so no date already in the database can make a page or the sweep fail."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_days(day: date, days: int) -> date:
    """`day` moved by `days`, held to the calendar's ends (date.max, date.min) instead of
    raising OverflowError."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def annual_due(last_completed: date | None, hire_date: date, today: date,
               interval_months: int = ANNUAL_INTERVAL_MONTHS, first_rule: str = "hire") -> date:
    """When an officer's next preventive evaluation is due: one interval after their
    last completed evaluation of any kind; with none, by `first_rule`."""
    if last_completed is not None:
        return add_months(last_completed, interval_months)
    if first_rule == "immediately":
        return max(today, hire_date)
    return add_months(hire_date, interval_months)


def opens_on(due: date, window_days: int = OPEN_WINDOW_DAYS) -> date:
    return add_days(due, -window_days)


def should_open_annual(due: date, today: date, window_days: int = OPEN_WINDOW_DAYS) -> bool:
    """The sweep opens an annual evaluation once its scheduling window has come."""
    return today >= opens_on(due, window_days)


def incident_due(occurred_on: date, recorded_on: date, window_days: int) -> date:
    """Within the type's window of the event; never before the day HR records it."""
    return max(add_days(occurred_on, window_days), recorded_on)


def merged_due(current_due: date, incident_due_on: date) -> date:
    """An incident joins an open evaluation: the earlier date wins."""
    return min(current_due, incident_due_on)


def display_status(status: str, due_on: date, today: date, officer_status: str) -> str:
    """What people see: open, scheduled, overdue, paused (officer on leave), completed, closed."""
    if status in ("completed", "closed"):
        return status
    if officer_status == "leave":
        return "paused"
    if due_on < today:
        return "overdue"
    return status


def resumed_due(due_on: date, paused_on: date, today: date) -> date:
    """Back from leave: the due date moves by the days spent on leave."""
    return add_days(due_on, max((today - paused_on).days, 0))


def is_compliant(last_completed: date | None, today: date, interval_months: int = ANNUAL_INTERVAL_MONTHS) -> bool:
    """Compliant: the last completed evaluation is within the interval."""
    return last_completed is not None and add_months(last_completed, interval_months) >= today


def bookable(trauma_specialty: bool, license_expires: date, on: date) -> bool:
    """Only a trauma specialist with a license valid on the day can be booked."""
    return trauma_specialty and license_expires >= on


def license_warning_due(license_expires: date, today: date, days: int = 30) -> bool:
    return today <= license_expires <= today + timedelta(days=days)


# --- free slots ------------------------------------------------------------------------

@dataclass(frozen=True)
class Hours:
    weekday: int          # Monday = 0
    starts: time
    ends: time
    slot_minutes: int
    valid_from: date
    valid_until: date | None = None


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time in the department's zone as a UTC instant. In the repeated
    hour of a fall-back change the first (daylight-time) instant is meant."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)


def exists_locally(day: date, at: time, zone: ZoneInfo) -> bool:
    """False for a wall-clock time skipped by a spring-forward change (02:30 on that night)."""
    local = datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)


def slots(hours: list[Hours], first_day: date, last_day: date, zone: ZoneInfo,
          blocked_days: set[date] = frozenset(), booked: list[tuple[datetime, datetime]] = (),
          not_before: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Free (start, end) UTC pairs from published hours, minus blocked days, anything
    overlapping a booked (start, end), and anything before `not_before`. Slots start
    on the local wall clock, so "10:00" is 10:00 on both sides of a daylight-saving
    change, and last their length in real time; a start the clock skips that night is
    left out, and so is a slot that would overlap an earlier one (across the change,
    or where two published hours overlap), so no two free slots ever overlap."""
    candidates = []
    day = first_day
    while day <= last_day:
        if day not in blocked_days:
            for h in hours:
                if h.weekday != day.weekday() or day < h.valid_from or (h.valid_until and day > h.valid_until):
                    continue
                start = datetime.combine(day, h.starts)
                end_of_day = datetime.combine(day, h.ends)
                step = timedelta(minutes=h.slot_minutes)
                while start + step <= end_of_day:
                    if exists_locally(day, start.time(), zone):
                        s = local_to_utc(day, start.time(), zone)
                        candidates.append((s, s + step))
                    start += step
        day += timedelta(days=1)
    taken = sorted(booked)
    result = []
    for start, end in sorted(set(candidates)):
        if not_before is not None and start < not_before:
            continue
        if result and start < result[-1][1]:
            continue
        if any(b_start < end and start < b_end for b_start, b_end in taken):
            continue
        result.append((start, end))
    return result


# --- reminders --------------------------------------------------------------------------
# Each answers "at `now`, which reminder is due?" for one fact. After downtime the answer
# is the one that still makes sense now (a "72 hours before" for an appointment 10 hours
# away becomes the "24 hours" one), so a catch-up sweep sends one message, not a flood.

COMING_DUE_LEADS = (30, 14, 7)          # days before the due date, to the officer
APPOINTMENT_LEADS = (72, 24)            # hours before the appointment, to officer and clinician
UNCONFIRMED_CLINICIAN_AFTER = 48        # hours after booking, to the clinician
UNCONFIRMED_HR_AFTER = 96               # hours after booking, to HR


def coming_due_lead(due_on: date, today: date, leads=COMING_DUE_LEADS) -> int | None:
    """The "N days before" reminder due today for an evaluation not yet booked: the
    nearest lead not yet passed; None before the first lead or once overdue (overdue
    evaluations go to HR's digest instead)."""
    days_left = (due_on - today).days
    if days_left < 0:
        return None
    fitting = [lead for lead in leads if days_left <= lead]
    return min(fitting) if fitting else None


def appointment_lead(starts_at: datetime, now: datetime, booked_at: datetime | None = None,
                     leads=APPOINTMENT_LEADS) -> int | None:
    """The "N hours before" reminder due now for an appointment (real hours, so a
    reminder across a daylight-saving change is still N real hours before).

    A lead longer than the shortest is due only if the booking already existed at that
    point (`booked_at`, which a move resets): a booking made 30 hours ahead never gets
    the 72-hour one. The shortest is always due once inside its window, so a booking
    made ten minutes ahead still gets exactly one reminder."""
    if now >= starts_at:
        return None
    hours_left = (starts_at - now).total_seconds() / 3600
    fitting = [lead for lead in leads if hours_left <= lead]
    if not fitting:
        return None
    lead = min(fitting)
    if lead != min(leads) and booked_at is not None and booked_at > starts_at - timedelta(hours=lead):
        return None
    return lead


def appointment_when(starts_at: datetime, zone: ZoneInfo, now: datetime | None = None, *, short: bool = False) -> str:
    """How a message names an appointment's time, in the department's zone: "today at
    10:00" or "tomorrow at 10:00" by the local day of `now`, otherwise "on Tuesday 01
    December at 10:00" ("on Tue 1 December at 10:00" when short, for a subject). Without
    `now` always the date. Never a lead time: a reminder must not promise "in about 72
    hours" to a booking that did not have them."""
    when = starts_at.astimezone(zone)
    at = f"at {when:%H:%M %Z}"
    if now is not None:
        days = (when.date() - now.astimezone(zone).date()).days
        if days == 0:
            return f"today {at}"
        if days == 1:
            return f"tomorrow {at}"
    if short:
        return f"on {when:%a} {when.day} {when:%B} {at}"
    return f"on {when:%A %d %B} {at}"


def unconfirmed_audiences(booked_at: datetime, starts_at: datetime, now: datetime,
                          clinician_after: int = UNCONFIRMED_CLINICIAN_AFTER,
                          hr_after: int = UNCONFIRMED_HR_AFTER) -> list[str]:
    """Who is reminded that a booking is still unconfirmed: the clinician after 48
    hours, HR after 96; nobody once the appointment time has come."""
    if now >= starts_at:
        return []
    waited = (now - booked_at).total_seconds() / 3600
    return [who for who, after in (("clinician", clinician_after), ("hr", hr_after)) if waited >= after]


def reminder_schedule(due_on: date | None, starts_at: datetime | None, zone: ZoneInfo,
                      leads_days=COMING_DUE_LEADS, leads_hours=APPOINTMENT_LEADS) -> list[tuple[datetime, str]]:
    """When a person's upcoming reminders will go out, for their own page: coming-due
    reminders (at the start of the local day) or appointment reminders."""
    plan = []
    if due_on is not None:
        for lead in leads_days:
            try:
                moment = datetime.combine(due_on - timedelta(days=lead), time(0), tzinfo=zone).astimezone(timezone.utc)
            except OverflowError:  # a due date at the calendar's first days: no such reminder
                continue
            plan.append((moment, f"{lead} days before the due date"))
    if starts_at is not None:
        for lead in leads_hours:
            plan.append((starts_at - timedelta(hours=lead), f"{lead} hours before the appointment"))
    return sorted(plan)


# The Needs attention kinds shown before "overdue" (wellness.models.attention keeps the list).
BEFORE_OVERDUE = ("declined", "clinician_cancelled", "no_show", "clinician_unavailable", "deadline_moved",
                  "incident_withdrawn", "no_slots", "proposal_expired", "license_expiring")


def dashboard_state(status: str, due_on: date, today: date, officer_status: str,
                    appointment_status: str | None, due_soon_days: int = 30, attention: str | None = None) -> str:
    """HR's dashboard state of an evaluation in progress: paused (officer on leave), the
    most pressing item of the Needs attention list when it says more than overdue does
    (declined, no_show, ...), overdue, then any other item (a proposal waiting, ...),
    due soon and not booked, confirmed, awaiting the clinician, or open."""
    if officer_status == "leave":
        return "paused"
    if attention in BEFORE_OVERDUE:
        return attention
    if due_on < today:
        return "overdue"
    if attention:
        return attention
    if status == "open" and due_on <= today + timedelta(days=due_soon_days):
        return "due_soon"
    if appointment_status == "confirmed":
        return "confirmed"
    if status == "scheduled":
        return "awaiting_confirmation"
    return "open"
