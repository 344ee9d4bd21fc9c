"""Calendar invitations (.ics) for appointments, parsed back with icalendar.

No database and no Flask app: appointment_ics() takes plain values.
"""
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from wellness.services.calendar import appointment_ics

CHICAGO = ZoneInfo("America/Chicago")
UTC = timezone.utc
JULY = datetime(2026, 7, 14, 15, 0, tzinfo=UTC)       # 10:00 CDT
DECEMBER = datetime(2026, 12, 15, 16, 0, tzinfo=UTC)  # 10:00 CST
ATTENDEES = [("Jane Doe", "jane.doe@pd.example.gov"), ("Dr. Sam Rivera", "s.rivera@clinic.example.com")]
SENSITIVE = ("mental", "health", "incident", "evaluation", "trauma", "counsel", "psych", "therap", "shooting")


def ics(**overrides) -> str:
    values = dict(uid="7f3c9a1e-appointment@beacon.test", sequence=0, starts_at=JULY, ends_at=JULY + timedelta(hours=1),
                  zone=CHICAGO, summary="Appointment", location="Suite 200, 15 Elm Street",
                  description="Your appointment. Reply to this message if you need another time.",
                  organizer="hr@pd.example.gov", attendees=ATTENDEES,
                  stamp=datetime(2026, 7, 1, 12, 0, tzinfo=UTC), cancelled=False)
    values.update(overrides)
    return appointment_ics(**values)


def parse(text: str):
    calendar = Calendar.from_ical(text)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def addresses(event, name) -> list[str]:
    value = event.get(name)
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v is not None]


# --- REQUEST vs CANCEL -----------------------------------------------------------------

def test_invitation_is_a_request_with_a_confirmed_event():
    calendar, event = parse(ics())
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_cancellation_is_a_cancel_with_a_cancelled_event():
    text = ics(cancelled=True, sequence=3)
    calendar, event = parse(text)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert "METHOD:CANCEL" in text.splitlines()
    assert "METHOD:REQUEST" not in text


@pytest.mark.parametrize("cancelled", [False, True])
def test_calendar_has_version_and_product(cancelled):
    calendar, _ = parse(ics(cancelled=cancelled))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//Beacon//Appointments//EN"


def test_output_uses_crlf_line_endings():
    text = ics()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.rstrip("\r\n").endswith("END:VCALENDAR")
    assert "\n" not in text.replace("\r\n", "")


# --- UID and SEQUENCE ------------------------------------------------------------------

@pytest.mark.parametrize("uid", ["7f3c9a1e-appointment@beacon.test", "appt-42@beacon.example.gov"])
@pytest.mark.parametrize("sequence", [0, 1, 7, 120])
@pytest.mark.parametrize("cancelled", [False, True])
def test_uid_and_sequence_are_carried(uid, sequence, cancelled):
    _, event = parse(ics(uid=uid, sequence=sequence, cancelled=cancelled))
    assert str(event["UID"]) == uid
    assert event.decoded("SEQUENCE") == sequence


def test_request_and_cancel_of_one_booking_share_its_uid():
    _, request = parse(ics(sequence=1))
    _, cancel = parse(ics(sequence=2, cancelled=True))
    assert str(request["UID"]) == str(cancel["UID"])
    assert cancel.decoded("SEQUENCE") > request.decoded("SEQUENCE")


def test_dtstamp_is_the_given_stamp_in_utc():
    text = ics(stamp=datetime(2026, 7, 1, 12, 30, tzinfo=UTC))
    _, event = parse(text)
    assert event.decoded("DTSTAMP") == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert "DTSTAMP:20260701T123000Z" in text


# --- times in the department's zone ----------------------------------------------------

