"""Who has looked at an officer's wellness record: each view and change of it, from the
wellness audit log, for the officer themself (issue 16, item 3).

The entries "about" an officer are those whose target is one of their records: their
roster entry as HR's wellness page names it ("officer <badge>"), their evaluations,
their appointments (self-referrals included) and the incidents that listed them. An
entry's `detail` is never shown (it can name other officers): each action is told in a
sentence of its own. HR's dashboard and its CSV list every officer's status and dates;
opening them is in the wellness audit but not listed here one by one (the page says so).

Reading one's own list is not itself audited: it shows the officer nothing they may not
know, and an entry per reading would bury the views that matter."""
from sqlalchemy import select

from core.audit import CONFIDENTIAL, REFUSALS, REPEATED, Actor
from core.db import db
from core.models import Officer, Role, User
from core.services import audit_log
from wellness.models import Appointment, Clinician, IncidentOfficer, WellnessEvaluation

WHAT = {
    "wellness.record_viewed": "Opened your wellness record",
    "appointment.booked": "Booked an appointment for you",
    "appointment.confirmed": "Confirmed your appointment",
    "appointment.declined": "Declined your appointment",
    "appointment.cancelled": "Cancelled your appointment",
    "appointment.cancel_undone": "Undid the cancellation of your appointment",
    "appointment.reschedule_requested": "Asked for another time for your appointment",
    "appointment.time_proposed": "Proposed another time for your appointment",
    "appointment.proposal_accepted": "Accepted the time proposed for your appointment",
    "appointment.proposal_refused": "Refused the time proposed for your appointment",
    "appointment.rescheduled": "Moved your appointment",
    "appointment.attended": "Recorded that you attended your appointment",
    "appointment.no_show": "Recorded that you did not come to your appointment",
    "appointment.viewed": "Opened your appointment",
    "appointment.calendar_downloaded": "Downloaded your appointment to a calendar",
    "attention.raised": "Put your evaluation on HR's \u201cneeds attention\u201d list",
    "attention.resolved": "Took your evaluation off HR's \u201cneeds attention\u201d list",
    "incident.recorded": "Recorded an incident that lists you",
    "incident.viewed": "Opened the record of an incident that lists you",
    "incident.updated": "Changed the record of an incident that lists you",
    "incident.officers_added": "Added officers to an incident that lists you",
    "incident.withdrawn": "Withdrew an incident that listed you",
    "incident.shortfall": "Told HR that an incident's evaluations were running late",
}
REFUSED = audit_log.REFUSED_SENTENCE
Seen = audit_log.Seen


def role_of(entry, roles: set, me: int, clinician_users: set[int]) -> str:
    """In what role the actor acted: the officer themself, Beacon (the scheduler), the
    clinician of one of their appointments, otherwise the account's roles now (only HR
    may otherwise see or change a wellness record; anyone else is refused)."""
    if entry.actor_id is None:
        return "Beacon (automatic)"
    if entry.actor_id == me:
        return "You"
    if entry.actor_id in clinician_users:
        return "Clinician"
    for role, label in ((Role.HR, "HR"), (Role.CLINICIAN, "Clinician"), (Role.ADMIN, "Administrator"),
                        (Role.OFFICER, "Officer"), (Role.COMMAND, "Command")):
        if role in roles:
            return label
    return "Account"


def targets_of(officer: Officer) -> list[str]:
    """The audit targets that are this officer's wellness records."""
    evaluations = db.session.scalars(select(WellnessEvaluation.id).where(WellnessEvaluation.officer_id == officer.id))
    appointments = db.session.execute(select(Appointment.id, Appointment.self_referral)
                                      .where(Appointment.officer_id == officer.id)).all()
    incidents = db.session.scalars(select(IncidentOfficer.incident_id).where(IncidentOfficer.officer_id == officer.id))
    return ([f"officer {officer.badge_number}"] + [f"evaluation {i}" for i in evaluations]
            + [f"{CONFIDENTIAL if own else ''}appointment {i}" for i, own in appointments]
            + [f"incident {i}" for i in incidents])


def mine(actor: Actor, page: int = 1, per_page: int = 50):
    """The signed-in officer's own list (Role.OFFICER with a roster entry): a Page of Seen."""
    actor.require(Role.OFFICER)
    user = db.session.get(User, actor.user_id)
    officer = db.session.get(Officer, user.officer_id) if user and user.officer_id else None
    if officer is None:
        return None
    clinician_users = set(db.session.scalars(
        select(Clinician.user_id).join(Appointment, Appointment.clinician_id == Clinician.id)
        .where(Appointment.officer_id == officer.id, Clinician.user_id.is_not(None))))
    result = audit_log.entries_about(targets_of(officer), private=True, page=page, per_page=per_page)
    result.items = [_seen(entry, name, roles, actor.user_id, clinician_users) for entry, name, roles in result.items]
    return result


def _seen(entry, name, roles, me, clinician_users) -> Seen:
    refused = entry.action in (*REFUSALS, REPEATED)
    who = "Beacon" if entry.actor_id is None else (name or entry.actor_label)
    what = REFUSED if refused else WHAT.get(entry.action, entry.action.replace("_", " ").replace(".", ": "))
    if entry.actor_id == me and entry.action == "appointment.booked":
        what = "Booked an appointment"  # their own booking, a visit on their own included
    return Seen(entry.at, who, role_of(entry, roles, me, clinician_users), what, refused)
