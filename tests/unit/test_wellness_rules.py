"""Wellness decisions: due dates, windows, displayed states, compliance, clinicians, free slots.

Pure: plain values in, plain values out; no database, no Flask app.
"""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from wellness import rules
from wellness.rules import Hours

CHICAGO = ZoneInfo("America/Chicago")
UTC = timezone.utc
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
MONDAY = date(2026, 7, 13)  # a plain Monday, far from any clock change


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours(weekday, starts="09:00", ends="15:00", minutes=60, valid_from=date(2026, 1, 1), valid_until=None):
    return Hours(weekday, time.fromisoformat(starts), time.fromisoformat(ends), minutes, valid_from, valid_until)


def every_day(starts="09:00", ends="15:00", minutes=60, valid_from=date(2026, 1, 1)):
    return [hours(d, starts, ends, minutes, valid_from) for d in range(7)]


def local(instant: datetime) -> datetime:
    return instant.astimezone(CHICAGO)


# --- add_months ------------------------------------------------------------------------

@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2026, 1, 30), 1, date(2026, 2, 28)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 5, 31), 1, date(2026, 6, 30)),
    (date(2026, 8, 31), 1, date(2026, 9, 30)),
    (date(2026, 1, 31), 2, date(2026, 3, 31)),
    (date(2026, 1, 31), 3, date(2026, 4, 30)),
])
def test_month_end_is_held_to_the_last_day_of_the_target_month(day, months, expected):
    assert rules.add_months(day, months) == expected


@pytest.mark.parametrize("day, months, expected", [
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2024, 2, 29), 24, date(2026, 2, 28)),
    (date(2023, 2, 28), 12, date(2024, 2, 28)),
])
def test_leap_day_plus_a_year_is_feb_28_unless_the_target_year_is_leap(day, months, expected):
    assert rules.add_months(day, months) == expected


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 12, 31), 1, date(2027, 1, 31)),
    (date(2026, 11, 30), 2, date(2027, 1, 30)),
    (date(2026, 12, 1), 12, date(2027, 12, 1)),
    (date(2026, 12, 1), 13, date(2028, 1, 1)),
    (date(2026, 6, 15), 30, date(2028, 12, 15)),
])
def test_december_rolls_over_into_january_of_the_next_year(day, months, expected):
    assert rules.add_months(day, months) == expected


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 1, 15), -1, date(2025, 12, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2028, 3, 31), -1, date(2028, 2, 29)),
    (date(2026, 3, 8), -12, date(2025, 3, 8)),
    (date(2025, 2, 28), -12, date(2024, 2, 28)),
    (date(2026, 1, 31), -13, date(2024, 12, 31)),
    (date(2026, 5, 31), -3, date(2026, 2, 28)),
    (date(2026, 1, 1), -24, date(2024, 1, 1)),
])
def test_negative_months_go_back_and_hold_to_the_month_end(day, months, expected):
    assert rules.add_months(day, months) == expected


@pytest.mark.parametrize("day", [date(2026, 1, 31), date(2024, 2, 29), date(2026, 12, 31), date(2026, 7, 4)])
def test_zero_months_is_the_same_day(day):
    assert rules.add_months(day, 0) == day


# --- annual_due ------------------------------------------------------------------------

TODAY = date(2026, 3, 8)
HIRED = date(2019, 6, 3)


@pytest.mark.parametrize("last_completed, expected", [
    (date(2025, 9, 1), date(2026, 9, 1)),
    (date(2024, 1, 31), date(2025, 1, 31)),
    (date(2024, 2, 29), date(2025, 2, 28)),
    (date(2026, 3, 8), date(2027, 3, 8)),
])
def test_annual_is_due_one_interval_after_the_last_completed_evaluation(last_completed, expected):
    assert rules.annual_due(last_completed, HIRED, TODAY) == expected


@pytest.mark.parametrize("first_rule", ["hire", "immediately"])
def test_last_completed_evaluation_wins_over_the_first_rule(first_rule):
    assert rules.annual_due(date(2025, 12, 1), HIRED, TODAY, first_rule=first_rule) == date(2026, 12, 1)


def test_leap_day_hire_is_due_on_feb_28_next_year():
    assert rules.annual_due(None, date(2024, 2, 29), date(2024, 3, 1)) == date(2025, 2, 28)