@pytest.mark.parametrize("starts_at, raw", [
    (JULY, "DTSTART;TZID=America/Chicago:20260714T100000"),
    (DECEMBER, "DTSTART;TZID=America/Chicago:20261215T100000"),
])
def test_dtstart_is_ten_local_in_chicago_in_july_and_december(starts_at, raw):
    text = ics(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    _, event = parse(text)
    start = event.decoded("DTSTART")
    assert event["DTSTART"].params["TZID"] == "America/Chicago"
    assert start.tzinfo is not None
    assert start.astimezone(CHICAGO).hour == 10 and start.astimezone(CHICAGO).minute == 0
    assert start == starts_at                      # the same instant
    assert raw in text.splitlines()


@pytest.mark.parametrize("starts_at, raw_end", [
    (JULY, "DTEND;TZID=America/Chicago:20260714T110000"),
    (DECEMBER, "DTEND;TZID=America/Chicago:20261215T110000"),
])
def test_dtend_is_eleven_local_in_chicago(starts_at, raw_end):
    text = ics(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    _, event = parse(text)
    end = event.decoded("DTEND")
    assert event["DTEND"].params["TZID"] == "America/Chicago"
    assert end.astimezone(CHICAGO).hour == 11
    assert end == starts_at + timedelta(hours=1)
    assert raw_end in text.splitlines()


@pytest.mark.parametrize("starts_at, local_text", [
    (datetime(2026, 3, 6, 16, tzinfo=UTC), "20260306T100000"),   # Friday before spring forward, CST
    (datetime(2026, 3, 9, 15, tzinfo=UTC), "20260309T100000"),   # Monday after, CDT
    (datetime(2026, 10, 30, 15, tzinfo=UTC), "20261030T100000"),  # Friday before fall back, CDT
    (datetime(2026, 11, 2, 16, tzinfo=UTC), "20261102T100000"),  # Monday after, CST
    (datetime(2026, 11, 1, 6, tzinfo=UTC), "20261101T010000"),   # 01:00 CDT, the first of the two
])
def test_dtstart_is_local_wall_clock_around_clock_changes(starts_at, local_text):
    text = ics(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    _, event = parse(text)
    assert f"DTSTART;TZID=America/Chicago:{local_text}" in text.splitlines()
    # Compare in UTC: Python never calls an ambiguous (fold) wall time equal across zones.
    assert event.decoded("DTSTART").astimezone(UTC) == starts_at


def test_start_given_in_another_zone_is_written_in_the_departments_zone():
    starts_at = datetime(2026, 7, 14, 11, 0, tzinfo=ZoneInfo("America/New_York"))
    text = ics(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    assert "DTSTART;TZID=America/Chicago:20260714T100000" in text.splitlines()


@pytest.mark.parametrize("starts_at", [JULY, DECEMBER])
def test_vtimezone_for_chicago_is_included_once(starts_at):
    calendar, _ = parse(ics(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1)))
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["America/Chicago"]
    names = {str(sub["TZNAME"]) for sub in zones[0].subcomponents}
    assert {"CST", "CDT"} <= names


def test_parsed_calendar_round_trips_to_the_same_instants():
    calendar, _ = parse(ics(starts_at=DECEMBER, ends_at=DECEMBER + timedelta(minutes=90)))
    _, event_again = parse(calendar.to_ical().decode())
    assert event_again.decoded("DTSTART") == DECEMBER
    assert event_again.decoded("DTEND") - event_again.decoded("DTSTART") == timedelta(minutes=90)


# --- people ----------------------------------------------------------------------------

@pytest.mark.parametrize("cancelled", [False, True])
def test_attendees_are_mailto_addresses(cancelled):
    _, event = parse(ics(cancelled=cancelled))
    assert addresses(event, "ATTENDEE") == [f"mailto:{email}" for _, email in ATTENDEES]


def test_attendees_carry_their_names_and_are_required():
    _, event = parse(ics())
    attendees = event["ATTENDEE"]
    assert [a.params["CN"] for a in attendees] == [name for name, _ in ATTENDEES]
    assert {a.params["ROLE"] for a in attendees} == {"REQ-PARTICIPANT"}


def test_single_attendee_is_a_mailto_address():
    _, event = parse(ics(attendees=[("Jane Doe", "jane.doe@pd.example.gov")]))
    assert addresses(event, "ATTENDEE") == ["mailto:jane.doe@pd.example.gov"]


def test_attendee_name_with_comma_and_quotes_survives():
    _, event = parse(ics(attendees=[('Doe, Jane "JD"', "jane.doe@pd.example.gov")]))
    assert event["ATTENDEE"].params["CN"] == 'Doe, Jane "JD"'


def test_organizer_is_a_mailto_address_named_beacon():
    _, event = parse(ics(organizer="hr@pd.example.gov"))
    assert str(event["ORGANIZER"]) == "mailto:hr@pd.example.gov"
    assert event["ORGANIZER"].params["CN"] == "Beacon"


# --- words -----------------------------------------------------------------------------

def test_summary_location_and_description_are_written_as_given():
    _, event = parse(ics(summary="Appointment; with, punctuation", location="Room 3",
                         description="Line one\nLine two, with a comma"))
    assert str(event["SUMMARY"]) == "Appointment; with, punctuation"
    assert str(event["LOCATION"]) == "Room 3"
    assert str(event["DESCRIPTION"]) == "Line one\nLine two, with a comma"


def test_no_location_line_when_location_is_empty():
    text = ics(location="")
    _, event = parse(text)
    assert "LOCATION" not in event
    assert not any(line.startswith("LOCATION") for line in text.splitlines())


@pytest.mark.parametrize("summary, description", [
    ("Appointment", "Your appointment. Reply to this message if you need another time."),
    ("Appointment with Dr. Sam Rivera", "Please arrive ten minutes early."),
    ("Appointment", ""),
])
@pytest.mark.parametrize("cancelled", [False, True])
@pytest.mark.parametrize("starts_at", [JULY, DECEMBER])
def test_invitation_adds_no_sensitive_words_to_a_neutral_text(summary, description, cancelled, starts_at):
    text = ics(summary=summary, description=description, cancelled=cancelled, starts_at=starts_at,
               ends_at=starts_at + timedelta(hours=1))
    unfolded = re.sub(r"\r\n[ \t]", "", text).lower()
    found = [word for word in SENSITIVE if word in unfolded]
    assert found == []
