"""The department's local time: its zone (BEACON_TIMEZONE) and today's date there.

Dates a person reads or types (due dates, a cycle's close date, an incident's day) are
the department's dates, not UTC ones: near midnight the two differ."""
from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app

from core import clock


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BEACON_TIMEZONE"])


def today() -> date:
    """Today's date in the department's time zone (follows a frozen clock)."""
    return clock.today(zone())