@pytest.mark.parametrize("hire_date, expected", [
    (date(2025, 9, 15), date(2026, 9, 15)),
    (date(2026, 3, 8), date(2027, 3, 8)),
    (date(2026, 4, 1), date(2027, 4, 1)),       # hired in the future: still one interval after hire
    (date(2015, 1, 31), date(2016, 1, 31)),     # long overdue: the date is not moved up to today
])
def test_with_no_evaluation_annual_is_due_one_interval_after_hire(hire_date, expected):
    assert rules.annual_due(None, hire_date, TODAY) == expected
    assert rules.annual_due(None, hire_date, TODAY, first_rule="hire") == expected


@pytest.mark.parametrize("hire_date", [date(2010, 5, 1), date(2025, 9, 15), TODAY])
def test_first_rule_immediately_makes_it_due_today(hire_date):
    assert rules.annual_due(None, hire_date, TODAY, first_rule="immediately") == TODAY


@pytest.mark.parametrize("hire_date", [TODAY + timedelta(days=1), date(2026, 6, 1)])
def test_first_rule_immediately_with_future_hire_is_due_on_the_hire_date(hire_date):
    assert rules.annual_due(None, hire_date, TODAY, first_rule="immediately") == hire_date


@pytest.mark.parametrize("last_completed, interval, expected", [
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2025, 1, 31), 18, date(2026, 7, 31)),
    (date(2025, 3, 8), 24, date(2027, 3, 8)),
    (date(2025, 12, 31), 2, date(2026, 2, 28)),
])
def test_custom_interval_from_the_last_completed_evaluation(last_completed, interval, expected):
    assert rules.annual_due(last_completed, HIRED, TODAY, interval_months=interval) == expected


@pytest.mark.parametrize("hire_date, interval, expected", [
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2025, 3, 8), 24, date(2027, 3, 8)),
])
def test_custom_interval_from_hire(hire_date, interval, expected):
    assert rules.annual_due(None, hire_date, TODAY, interval_months=interval) == expected


def test_default_interval_is_twelve_months():
    assert rules.ANNUAL_INTERVAL_MONTHS == 12
    assert rules.OPEN_WINDOW_DAYS == 60


# --- opens_on / should_open_annual -----------------------------------------------------

DUE = date(2026, 9, 1)  # window opens 60 days earlier: 2026-07-03


def test_window_opens_sixty_days_before_the_due_date():
    assert rules.opens_on(DUE) == date(2026, 7, 3)
    assert rules.opens_on(date(2026, 3, 1)) == date(2025, 12, 31)
    assert rules.opens_on(date(2028, 4, 29)) == date(2028, 2, 29)


@pytest.mark.parametrize("today, opens", [
    (date(2026, 1, 1), False),
    (date(2026, 7, 2), False),   # the day before the window
    (date(2026, 7, 3), True),    # the first day of the window
    (date(2026, 7, 4), True),
    (date(2026, 8, 31), True),
    (DUE, True),
    (date(2026, 12, 1), True),   # already overdue: still opened
])
def test_annual_opens_from_the_first_day_of_its_window(today, opens):
    assert rules.should_open_annual(DUE, today) is opens


@pytest.mark.parametrize("window, today, opens", [
    (30, date(2026, 8, 1), False),
    (30, date(2026, 8, 2), True),
    (0, date(2026, 8, 31), False),
    (0, DUE, True),
    (90, date(2026, 6, 2), False),
    (90, date(2026, 6, 3), True),
])
def test_window_length_is_a_parameter(window, today, opens):
    assert rules.opens_on(DUE, window) == DUE - timedelta(days=window)
    assert rules.should_open_annual(DUE, today, window) is opens


# --- incident_due / merged_due ---------------------------------------------------------

OCCURRED = date(2026, 3, 2)


def test_default_incident_types_have_three_seven_and_fourteen_day_windows():
    assert [window for _, window in rules.DEFAULT_INCIDENT_TYPES] == [3, 7, 14]


@pytest.mark.parametrize("name, window", rules.DEFAULT_INCIDENT_TYPES)
def test_incident_recorded_the_same_day_is_due_within_its_types_window(name, window):
    assert rules.incident_due(OCCURRED, OCCURRED, window) == OCCURRED + timedelta(days=window)


