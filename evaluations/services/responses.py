"""The subject's word on their published report: an acknowledgement ("I have read it",
not "I agree") and, if they wish, a written response kept with the report.

Who sees what follows the report's own rule (reports._may_read): the subject, their
supervisor and HR read the report, so they read the response beside it, and nobody
else learns that either exists. HR sees who has acknowledged and who responded, never
in a list that shows the text.

An acknowledgement names the result version the report showed (`ResultVersion`; a
cycle published before versions were kept shows version 1). After a correction the
report says which version was acknowledged and asks for the new one; acknowledging
again moves the acknowledgement to the new version and keeps the response.

The response holds its latest text only: an edit replaces the earlier text. Each save
is audited with the lengths before and after, never the text, so the log shows that and
when it changed without becoming a second copy of what the officer wrote.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from core import clock
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError, NotFound
from core.models import Officer, Role, Unit
from core.pagination import Page, paginate
from core.rules import text_problem
from evaluations.models import CycleStatus, ReportResponse, ResultVersion, ReviewAssignment, ReviewCycle
from evaluations.services.common import get_cycle, officer_of
from evaluations.services.reviews import lock_cycle

MAX_RESPONSE = 4000


def current_version(cycle_id: int) -> int:
    """The result version a published cycle's reports show now (1 before any correction)."""
    number = db.session.scalar(select(func.max(ResultVersion.number)).where(ResultVersion.cycle_id == cycle_id))
    return number or 1


@dataclass(frozen=True)
class Standing:
    """Where one report stands: the version it shows, and what its subject has done."""
    version: int                              # the version the report shows now
    acknowledged_version: int | None          # None: never acknowledged
    acknowledged_at: datetime | None
    response: str
    responded_at: datetime | None

    @property
    def acknowledged(self) -> bool:
        """Acknowledged as it reads now (the version shown)."""
        return self.acknowledged_version is not None and self.acknowledged_version >= self.version

    @property
    def earlier_version(self) -> bool:
        """Acknowledged once, but a correction has been published since."""
        return self.acknowledged_version is not None and self.acknowledged_version < self.version


def _standing(row: ReportResponse | None, version: int) -> Standing:
    if row is None:
        return Standing(version, None, None, "", None)
    return Standing(version, row.version, row.acknowledged_at, row.response or "", row.responded_at)


def for_report(cycle_id: int, officer_id: int) -> Standing:
    """The acknowledgement and response shown with a report. No check of its own: the
    caller holds the report from reports.subject_report, which has checked that the
    actor may read it (the subject, their supervisor, HR)."""
    return _standing(db.session.get(ReportResponse, (cycle_id, officer_id)), current_version(cycle_id))


def _own_published_report(actor: Actor, cycle_id: int, *, lock: bool = True) -> tuple[ReviewCycle, Officer]:
    """The cycle (locked for this transaction unless `lock=False`) and the signed-in
    officer, who must be a subject of it; before publication there is no report to
    acknowledge. 404 otherwise, as for the report itself."""
    cycle = get_cycle(cycle_id)
    me = officer_of(actor)
    if me is None or cycle.status != CycleStatus.PUBLISHED or not db.session.scalar(
            select(func.count()).where(ReviewAssignment.cycle_id == cycle.id,
                                       ReviewAssignment.subject_id == me.id)):
        raise NotFound("No such report.")
    # One at a time per cycle: two clicks of the button, or a correction published at the
    # same moment, each see what the other wrote.
    return (lock_cycle(cycle.id) if lock else cycle), me


def _target(cycle_id: int, officer_id: int) -> str:
    return f"cycle:{cycle_id}:officer:{officer_id}"


