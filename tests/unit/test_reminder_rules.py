"""Reminder rules: which reminder is due now, including after downtime and across
daylight-saving changes."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from wellness import rules

DUE = date(2026, 4, 30)
CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize("days_left, lead", [
    (45, None), (31, None), (30, 30), (29, 30), (15, 30), (14, 14), (10, 14), (8, 14), (7, 7), (1, 7), (0, 7),
    (-1, None), (-30, None),
])
def test_coming_due_reminder_is_the_nearest_lead_not_yet_passed(days_left, lead):
    assert rules.coming_due_lead(DUE, DUE - timedelta(days=days_left)) == lead


def test_coming_due_leads_are_settings():
    assert rules.coming_due_lead(DUE, DUE - timedelta(days=40), leads=(60, 21)) == 60
    assert rules.coming_due_lead(DUE, DUE - timedelta(days=20), leads=(60, 21)) == 21


START = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("hours_left, lead", [
    (100, None), (72.01, None), (72, 72), (50, 72), (24.5, 72), (24, 24), (10, 24), (0.1, 24), (0, None), (-1, None),
])
def test_appointment_reminder_after_downtime_is_the_one_that_still_makes_sense(hours_left, lead):
    assert rules.appointment_lead(START, START - timedelta(hours=hours_left)) == lead


def test_24_hours_before_is_24_real_hours_across_the_spring_change():
    # 10:00 CDT on Sunday 8 March 2026; the clocks went forward at 02:00 that night.
    starts = datetime(2026, 3, 8, 10, 0, tzinfo=CHICAGO).astimezone(timezone.utc)
    twenty_four_real = starts - timedelta(hours=24)
    assert twenty_four_real.astimezone(CHICAGO).hour == 9       # 09:00 CST the day before, not 10:00
    assert rules.appointment_lead(starts, twenty_four_real) == 24
    assert rules.appointment_lead(starts, twenty_four_real - timedelta(minutes=1)) == 72
    wall_clock_day_before = datetime(2026, 3, 7, 10, 0, tzinfo=CHICAGO).astimezone(timezone.utc)
    assert rules.appointment_lead(starts, wall_clock_day_before) == 24  # only 23 real hours before


def test_24_hours_before_is_24_real_hours_across_the_fall_change():
    # 10:00 CST on Sunday 1 November 2026; the clocks went back at 02:00 that night.
    starts = datetime(2026, 11, 1, 10, 0, tzinfo=CHICAGO).astimezone(timezone.utc)
    twenty_four_real = starts - timedelta(hours=24)
    assert twenty_four_real.astimezone(CHICAGO).hour == 11
    assert rules.appointment_lead(starts, twenty_four_real) == 24
    assert rules.appointment_lead(starts, twenty_four_real - timedelta(minutes=1)) == 72


@pytest.mark.parametrize("booked_hours_ahead, hours_left, lead", [
    (120, 72, 72), (120, 30, 72), (120, 24, 24),      # booked 5 days ahead: both
    (72, 72, 72), (72, 50, 72),                         # booked exactly at the 72-hour point: it existed then
    (71.9, 71.9, None), (30, 30, None), (30, 25, None),  # booked inside 72 hours: no "72 hours before"
    (30, 24, 24), (30, 3, 24),                          # ... but the 24-hour one
    (24, 24, 24), (10, 10, 24), (1 / 6, 1 / 6, 24),     # inside 24 hours: the shortest is always due
    (1 / 6, 0, None),                                   # not once it has begun
])
def test_a_reminder_never_promises_a_lead_the_booking_did_not_have(booked_hours_ahead, hours_left, lead):
    booked_at = START - timedelta(hours=booked_hours_ahead)
    assert rules.appointment_lead(START, START - timedelta(hours=hours_left), booked_at) == lead


def test_a_booking_ten_minutes_ahead_gets_exactly_one_reminder_moment():
    booked_at = START - timedelta(minutes=10)
    leads = {rules.appointment_lead(START, booked_at + timedelta(minutes=m), booked_at) for m in range(0, 11)}
    assert leads == {24, None}  # 24 until it begins; the sweep's key makes it one message


def test_a_booking_30_hours_ahead_hears_only_the_24_hour_reminder():
    booked_at = START - timedelta(hours=30)
    hourly = [rules.appointment_lead(START, booked_at + timedelta(hours=h), booked_at) for h in range(0, 31)]
    assert set(hourly) == {None, 24} and hourly[:6] == [None] * 6 and hourly[6] == 24


def test_a_moved_appointment_counts_its_lead_from_the_move():
    # Booked a month ago for 5 days ahead, then moved to 40 hours ahead: booked_at is the move.
    moved_at = START - timedelta(hours=40)
    assert rules.appointment_lead(START, START - timedelta(hours=39), moved_at) is None
    assert rules.appointment_lead(START, START - timedelta(hours=20), moved_at) == 24


def test_lead_rules_with_other_leads():
    booked_at = START - timedelta(hours=60)
    assert rules.appointment_lead(START, START - timedelta(hours=55), booked_at, leads=(96, 48, 2)) is None
    assert rules.appointment_lead(START, START - timedelta(hours=47), booked_at, leads=(96, 48, 2)) == 48
    assert rules.appointment_lead(START, START - timedelta(hours=90), START - timedelta(hours=100),
                                  leads=(96, 48, 2)) == 96
    assert rules.appointment_lead(START, START - timedelta(hours=1), START - timedelta(hours=1), leads=(96, 48, 2)) == 2


# 10:00 CST on Tuesday 3 March 2026 is 16:00 UTC.
TUESDAY_10 = datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("now_local, words, short", [
    (datetime(2026, 3, 3, 0, 0), "today at 10:00 CST", "today at 10:00 CST"),
    (datetime(2026, 3, 3, 9, 50), "today at 10:00 CST", "today at 10:00 CST"),
    (datetime(2026, 3, 2, 23, 59), "tomorrow at 10:00 CST", "tomorrow at 10:00 CST"),
    (datetime(2026, 3, 2, 0, 0), "tomorrow at 10:00 CST", "tomorrow at 10:00 CST"),
    (datetime(2026, 3, 1, 23, 59), "on Tuesday 03 March at 10:00 CST", "on Tue 3 March at 10:00 CST"),
    (datetime(2026, 2, 27, 10, 0), "on Tuesday 03 March at 10:00 CST", "on Tue 3 March at 10:00 CST"),
])
def test_a_reminder_names_the_local_day_not_a_lead_time(now_local, words, short):
    now = now_local.replace(tzinfo=CHICAGO).astimezone(timezone.utc)
    assert rules.appointment_when(TUESDAY_10, CHICAGO, now) == words
    assert rules.appointment_when(TUESDAY_10, CHICAGO, now, short=True) == short
    assert "hours" not in words


def test_today_and_tomorrow_are_the_departments_days_not_utc_days():
    # 20:00 CST on Monday is 02:00 UTC on Tuesday: the appointment is still "tomorrow".
    monday_evening = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)
    assert rules.appointment_when(TUESDAY_10, CHICAGO, monday_evening) == "tomorrow at 10:00 CST"
    assert rules.appointment_when(TUESDAY_10, ZoneInfo("UTC"), monday_evening) == "today at 16:00 UTC"


def test_without_now_the_date_is_always_named():
    assert rules.appointment_when(TUESDAY_10, CHICAGO) == "on Tuesday 03 March at 10:00 CST"
    assert rules.appointment_when(TUESDAY_10, CHICAGO, short=True) == "on Tue 3 March at 10:00 CST"


@pytest.mark.parametrize("hours_waited, who", [
    (47, []), (48, ["clinician"]), (95, ["clinician"]), (96, ["clinician", "hr"]), (200, ["clinician", "hr"]),
])
def test_unconfirmed_booking_reminds_the_clinician_then_hr(hours_waited, who):
    booked = START - timedelta(days=20)
    assert rules.unconfirmed_audiences(booked, START, booked + timedelta(hours=hours_waited)) == who


def test_no_unconfirmed_reminder_once_the_appointment_time_has_come():
    assert rules.unconfirmed_audiences(START - timedelta(days=5), START, START) == []


def test_reminder_schedule_for_a_persons_page():
    plan = rules.reminder_schedule(date(2026, 4, 30), None, CHICAGO)
    assert [what for _, what in plan] == ["30 days before the due date", "14 days before the due date",
                                          "7 days before the due date"]
    assert plan[0][0] == datetime(2026, 3, 31, 0, 0, tzinfo=CHICAGO)
    appointment = rules.reminder_schedule(None, START, CHICAGO)
    assert [when for when, _ in appointment] == [START - timedelta(hours=72), START - timedelta(hours=24)]