@pytest.mark.parametrize("window, recorded, expected", [
    (3, date(2026, 3, 3), date(2026, 3, 5)),     # recorded late, still inside the window
    (3, date(2026, 3, 5), date(2026, 3, 5)),     # recorded on the last day of the window
    (3, date(2026, 3, 6), date(2026, 3, 6)),     # recorded after the window: due the day recorded
    (7, date(2026, 3, 20), date(2026, 3, 20)),
    (14, date(2026, 3, 15), date(2026, 3, 16)),
    (14, date(2026, 4, 30), date(2026, 4, 30)),
])
def test_incident_is_never_due_before_the_day_it_is_recorded(window, recorded, expected):
    due = rules.incident_due(OCCURRED, recorded, window)
    assert due == expected
    assert due >= recorded


def test_incident_window_crosses_month_and_year_ends():
    assert rules.incident_due(date(2026, 12, 30), date(2026, 12, 30), 3) == date(2027, 1, 2)
    assert rules.incident_due(date(2028, 2, 27), date(2028, 2, 27), 3) == date(2028, 3, 1)


@pytest.mark.parametrize("current, incident, expected", [
    (date(2026, 9, 1), date(2026, 3, 5), date(2026, 3, 5)),    # the incident is sooner
    (date(2026, 3, 4), date(2026, 3, 16), date(2026, 3, 4)),   # the open evaluation is sooner
    (date(2026, 3, 5), date(2026, 3, 5), date(2026, 3, 5)),
])
def test_merged_due_takes_the_earlier_date_either_way(current, incident, expected):
    assert rules.merged_due(current, incident) == expected
    assert rules.merged_due(incident, current) == expected


# --- display_status --------------------------------------------------------------------

D = date(2026, 3, 8)


@pytest.mark.parametrize("status", ["completed", "closed"])
@pytest.mark.parametrize("due_on", [D - timedelta(days=30), D, D + timedelta(days=30)])
@pytest.mark.parametrize("officer_status", ["active", "leave", "separated"])
def test_completed_and_closed_pass_through_whatever_the_date_or_leave(status, due_on, officer_status):
    assert rules.display_status(status, due_on, D, officer_status) == status


@pytest.mark.parametrize("status", ["open", "scheduled"])
@pytest.mark.parametrize("due_on", [D - timedelta(days=200), D - timedelta(days=1), D, D + timedelta(days=1)])
def test_officer_on_leave_shows_paused_even_when_overdue(status, due_on):
    assert rules.display_status(status, due_on, D, "leave") == "paused"


@pytest.mark.parametrize("status", ["open", "scheduled"])
@pytest.mark.parametrize("days_late", [1, 2, 365])
def test_past_due_shows_overdue(status, days_late):
    assert rules.display_status(status, D - timedelta(days=days_late), D, "active") == "overdue"


@pytest.mark.parametrize("status", ["open", "scheduled"])
def test_due_today_is_not_overdue(status):
    assert rules.display_status(status, D, D, "active") == status


@pytest.mark.parametrize("status, due_on", [
    ("open", D + timedelta(days=1)),
    ("open", D + timedelta(days=90)),
    ("scheduled", D + timedelta(days=1)),
    ("scheduled", D + timedelta(days=90)),
])
def test_not_yet_due_keeps_its_stored_status(status, due_on):
    assert rules.display_status(status, due_on, D, "active") == status


# --- resumed_due -----------------------------------------------------------------------

@pytest.mark.parametrize("paused_on, today, expected", [
    (date(2026, 3, 1), date(2026, 3, 1), date(2026, 4, 1)),     # back the same day: unchanged
    (date(2026, 3, 1), date(2026, 3, 2), date(2026, 4, 2)),
    (date(2026, 3, 1), date(2026, 3, 11), date(2026, 4, 11)),
    (date(2026, 1, 1), date(2026, 12, 31), date(2027, 3, 31)),  # 364 days on leave
])
def test_back_from_leave_the_due_date_moves_by_the_days_on_leave(paused_on, today, expected):
    assert rules.resumed_due(date(2026, 4, 1), paused_on, today) == expected


