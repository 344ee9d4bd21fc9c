"""Review reminders: 7, 3 and 1 days before a cycle closes, to raters who have not
submitted, under de-duplication keys (`review:<cycle>:rater:<officer>:<lead>d`), so a
repeat sweep or a second scheduler sends nothing twice. The message says how many
reviews are waiting and when the cycle closes; never whom they are about. The sweep
also closes cycles whose close date has passed."""
from collections import Counter
from datetime import datetime, time, timedelta
from functools import partial

from sqlalchemy import and_, func, select

from core import clock
from core.db import db
from core.department import zone
from core.models import AccountStatus, Officer, OfficerStatus, User
from core.services import outbox
from evaluations import rules
from evaluations.models import AssignmentStatus, CycleStatus, ReviewAssignment, ReviewCycle
from evaluations.services.cycles import close_due

# Not health-related: administrators may see to whom and about what.
REVIEW_REMINDER = outbox.kind("reminder_review", reminder=True, label="review")


def sweep(now: datetime | None = None) -> Counter:
    now = now or clock.now()
    day = now.astimezone(zone()).date()
    queued = Counter()
    closed = close_due(now)
    if closed:
        queued["closed"] = closed
    batch = outbox.Batch()
    for cycle in db.session.scalars(select(ReviewCycle).where(ReviewCycle.status == CycleStatus.OPEN)):
        lead = rules.reminder_lead(cycle.closes_on, day)
        if lead is None:
            continue
        rows = db.session.execute(
            select(Officer.id, Officer.first_name, Officer.last_name, User.email, func.count())
            .join(ReviewAssignment, ReviewAssignment.rater_id == Officer.id)
            .join(User, and_(User.officer_id == Officer.id, User.status == AccountStatus.ACTIVE))
            .where(ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.status != AssignmentStatus.SUBMITTED,
                   Officer.status == OfficerStatus.ACTIVE)
            .group_by(Officer.id, Officer.first_name, Officer.last_name, User.email)).all()
        # What depends only on the cycle is worked out once: a cycle can have tens of thousands of raters.
        render = outbox.email_template("reminder_review.txt")
        days = (cycle.closes_on - day).days
        common = dict(kind=REVIEW_REMINDER,
                      subject=f"Beacon: reviews to finish by {cycle.closes_on.day} {cycle.closes_on:%B}",
                      # the cycle closes once its close date is over: a reminder is never sent after
                      expires_at=datetime.combine(cycle.closes_on + timedelta(days=1), time.min, tzinfo=zone()))
        for officer_id, first, last, email, waiting in rows:
            batch.add("review", f"review:{cycle.id}:rater:{officer_id}:{lead}d",
                      partial(_message, common, email, render, name=f"{first} {last}", cycle=cycle, waiting=waiting,
                              days=days))
    queued.update(batch.flush())
    db.session.commit()
    return queued


def _message(common: dict, recipient: str, render, **values) -> dict:
    return {**common, "recipient": recipient, "body": render(**values)}
