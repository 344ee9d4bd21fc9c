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
