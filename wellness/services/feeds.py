"""Private calendar feeds: a secret address per person that their calendar app subscribes
to, listing their own appointments (a clinician's with their officers, an officer's with
their clinician), titled for them, private.

The secret (`secrets.token_urlsafe(32)`) is shown once, when it is made; only its SHA-256
is kept, so Beacon cannot show it again and a copy of the database does not open it. A
person has at most one live feed: making a new one ends the old address at once, and so
do revoking it and disabling the account. A feed answers only while its account is active
and still tied to a clinician record or a roster row; otherwise it does not exist (404).

Making, replacing and revoking are in the wellness audit log (never the secret). A fetch
is not audited (a calendar app polls every few minutes to hours, which would bury the
log); the first fetch is, and `last_fetched_at` (written at most every few minutes) shows
the person that their address is in use.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError
from core.models import AccountStatus, Role, User
from wellness.models import ACTIVE_APPOINTMENT, Appointment, AppointmentStatus, CalendarFeed, Clinician
from wellness.services.calendar import appointment_event, feed_calendar, summary_for
from wellness.services.common import settings

# The past a feed still shows; everything from then on (and anything still active) is in it.
PAST_DAYS = 90
# `last_fetched_at` is written at most this often: a polling app does not write on every fetch.
TOUCH_EVERY = timedelta(minutes=5)
CALENDAR_NAME = "Beacon appointments"
CALLED_OFF = (AppointmentStatus.CANCELLED, AppointmentStatus.DECLINED)
UNCONFIRMED = (AppointmentStatus.BOOKED, AppointmentStatus.RESCHEDULE_REQUESTED)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reader:
    """Whose appointments a feed lists, and as whom: the clinician record and/or the
    roster row the account is tied to (a person may, rarely, be both)."""
    clinician: Clinician | None
    officer_id: int | None

    @property
    def ok(self) -> bool:
        return self.clinician is not None or self.officer_id is not None


def reader_of(user: User) -> Reader:
    clinician = None
    if user.has_role(Role.CLINICIAN):
        clinician = db.session.scalar(select(Clinician).where(Clinician.user_id == user.id))
    officer_id = user.officer_id if user.has_role(Role.OFFICER) else None
    return Reader(clinician, officer_id)


def live_feed(user_id: int) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user_id,
                                                        CalendarFeed.revoked_at.is_(None)))


@dataclass(frozen=True)
class FeedPage:
    user: User
    reader: Reader
    feed: CalendarFeed | None


def page(actor: Actor) -> FeedPage:
    """What the feed page shows the signed-in clinician or officer (never the secret)."""
    actor.require(Role.CLINICIAN, Role.OFFICER)
    user = db.session.get(User, actor.user_id)
    return FeedPage(user, reader_of(user), live_feed(user.id))


def make(actor: Actor) -> str:
    """A new feed address for the signed-in person; any live one ends now. Returns the
    secret, which is never shown again. Commits."""
    actor.require(Role.CLINICIAN, Role.OFFICER)
    user = db.session.get(User, actor.user_id)
    if not reader_of(user).ok:
        raise DomainError("Your account is not tied to a clinician record or a roster row yet, so there are "
                          "no appointments to put in a calendar. Ask HR.")
    now = clock.now()
    old = live_feed(user.id)
    if old is not None:
        old.revoked_at = now
        db.session.flush()  # one live feed per person: the old one ends before the new one starts
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user.id, token_hash=token_hash(token), created_at=now)
    db.session.add(feed)
    try:
        db.session.flush()
    except IntegrityError:  # another tab made one at the same moment
        db.session.rollback()
        raise DomainError("Another calendar address was made at the same moment; reload the page.") from None
    if old is not None:
        record(actor, "calendar_feed.revoked", target=f"calendar feed {old.id}",
               detail=f"replaced by calendar feed {feed.id}", private=True)
    record(actor, "calendar_feed.created", target=f"calendar feed {feed.id}",
           detail=f"replaces calendar feed {old.id}" if old is not None else "", private=True)
    db.session.commit()
    return token


def revoke(actor: Actor) -> None:
    """The signed-in person ends their own feed address. Commits."""
    actor.require(Role.CLINICIAN, Role.OFFICER)
    feed = live_feed(actor.user_id)
    if feed is None:
        raise DomainError("You have no calendar address to revoke.")
    feed.revoked_at = clock.now()
    record(actor, "calendar_feed.revoked", target=f"calendar feed {feed.id}", private=True)
    db.session.commit()


def revoke_on_disable(user: User, now: datetime) -> None:
    """core.services.accounts calls this when an account is disabled, in its transaction:
    the account's feed ends too (it would answer 404 anyway; this keeps it ended if the
    account is enabled again)."""
    feed = live_feed(user.id)
    if feed is not None:
        feed.revoked_at = now
        record(None, "calendar_feed.revoked", target=f"calendar feed {feed.id}", label="Beacon",
               detail="the account was disabled", private=True)


def calendar_for(token: str, ip: str | None) -> str | None:
    """The calendar behind a feed address, or None when there is none to give: an unknown
    or revoked address, a disabled account, or one no longer tied to a clinician or an
    officer. Commits only when it notes the fetch."""
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token),
                                                        CalendarFeed.revoked_at.is_(None)))
    if feed is None or feed.user.status != AccountStatus.ACTIVE:
        return None
    reader = reader_of(feed.user)
    if not reader.ok:
        return None
    now = clock.now()
    text = feed_calendar([_event(a, reader, now) for a in _appointments(reader, now)], name=CALENDAR_NAME)
    if feed.last_fetched_at is None:
        record(None, "calendar_feed.first_fetched", target=f"calendar feed {feed.id}", label=feed.user.email,
               ip=ip, private=True)
    if feed.last_fetched_at is None or now - feed.last_fetched_at >= TOUCH_EVERY:
        feed.last_fetched_at = now
        db.session.commit()
    return text


def _appointments(reader: Reader, now: datetime) -> list[Appointment]:
    mine = []
    if reader.clinician is not None:
        mine.append(Appointment.clinician_id == reader.clinician.id)
    if reader.officer_id is not None:
        mine.append(Appointment.officer_id == reader.officer_id)
    recent = or_(Appointment.starts_at >= now - timedelta(days=PAST_DAYS), Appointment.status.in_(ACTIVE_APPOINTMENT))
    return db.session.scalars(select(Appointment).where(or_(*mine), recent)
                              .order_by(Appointment.starts_at, Appointment.id)).all()


def _event(appointment: Appointment, reader: Reader, now: datetime):
    """The appointment as in its download (wellness.services.appointments.calendar_file):
    same UID and SEQUENCE, titled for this reader, no attendees, nothing about why."""
    officer, clinician = appointment.officer, appointment.clinician
    who = "clinician" if reader.clinician is not None and appointment.clinician_id == reader.clinician.id \
        else "officer"
    return appointment_event(
        uid=appointment.uid, sequence=appointment.sequence, starts_at=appointment.starts_at,
        ends_at=appointment.ends_at, zone=settings().zone,
        summary=summary_for(who, officer_rank=officer.rank, officer_name=officer.full_name,
                            clinician_name=clinician.name),
        location=clinician.place, description=f"Sign in to Beacon to see it: {current_app.config['BASE_URL']}/",
        organizer=current_app.config["MAIL_FROM"].rsplit("<", 1)[-1].strip(" >"), attendees=[], stamp=now,
        cancelled=appointment.status in CALLED_OFF, confirmed=appointment.status not in UNCONFIRMED)