@pytest.mark.parametrize("today", [date(2026, 2, 28), date(2025, 3, 1)])
def test_resumed_due_never_moves_earlier(today):
    assert rules.resumed_due(date(2026, 4, 1), date(2026, 3, 1), today) == date(2026, 4, 1)


# --- is_compliant ----------------------------------------------------------------------

@pytest.mark.parametrize("last_completed, today, compliant", [
    (date(2025, 3, 8), date(2026, 3, 8), True),     # exactly twelve months ago
    (date(2025, 3, 7), date(2026, 3, 8), False),    # a day more
    (date(2025, 3, 9), date(2026, 3, 8), True),
    (date(2026, 3, 8), date(2026, 3, 8), True),     # completed today
    (date(2020, 1, 1), date(2026, 3, 8), False),
    (date(2024, 2, 29), date(2025, 2, 28), True),   # leap day: holds to Feb 28
    (date(2024, 2, 29), date(2025, 3, 1), False),
    (date(2025, 1, 31), date(2026, 1, 31), True),
    (date(2025, 1, 31), date(2026, 2, 1), False),
])
def test_compliant_while_the_last_completed_evaluation_is_within_twelve_months(last_completed, today, compliant):
    assert rules.is_compliant(last_completed, today) is compliant


@pytest.mark.parametrize("today", [date(2026, 3, 8), date(1990, 1, 1)])
def test_no_completed_evaluation_is_not_compliant(today):
    assert rules.is_compliant(None, today) is False


@pytest.mark.parametrize("interval, today, compliant", [
    (6, date(2025, 9, 8), True),
    (6, date(2025, 9, 9), False),
    (24, date(2027, 3, 8), True),
    (24, date(2027, 3, 9), False),
])
def test_compliance_interval_is_a_parameter(interval, today, compliant):
    assert rules.is_compliant(date(2025, 3, 8), today, interval) is compliant


# --- clinicians: bookable / license_warning_due ----------------------------------------

ON = date(2026, 3, 8)


@pytest.mark.parametrize("license_expires, ok", [
    (ON - timedelta(days=365), False),
    (ON - timedelta(days=1), False),   # expired the day before
    (ON, True),                        # expires that very day: still valid
    (ON + timedelta(days=1), True),
    (ON + timedelta(days=900), True),
])
def test_trauma_specialist_is_bookable_while_the_license_is_valid_on_the_day(license_expires, ok):
    assert rules.bookable(True, license_expires, ON) is ok


@pytest.mark.parametrize("license_expires", [ON - timedelta(days=1), ON, ON + timedelta(days=900)])
def test_clinician_without_trauma_specialty_is_never_bookable(license_expires):
    assert not rules.bookable(False, license_expires, ON)


@pytest.mark.parametrize("license_expires, warn", [
    (ON - timedelta(days=30), False),  # long expired
    (ON - timedelta(days=1), False),   # expired yesterday
    (ON, True),                        # expires today
    (ON + timedelta(days=1), True),
    (ON + timedelta(days=29), True),
    (ON + timedelta(days=30), True),   # the last day of the warning period
    (ON + timedelta(days=31), False),  # not yet
    (ON + timedelta(days=365), False),
])
def test_license_warning_in_the_thirty_days_before_expiry(license_expires, warn):
    assert rules.license_warning_due(license_expires, ON) is warn


@pytest.mark.parametrize("days, license_expires, warn", [
    (60, ON + timedelta(days=60), True),
    (60, ON + timedelta(days=61), False),
    (0, ON, True),
    (0, ON + timedelta(days=1), False),
])
def test_license_warning_period_is_a_parameter(days, license_expires, warn):
    assert rules.license_warning_due(license_expires, ON, days) is warn


# --- slots: published hours, blocks, bookings ------------------------------------------

def starts_local(result):
    return [local(s).strftime("%Y-%m-%d %H:%M") for s, _ in result]


