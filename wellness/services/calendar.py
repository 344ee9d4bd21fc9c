"""Calendar invitations (.ics) for appointments: one UID per booking, SEQUENCE up on each
change, METHOD:CANCEL when called off, times in the department's zone with its VTIMEZONE.
The same event is offered as a download (METHOD:PUBLISH, no attendees) on the pages that
show the appointment; every copy is titled for its reader (`summary_for`)."""
from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText


def summary_for(reader: str, *, officer_rank: str, officer_name: str, clinician_name: str) -> str:
    """The event's title as its reader sees it: the officer sees whom they are seeing, the
    clinician whom they are evaluating, HR both. Nothing about why."""
    if reader == "officer":
        return f"Appointment with {clinician_name}"
    officer = f"{officer_rank} {officer_name}".strip()
    if reader == "clinician":
        return f"Evaluation: {officer}"
    if reader == "hr":
        return f"Evaluation: {officer} with {clinician_name}"
    raise ValueError(f"unknown reader {reader!r}")


def appointment_ics(*, uid: str, sequence: int, starts_at: datetime, ends_at: datetime, zone, summary: str,
                    location: str, description: str, organizer: str, attendees: list[tuple[str, str]],
                    stamp: datetime, cancelled: bool = False, confirmed: bool = True, method: str = "") -> str:
    """`method` is REQUEST or CANCEL (as `cancelled`) unless given: PUBLISH for a download."""
    cal = Calendar()
    cal.add("prodid", "-//Beacon//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("method", method or ("CANCEL" if cancelled else "REQUEST"))
    cal.add_component(appointment_event(
        uid=uid, sequence=sequence, starts_at=starts_at, ends_at=ends_at, zone=zone, summary=summary,
        location=location, description=description, organizer=organizer, attendees=attendees, stamp=stamp,
        cancelled=cancelled, confirmed=confirmed))
    cal.add_missing_timezones()
    return cal.to_ical().decode("utf-8")


def appointment_event(*, uid: str, sequence: int, starts_at: datetime, ends_at: datetime, zone, summary: str,
                      location: str, description: str, organizer: str, attendees: list[tuple[str, str]],
                      stamp: datetime, cancelled: bool = False, confirmed: bool = True) -> Event:
    """One appointment's VEVENT: in an invitation or download (`appointment_ics`) or in a
    person's calendar feed (`feed_calendar`)."""
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", starts_at.astimezone(zone))
    event.add("dtend", ends_at.astimezone(zone))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else ("CONFIRMED" if confirmed else "TENTATIVE"))
    event.add("class", "PRIVATE")  # calendars shared with others show it as busy, nothing more
    organizer_address = vCalAddress(f"mailto:{organizer}")
    organizer_address.params["cn"] = vText("Beacon")
    event.add("organizer", organizer_address)
    for name, email in attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    return event


def feed_calendar(events: list[Event], *, name: str) -> str:
    """A subscribed calendar (wellness.services.feeds): the reader's appointments,
    published, with each zone they use; `name` is what the calendar app calls it."""
    cal = Calendar()
    cal.add("prodid", "-//Beacon//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-published-ttl", "PT1H")  # a hint to poll hourly (Outlook and others read it)
    for event in events:
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical().decode("utf-8")