def _acknowledge(actor: Actor, cycle: ReviewCycle, me: Officer, row: ReportResponse | None,
                 version: int, now) -> ReportResponse:
    """Record that `me` has read `version` (unless they already have); audited."""
    if row is None:
        row = ReportResponse(cycle_id=cycle.id, officer_id=me.id, version=version, acknowledged_at=now,
                             response="")
        db.session.add(row)
        detail = f"{me.badge_number} acknowledged reading their report (version {version})"
    elif row.version < version:
        detail = (f"{me.badge_number} acknowledged reading their report (version {version}; "
                  f"version {row.version} on {row.acknowledged_at:%Y-%m-%d})")
        row.version, row.acknowledged_at = version, now
    else:
        return row
    record(actor, "review.report.acknowledge", target=_target(cycle.id, me.id), detail=detail)
    return row


def acknowledge(actor: Actor, cycle_id: int) -> ReportResponse:
    """The subject says they have read their published report (the version it shows
    now). Only the subject; a second acknowledgement of the same version changes
    nothing. Audited, commits."""
    cycle, me = _own_published_report(actor, cycle_id)
    row = db.session.get(ReportResponse, (cycle.id, me.id), populate_existing=True)
    row = _acknowledge(actor, cycle, me, row, current_version(cycle.id), clock.now())
    db.session.commit()
    return row


def respond(actor: Actor, cycle_id: int, text: str) -> ReportResponse:
    """The subject writes, changes or (with empty text) withdraws their response to
    their published report, up to MAX_RESPONSE characters. Writing a response also
    acknowledges the version shown, since one answers what one has read. The earlier
    text is replaced; the audit entry records the change and both lengths, not the
    text. Only the subject; saving the same text again changes nothing. Commits."""
    cycle, me = _own_published_report(actor, cycle_id, lock=False)
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_RESPONSE:
        raise DomainError(f"The response is longer than {MAX_RESPONSE:,} characters ({len(text):,}).")
    problem = text_problem(text, multiline=True)
    if problem:
        raise DomainError(f"The response {problem}.")
    cycle, now = lock_cycle(cycle.id), clock.now()
    row = db.session.get(ReportResponse, (cycle.id, me.id), populate_existing=True)
    earlier = (row.response or "") if row is not None else ""
    if not text and not earlier:
        db.session.rollback()   # nothing to keep, and the cycle's lock goes with it
        raise DomainError("Write your response first.")
    row = _acknowledge(actor, cycle, me, row, current_version(cycle.id), now)
    if text != earlier:
        if not text:
            what = f"withdrew their response (it had {len(earlier):,} characters)"
        elif not earlier:
            what = f"wrote a response of {len(text):,} characters"
        else:
            what = f"changed their response: {len(earlier):,} characters replaced by {len(text):,}"
        row.response, row.responded_at = text, now if text else None
        record(actor, "review.report.respond", target=_target(cycle.id, me.id),
               detail=f"{me.badge_number} {what} (report version {row.version})")
    db.session.commit()
    return row


def awaiting(actor: Actor) -> dict[int, Standing]:
    """The signed-in officer's own published reports, by cycle id, with where each
    stands (for their reviews page: "Not yet acknowledged")."""
    me = officer_of(actor)
    if me is None:
        return {}
    cycle_ids = list(db.session.scalars(
        select(ReviewCycle.id).where(ReviewCycle.status == CycleStatus.PUBLISHED, ReviewCycle.id.in_(
            select(ReviewAssignment.cycle_id).where(ReviewAssignment.subject_id == me.id)))))
    if not cycle_ids:
        return {}
    versions = dict(db.session.execute(
        select(ResultVersion.cycle_id, func.max(ResultVersion.number))
        .where(ResultVersion.cycle_id.in_(cycle_ids)).group_by(ResultVersion.cycle_id)).all())
    rows = {r.cycle_id: r for r in db.session.scalars(select(ReportResponse).where(
        ReportResponse.officer_id == me.id, ReportResponse.cycle_id.in_(cycle_ids)))}
    return {cid: _standing(rows.get(cid), versions.get(cid) or 1) for cid in cycle_ids}


# --- HR: who has acknowledged ---------------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    subjects: int
    acknowledged: int        # the version shown now
    earlier: int             # an earlier version only
    responded: int