@pytest.mark.parametrize("minutes, expected", [
    (60, ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00"]),
    (90, ["09:00", "10:30", "12:00", "13:30"]),
    (45, ["09:00", "09:45", "10:30", "11:15", "12:00", "12:45", "13:30", "14:15"]),
    (120, ["09:00", "11:00", "13:00"]),
    (240, ["09:00"]),
    (360, ["09:00"]),
    (361, []),
])
def test_slot_length_cuts_the_window_and_no_slot_runs_past_its_end(minutes, expected):
    result = rules.slots([hours(MON, "09:00", "15:00", minutes)], MONDAY, MONDAY, CHICAGO)
    assert [local(s).strftime("%H:%M") for s, _ in result] == expected
    assert all(e - s == timedelta(minutes=minutes) for s, e in result)
    assert all(local(e).time() <= time(15, 0) for _, e in result)


def test_slots_are_aware_utc_instants():
    result = rules.slots([hours(MON)], MONDAY, MONDAY, CHICAGO)
    assert result
    for s, e in result:
        assert s.utcoffset() == timedelta(0) and e.utcoffset() == timedelta(0)


@pytest.mark.parametrize("weekday", range(7))
def test_hours_give_slots_only_on_their_weekday(weekday):
    week = [MONDAY + timedelta(days=i) for i in range(7)]
    result = rules.slots([hours(weekday)], week[0], week[-1], CHICAGO)
    assert len(result) == 6
    assert {local(s).date() for s, _ in result} == {week[weekday]}
    assert {local(s).weekday() for s, _ in result} == {weekday}


def test_two_weeks_of_monday_hours_give_two_mondays():
    result = rules.slots([hours(MON)], MONDAY, MONDAY + timedelta(days=13), CHICAGO)
    assert {local(s).date() for s, _ in result} == {MONDAY, MONDAY + timedelta(days=7)}


@pytest.mark.parametrize("valid_from, expected_days", [
    (MONDAY - timedelta(days=7), {MONDAY, MONDAY + timedelta(days=7)}),
    (MONDAY, {MONDAY, MONDAY + timedelta(days=7)}),                      # valid from that very day
    (MONDAY + timedelta(days=1), {MONDAY + timedelta(days=7)}),          # the day before it is valid
    (MONDAY + timedelta(days=8), set()),
])
def test_hours_give_no_slots_before_valid_from(valid_from, expected_days):
    result = rules.slots([hours(MON, valid_from=valid_from)], MONDAY, MONDAY + timedelta(days=13), CHICAGO)
    assert {local(s).date() for s, _ in result} == expected_days


@pytest.mark.parametrize("valid_until, expected_days", [
    (None, {MONDAY, MONDAY + timedelta(days=7)}),                  # open-ended
    (MONDAY + timedelta(days=7), {MONDAY, MONDAY + timedelta(days=7)}),  # valid through that day
    (MONDAY + timedelta(days=6), {MONDAY}),                        # ended the day before
    (MONDAY, {MONDAY}),
])
def test_hours_give_no_slots_after_valid_until(valid_until, expected_days):
    h = hours(MON, valid_from=date(2026, 1, 1), valid_until=valid_until)
    result = rules.slots([h], MONDAY, MONDAY + timedelta(days=13), CHICAGO)
    assert {local(s).date() for s, _ in result} == expected_days


def test_replaced_hours_switch_over_on_the_change_day():
    old = hours(MON, "09:00", "12:00", valid_until=MONDAY + timedelta(days=6))
    new = hours(MON, "13:00", "15:00", valid_from=MONDAY + timedelta(days=7))
    result = rules.slots([old, new], MONDAY, MONDAY + timedelta(days=7), CHICAGO)
    assert starts_local(result) == ["2026-07-13 09:00", "2026-07-13 10:00", "2026-07-13 11:00",
                                    "2026-07-20 13:00", "2026-07-20 14:00"]


def test_blocked_days_give_no_slots_and_other_days_are_untouched():
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    result = rules.slots(every_day(), MONDAY, wednesday, CHICAGO, blocked_days={tuesday})
    days = [local(s).date() for s, _ in result]
    assert tuesday not in days
    assert days.count(MONDAY) == 6 and days.count(wednesday) == 6


def test_every_day_blocked_gives_nothing():
    days = {MONDAY + timedelta(days=i) for i in range(7)}
    assert rules.slots(every_day(), MONDAY, MONDAY + timedelta(days=6), CHICAGO, blocked_days=days) == []


def test_booked_slots_are_removed_and_only_those():
    everything = rules.slots([hours(MON)], MONDAY, MONDAY, CHICAGO)
    starts = {utc(2026, 7, 13, 15), utc(2026, 7, 13, 18)}  # 10:00 and 13:00 CDT
    booked = [(s, s + timedelta(hours=1)) for s in starts]
    result = rules.slots([hours(MON)], MONDAY, MONDAY, CHICAGO, booked=booked)
    assert [s for s, _ in result] == [s for s, _ in everything if s not in starts]
    assert [local(s).strftime("%H:%M") for s, _ in result] == ["09:00", "11:00", "12:00", "14:00"]


def test_booked_start_given_in_local_time_is_the_same_instant():
    start = datetime(2026, 7, 13, 10, tzinfo=CHICAGO)
    result = rules.slots([hours(MON)], MONDAY, MONDAY, CHICAGO, booked=[(start, start + timedelta(hours=1))])
    assert utc(2026, 7, 13, 15) not in [s for s, _ in result]
    assert len(result) == 5


def test_booking_off_the_grid_removes_every_slot_it_overlaps():
    start = utc(2026, 7, 13, 15, 30)  # 10:30-11:30 CDT overlaps the 10:00 and 11:00 slots
    result = rules.slots([hours(MON)], MONDAY, MONDAY, CHICAGO, booked=[(start, start + timedelta(hours=1))])
    assert [local(s).strftime("%H:%M") for s, _ in result] == ["09:00", "12:00", "13:00", "14:00"]


def test_overlapping_published_hours_never_offer_overlapping_slots():
    result = rules.slots([hours(MON), hours(MON, "09:30", "12:30", 60)], MONDAY, MONDAY, CHICAGO)
    assert all(end <= nxt for (_, end), (nxt, _) in zip(result, result[1:]))


@pytest.mark.parametrize("not_before, first", [
    (None, "09:00"),
    (utc(2026, 7, 13, 13, 59), "09:00"),
    (utc(2026, 7, 13, 14, 0), "09:00"),       # a slot starting exactly now is kept
    (utc(2026, 7, 13, 14, 0, 1), "10:00"),    # one second later it has begun
    (utc(2026, 7, 13, 17, 30), "13:00"),
    (utc(2026, 7, 13, 19, 0), "14:00"),
])
def test_not_before_removes_slots_that_have_begun(not_before, first):
    result = rules.slots([hours(MON)], MONDAY, MONDAY, CHICAGO, not_before=not_before)
    assert local(result[0][0]).strftime("%H:%M") == first
    assert all(not_before is None or s >= not_before for s, _ in result)


def test_not_before_after_the_last_slot_leaves_nothing():
    assert rules.slots([hours(MON)], MONDAY, MONDAY, CHICAGO, not_before=utc(2026, 7, 13, 19, 0, 1)) == []


def test_no_days_in_range_gives_no_slots():
    assert rules.slots(every_day(), MONDAY, MONDAY - timedelta(days=1), CHICAGO) == []
    assert rules.slots([], MONDAY, MONDAY + timedelta(days=6), CHICAGO) == []


def test_slots_are_sorted_whatever_the_order_of_the_hours():
    afternoon = [hours(d, "13:00", "15:00") for d in range(7)]
    morning = [hours(d, "08:00", "10:00", 30) for d in range(7)]
    result = rules.slots(afternoon + morning, MONDAY, MONDAY + timedelta(days=2), CHICAGO)
    assert result == sorted(result)
    assert len(result) == 3 * (2 + 4)
    assert starts_local(result)[:7] == ["2026-07-13 08:00", "2026-07-13 08:30", "2026-07-13 09:00",
                                        "2026-07-13 09:30", "2026-07-13 13:00", "2026-07-13 14:00",
                                        "2026-07-14 08:00"]


# --- slots across daylight saving time (America/Chicago) -------------------------------

# 2026: clocks spring forward on Sunday 8 March (02:00 CST -> 03:00 CDT) and fall back
# on Sunday 1 November (02:00 CDT -> 01:00 CST).
@pytest.mark.parametrize("day, utc_hour", [
    (date(2026, 3, 1), 16),    # Sunday a week before: CST
    (date(2026, 3, 2), 16),    # Monday a week before: CST
    (date(2026, 3, 7), 16),    # Saturday right before: CST
    (date(2026, 3, 8), 15),    # the change day, after 02:00: CDT
    (date(2026, 3, 9), 15),    # Monday right after: CDT
    (date(2026, 3, 15), 15),
    (date(2026, 10, 25), 15),  # Sunday a week before: CDT
    (date(2026, 10, 26), 15),  # Monday a week before: CDT
    (date(2026, 10, 31), 15),  # Saturday right before: CDT
    (date(2026, 11, 1), 16),   # the change day, after 02:00: CST
    (date(2026, 11, 2), 16),   # Monday right after: CST
    (date(2026, 11, 8), 16),
])
def test_ten_o_clock_slot_is_ten_local_on_both_sides_of_a_clock_change(day, utc_hour):
    result = rules.slots([hours(day.weekday(), "10:00", "11:00")], day, day, CHICAGO)
    assert len(result) == 1
    start, end = result[0]
    assert start == utc(day.year, day.month, day.day, utc_hour)
    assert local(start).date() == day and local(start).time() == time(10, 0)
    assert local(end).time() == time(11, 0)


@pytest.mark.parametrize("day, utc_hour", [(date(2026, 7, 14), 15), (date(2026, 12, 15), 16)])
def test_ten_o_clock_in_july_and_december_is_15z_and_16z(day, utc_hour):
    (start, end), = rules.slots([hours(day.weekday(), "10:00", "11:00")], day, day, CHICAGO)
    assert start == utc(day.year, day.month, day.day, utc_hour)
    assert end == start + timedelta(hours=1)


def test_a_week_of_ten_o_clock_slots_across_spring_forward_stays_at_ten_local():
    result = rules.slots(every_day("10:00", "11:00"), date(2026, 3, 5), date(2026, 3, 11), CHICAGO)
    assert [local(s).strftime("%d %H:%M") for s, _ in result] == [
        f"{d:02d} 10:00" for d in range(5, 12)]
    assert [s.hour for s, _ in result] == [16, 16, 16, 15, 15, 15, 15]


def test_a_week_of_ten_o_clock_slots_across_fall_back_stays_at_ten_local():
    result = rules.slots(every_day("10:00", "11:00"), date(2026, 10, 29), date(2026, 11, 4), CHICAGO)
    assert [local(s).strftime("%m-%d %H:%M") for s, _ in result] == [
        "10-29 10:00", "10-30 10:00", "10-31 10:00", "11-01 10:00", "11-02 10:00", "11-03 10:00", "11-04 10:00"]
    assert [s.hour for s, _ in result] == [15, 15, 15, 16, 16, 16, 16]


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 11, 1)])
def test_slots_last_sixty_real_minutes_on_the_change_day(day):
    result = rules.slots([hours(SUN, "00:00", "06:00")], day, day, CHICAGO)
    assert result
    assert all(e - s == timedelta(minutes=60) for s, e in result)
    assert all((e.timestamp() - s.timestamp()) == 3600 for s, e in result)


