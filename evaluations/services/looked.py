"""Who has opened an officer's 360 report (and, for a supervisor, their upward-review
results): from the general audit log, for the officer themself (issue 16, item 3).
Targets are "cycle:<id>:officer:<id>", written when a report is opened (page or PDF)."""
from sqlalchemy import select

from core.audit import REFUSALS, REPEATED, Actor
from core.db import db
from core.models import Role
from core.services import audit_log
from evaluations.models import ReviewAssignment
from evaluations.services.common import officer_of

WHAT = {
    "review.report.view": "Opened your 360 report",
    "review.upward.view": "Opened the results of your direct reports' reviews of you",
    "review.report.acknowledge": "Acknowledged your 360 report",
    "review.report.respond": "Wrote your response to your 360 report",
}


def mine(actor: Actor, page: int = 1, per_page: int = 50):
    """The signed-in officer's own list: a Page of Seen (None without a roster entry)."""
    actor.require(Role.OFFICER)
    officer = officer_of(actor)
    if officer is None:
        return None
    cycles = db.session.scalars(select(ReviewAssignment.cycle_id).where(ReviewAssignment.subject_id == officer.id)
                                .distinct())
    targets = [f"cycle:{c}:officer:{officer.id}" for c in cycles]
    result = audit_log.entries_about(targets, private=False, page=page, per_page=per_page)
    result.items = [_seen(entry, name, roles, actor.user_id) for entry, name, roles in result.items]
    return result


def _seen(entry, name, roles, me) -> audit_log.Seen:
    refused = entry.action in (*REFUSALS, REPEATED)
    if entry.actor_id is None:
        role = "Beacon (automatic)"
    elif entry.actor_id == me:
        role = "You"
    elif Role.HR in roles:
        role = "HR"
    elif Role.OFFICER in roles:
        role = "Officer (your supervisor, or one before)"
    else:
        role = "Administrator" if Role.ADMIN in roles else "Account"
    what = audit_log.REFUSED_SENTENCE if refused else WHAT.get(entry.action, entry.action.replace(".", " "))
    who = "Beacon" if entry.actor_id is None else (name or entry.actor_label)
    return audit_log.Seen(entry.at, who, role, what, refused)
