"""The command role's home panel: where the figures and the kept reports are."""
from sqlalchemy import func, select

from core import department
from core.audit import Actor
from core.db import db
from oversight import rules
from oversight.models import ComplianceReport


def command_home(actor: Actor) -> dict:
    """What the panel shows: the current quarter and how many reports are kept."""
    start, _ = rules.quarter_of(department.today())
    return {"quarter": rules.quarter_name(start),
            "reports": db.session.scalar(select(func.count()).select_from(ComplianceReport))}