@dataclass(frozen=True)
class AcknowledgementLine:
    officer_id: int
    name: str
    badge: str
    unit: str
    acknowledged_version: int | None
    acknowledged_at: datetime | None
    responded_at: datetime | None

    def acknowledged(self, version: int) -> bool:
        return self.acknowledged_version is not None and self.acknowledged_version >= version


@dataclass
class Acknowledgements:
    cycle: ReviewCycle
    version: int
    counts: Counts
    page: Page


STATES = {"acknowledged": "Acknowledged", "waiting": "Not yet acknowledged", "responded": "With a response"}


def _subjects(cycle_id: int):
    return select(ReviewAssignment.subject_id).where(ReviewAssignment.cycle_id == cycle_id).distinct()


def _published_for_hr(actor: Actor, cycle_id: int) -> ReviewCycle:
    actor.require(Role.HR)
    cycle = get_cycle(cycle_id)
    if cycle.status != CycleStatus.PUBLISHED:
        raise NotFound("Acknowledgements are collected once the cycle is published.")
    return cycle


def counts(actor: Actor, cycle_id: int) -> Counts:
    """HR: how many of a published cycle's subjects have acknowledged the version their
    reports show, how many only an earlier one, and how many responded."""
    cycle = _published_for_hr(actor, cycle_id)
    version = current_version(cycle.id)
    subjects = db.session.scalar(select(func.count()).select_from(_subjects(cycle.id).subquery()))
    done, earlier, responded = db.session.execute(
        select(func.count().filter(ReportResponse.version >= version),
               func.count().filter(ReportResponse.version < version),
               func.count().filter(ReportResponse.responded_at.is_not(None)))
        .where(ReportResponse.cycle_id == cycle.id, ReportResponse.officer_id.in_(_subjects(cycle.id)))).one()
    return Counts(subjects, done or 0, earlier or 0, responded or 0)


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def acknowledgements(actor: Actor, cycle_id: int, *, q: str = "", state: str | None = None,
                     page: int = 1, per_page: int = 50) -> Acknowledgements:
    """HR: each subject of a published cycle, whether and when they acknowledged (which
    version), and whether they responded (not what: that is read on their report).
    Searchable by name or badge, filtered by `state` (a key of STATES), paged. The view
    is audited."""
    cycle = _published_for_hr(actor, cycle_id)
    version = current_version(cycle.id)
    query = (select(Officer.id, Officer.last_name, Officer.first_name, Officer.badge_number, Unit.name,
                    ReportResponse.version, ReportResponse.acknowledged_at, ReportResponse.responded_at)
             .join(Unit, Unit.id == Officer.unit_id)
             .outerjoin(ReportResponse, and_(ReportResponse.cycle_id == cycle.id,
                                             ReportResponse.officer_id == Officer.id))
             .where(Officer.id.in_(_subjects(cycle.id))))
    q = (q or "").strip()
    if q:
        like = _like(q)
        query = query.where(or_(func.lower(Officer.last_name).like(like, escape="\\"),
                                func.lower(Officer.first_name).like(like, escape="\\"),
                                func.lower(Officer.first_name + " " + Officer.last_name).like(like, escape="\\"),
                                func.lower(Officer.badge_number).like(like, escape="\\")))
    if state == "acknowledged":
        query = query.where(ReportResponse.version >= version)
    elif state == "waiting":
        query = query.where(or_(ReportResponse.version.is_(None), ReportResponse.version < version))
    elif state == "responded":
        query = query.where(ReportResponse.responded_at.is_not(None))
    query = query.order_by(Officer.last_name, Officer.first_name, Officer.id)
    lines = paginate(query, page, per_page, rows=True).map(
        lambda r: AcknowledgementLine(r[0], f"{r[1]}, {r[2]}", r[3], r[4], r[5], r[6], r[7]))
    result = Acknowledgements(cycle, version, counts(actor, cycle.id), lines)
    record(actor, "review.acknowledgements.view", target=f"cycle:{cycle.id}",
           detail=f"who acknowledged their report (search {'given' if q else 'none'}, {state or 'all'})")
    db.session.commit()
    return result
