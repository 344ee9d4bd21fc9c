"""What the review services share: settings, who is acting, and the fixed shuffle of
comments."""
import hashlib

from flask import current_app
from sqlalchemy import select

from core.audit import Actor
from core.db import db, get_or_404
from core.models import Officer, User
from evaluations.models import ReviewCycle


def weights() -> dict[str, float]:
    return dict(current_app.config["REVIEW_WEIGHTS"])


def officer_of(actor: Actor) -> Officer | None:
    """The roster entry of the signed-in person (None for HR staff who are not officers)."""
    if actor.user_id is None:
        return None
    return db.session.scalar(select(Officer).join(User, User.officer_id == Officer.id)
                             .where(User.id == actor.user_id))


def get_cycle(cycle_id: int) -> ReviewCycle:
    cycle = get_or_404(ReviewCycle, cycle_id, "No such review cycle.")
    return cycle


def seed_of(*parts) -> int:
    """A seed fixed by `parts` (cycle, subject, group...): comments shown in an order set
    by it say nothing about when they arrived, and read the same every time."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")