def test_spring_forward_day_skips_the_missing_hour():
    result = rules.slots([hours(SUN, "00:00", "06:00")], date(2026, 3, 8), date(2026, 3, 8), CHICAGO)
    assert [local(s).strftime("%H:%M %Z") for s, _ in result] == [
        "00:00 CST", "01:00 CST", "03:00 CDT", "04:00 CDT", "05:00 CDT"]
    assert [s for s, _ in result] == [utc(2026, 3, 8, h) for h in (6, 7, 8, 9, 10)]


def test_two_to_four_window_on_spring_forward_night_has_no_two_o_clock_slot():
    result = rules.slots([hours(SUN, "02:00", "04:00")], date(2026, 3, 8), date(2026, 3, 8), CHICAGO)
    assert result == [(utc(2026, 3, 8, 8), utc(2026, 3, 8, 9))]     # 03:00 CDT only
    assert local(result[0][0]).strftime("%H:%M %Z") == "03:00 CDT"


@pytest.mark.parametrize("at, exists", [
    (time(1, 59), True), (time(2, 0), False), (time(2, 30), False), (time(2, 59), False), (time(3, 0), True),
])
def test_wall_clock_times_skipped_by_spring_forward_do_not_exist(at, exists):
    assert rules.exists_locally(date(2026, 3, 8), at, CHICAGO) is exists
    assert rules.exists_locally(date(2026, 3, 9), at, CHICAGO) is True


