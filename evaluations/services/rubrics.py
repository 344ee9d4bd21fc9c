"""Rubrics: HR edits criteria and makes new rubrics; a rubric in use is frozen."""
from sqlalchemy import exists, func, select

from core import clock
from core.audit import Actor, record
from core.db import db, get_or_404
from core.errors import DomainError
from core.models import Role
from evaluations.models import CycleStatus, Criterion, ReviewCycle, Rubric

FIELDS = ("competency", "position", "text", "anchor_1", "anchor_3", "anchor_5",
          "by_self", "by_supervisor", "by_peer", "by_direct_report")


def list_rubrics(actor: Actor) -> list[tuple[Rubric, int, bool]]:
    """Every rubric with its number of criteria and whether it is frozen."""
    actor.require(Role.HR)
    counts = dict(db.session.execute(select(Criterion.rubric_id, func.count()).group_by(Criterion.rubric_id)).all())
    return [(r, counts.get(r.id, 0), is_frozen(r.id))
            for r in db.session.scalars(select(Rubric).order_by(Rubric.name))]


def choices() -> list[tuple[int, str]]:
    return [(r.id, r.name) for r in db.session.scalars(select(Rubric).order_by(Rubric.name))]


def get_rubric(actor: Actor, rubric_id: int) -> Rubric:
    actor.require(Role.HR)
    rubric = get_or_404(Rubric, rubric_id, "No such rubric.")
    return rubric


def is_frozen(rubric_id: int) -> bool:
    """In use by a cycle past its draft: its criteria are what the reviews answered.
    (The issue asks this of open cycles; closed and published ones hold results that
    name these criteria, so they freeze it too.)"""
    return bool(db.session.scalar(select(exists().where(ReviewCycle.rubric_id == rubric_id,
                                                        ReviewCycle.status != CycleStatus.DRAFT))))


def _editable(actor: Actor, rubric_id: int) -> Rubric:
    rubric = get_rubric(actor, rubric_id)
    if is_frozen(rubric_id):
        raise DomainError("This rubric is in use by a review cycle that has opened, so it cannot change. "
                          "Make a copy and edit that.")
    return rubric


def create_rubric(actor: Actor, name: str, description: str = "", copy_from: int | None = None) -> Rubric:
    actor.require(Role.HR)
    name = name.strip()
    if db.session.scalar(select(exists().where(func.lower(Rubric.name) == name.lower()))):
        raise DomainError(f"A rubric named {name!r} already exists.")
    rubric = Rubric(name=name, description=description, created_at=clock.now())
    if copy_from is not None:
        source = get_rubric(actor, copy_from)
        rubric.criteria = [Criterion(**{f: getattr(c, f) for f in FIELDS}) for c in source.criteria]
    db.session.add(rubric)
    db.session.flush()
    record(actor, "rubric.create", target=f"rubric:{rubric.id}",
           detail=f"{name}" + (f" (copy of rubric {copy_from})" if copy_from else ""))
    db.session.commit()
    return rubric


def _check_groups(values: dict) -> None:
    if not any(values[f"by_{g}"] for g in ("self", "supervisor", "peer", "direct_report")):
        raise DomainError("Choose at least one rater group that answers this criterion.")


def add_criterion(actor: Actor, rubric_id: int, **values) -> Criterion:
    rubric = _editable(actor, rubric_id)
    _check_groups(values)
    criterion = Criterion(rubric_id=rubric.id, **{f: values[f] for f in FIELDS})
    db.session.add(criterion)
    db.session.flush()
    record(actor, "rubric.criterion.add", target=f"rubric:{rubric.id}", detail=values["text"][:200])
    db.session.commit()
    return criterion


def get_criterion(actor: Actor, criterion_id: int) -> Criterion:
    actor.require(Role.HR)
    criterion = get_or_404(Criterion, criterion_id, "No such criterion.")
    return criterion


def update_criterion(actor: Actor, criterion_id: int, **values) -> Criterion:
    criterion = get_criterion(actor, criterion_id)
    _editable(actor, criterion.rubric_id)
    _check_groups(values)
    for f in FIELDS:
        setattr(criterion, f, values[f])
    record(actor, "rubric.criterion.update", target=f"rubric:{criterion.rubric_id}", detail=criterion.text[:200])
    db.session.commit()
    return criterion


def delete_criterion(actor: Actor, criterion_id: int) -> int:
    criterion = get_criterion(actor, criterion_id)
    rubric_id = criterion.rubric_id
    _editable(actor, rubric_id)
    record(actor, "rubric.criterion.delete", target=f"rubric:{rubric_id}", detail=criterion.text[:200])
    db.session.delete(criterion)
    db.session.commit()
    return rubric_id


def competencies(rubric: Rubric, group: str | None = None) -> list[tuple[str, list[Criterion]]]:
    """The rubric's criteria grouped by competency, in order (only `group`'s, if given)."""
    out: dict[str, list[Criterion]] = {}
    for c in rubric.criteria:
        if not group or c.answered_by(group):
            out.setdefault(c.competency, []).append(c)
    return list(out.items())
