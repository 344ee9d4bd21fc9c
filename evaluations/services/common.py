"""What the review services share: settings, the department's day, who is acting."""
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import NotFound
from core.models import Officer, User
from evaluations.models import ReviewCycle


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BEACON_TIMEZONE"])


def today():
    return clock.today(zone())


def weights() -> dict[str, float]:
    return dict(current_app.config["REVIEW_WEIGHTS"])


def officer_of(actor: Actor) -> Officer | None:
    """The roster entry of the signed-in person (None for HR staff who are not officers)."""
    if actor.user_id is None:
        return None
    return db.session.scalar(select(Officer).join(User, User.officer_id == Officer.id)
                             .where(User.id == actor.user_id))


def get_cycle(cycle_id: int) -> ReviewCycle:
    cycle = db.session.get(ReviewCycle, cycle_id)
    if cycle is None:
        raise NotFound("No such review cycle.")
    return cycle