@pytest.mark.parametrize("at", [time(0, 30), time(1, 0), time(1, 30), time(2, 0)])
def test_repeated_fall_back_hour_exists(at):
    assert rules.exists_locally(date(2026, 11, 1), at, CHICAGO)


def test_one_o_clock_slot_on_fall_back_night_is_the_first_daylight_time_instance():
    result = rules.slots([hours(SUN, "01:00", "02:00")], date(2026, 11, 1), date(2026, 11, 1), CHICAGO)
    assert result == [(utc(2026, 11, 1, 6), utc(2026, 11, 1, 7))]   # 01:00 CDT = UTC-5
    start = local(result[0][0])
    assert start.utcoffset() == timedelta(hours=-5) and start.tzname() == "CDT"


def test_fall_back_day_offers_each_wall_clock_hour_once():
    result = rules.slots([hours(SUN, "00:00", "04:00")], date(2026, 11, 1), date(2026, 11, 1), CHICAGO)
    assert [local(s).strftime("%H:%M %Z") for s, _ in result] == ["00:00 CDT", "01:00 CDT", "02:00 CST", "03:00 CST"]
    assert [s for s, _ in result] == [utc(2026, 11, 1, h) for h in (5, 6, 8, 9)]


@pytest.mark.parametrize("day, at, expected", [
    (date(2026, 7, 14), time(10), utc(2026, 7, 14, 15)),
    (date(2026, 12, 15), time(10), utc(2026, 12, 15, 16)),
    (date(2026, 11, 1), time(1), utc(2026, 11, 1, 6)),
    (date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 6, 30)),
    (date(2026, 3, 8), time(1, 59), utc(2026, 3, 8, 7, 59)),
    (date(2026, 3, 8), time(3), utc(2026, 3, 8, 8)),
])
def test_local_to_utc(day, at, expected):
    assert rules.local_to_utc(day, at, CHICAGO) == expected


def test_free_slots_never_overlap_in_real_time_across_spring_forward():
    result = rules.slots([hours(SUN, "00:00", "04:30", 90)], date(2026, 3, 8), date(2026, 3, 8), CHICAGO)
    assert all(end <= nxt for (_, end), (nxt, _) in zip(result, result[1:]))


# --- dates at the calendar's ends (a bad roster value must not crash a page or the sweep) --

@pytest.mark.parametrize("day, months, expected", [
    (date(9999, 12, 31), 12, date.max),
    (date(9999, 6, 15), 12, date.max),
    (date(9999, 1, 31), 11, date(9999, 12, 31)),
    (date(1, 1, 1), -1, date.min),
    (date(1, 12, 31), -11, date(1, 1, 31)),
])
def test_months_past_the_calendars_ends_are_held_to_them(day, months, expected):
    assert rules.add_months(day, months) == expected


def test_a_hire_date_of_9999_12_31_is_due_on_the_last_day_of_the_calendar():
    assert rules.annual_due(None, date(9999, 12, 31), date(2026, 3, 2)) == date.max


@given(hire=st.dates(), last=st.none() | st.dates(), today=st.dates(), interval=st.integers(1, 36),
       window=st.integers(0, 365), first_rule=st.sampled_from(rules.FIRST_RULES))
def test_due_dates_and_windows_never_raise_for_any_date(hire, last, today, interval, window, first_rule):
    due = rules.annual_due(last, hire, today, interval, first_rule)
    assert isinstance(rules.should_open_annual(due, today, window), bool)
    assert rules.resumed_due(due, today, date.max) >= due
    assert rules.incident_due(hire, today, window) >= today
    assert rules.is_compliant(last, today, interval) in (True, False)
    rules.reminder_schedule(due, None, CHICAGO)
    rules.reminder_schedule(due, None, ZoneInfo("Asia/Tokyo"))


def test_an_item_needing_attention_is_the_state_before_overdue_but_not_before_leave():
    today = date(2026, 3, 2)
    overdue = today - timedelta(days=3)
    assert rules.dashboard_state("open", overdue, today, "active", None) == "overdue"
    assert rules.dashboard_state("open", overdue, today, "active", None, attention="no_show") == "no_show"
    assert rules.dashboard_state("scheduled", today, today, "active", "confirmed", attention="deadline_moved") \
        == "deadline_moved"
    assert rules.dashboard_state("open", overdue, today, "leave", None, attention="no_show") == "paused"
