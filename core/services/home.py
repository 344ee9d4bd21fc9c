"""What each person has to do, for their home page. Later domains add their items."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, func, select

from core import clock
from core.audit import Actor
from core.db import db
from core.models import AccountStatus, Officer, OfficerStatus, Role, User


def admin_summary(actor: Actor) -> dict:
    """Accounts, locked and to review (an administrator's home panel); changes nothing."""
    actor.require(Role.ADMIN)
    now = clock.now()
    idle_since = now - timedelta(days=current_app.config["ACCESS_REVIEW_IDLE_DAYS"] + 1)
    active = User.status == AccountStatus.ACTIVE
    # The same decisions as rules.is_locked / rules.access_flags, counted in SQL.
    accounts, locked, flagged = db.session.execute(select(
        func.count(),
        func.count(case((User.locked_until > now, 1))),
        func.count(case((active & (User.last_login_at.is_(None) | (User.last_login_at <= idle_since)), 1))),
    )).one()
    # The first few locked accounts by name, each a link to where it is unlocked (the
    # accounts list has no "locked" filter).
    locked_users = db.session.execute(select(User.id, User.name).where(User.locked_until > now)
                                      .order_by(User.name, User.id).limit(5)).all() if locked else []
    # Email delivery has its own panel (core.services.outbox.delivery_summary).
    return {"accounts": accounts, "locked": locked, "flagged": flagged, "locked_users": locked_users}


def hr_summary(actor: Actor) -> dict:
    """The roster by status and officers without an account (HR's home panel); changes nothing."""
    actor.require(Role.HR)
    by_status = dict(db.session.execute(select(Officer.status, func.count()).group_by(Officer.status)).all())
    without_account = db.session.scalar(
        select(func.count()).select_from(Officer).outerjoin(User, User.officer_id == Officer.id)
        .where(User.id.is_(None), Officer.status != OfficerStatus.SEPARATED))
    return {"active": by_status.get(OfficerStatus.ACTIVE, 0), "leave": by_status.get(OfficerStatus.LEAVE, 0),
            "separated": by_status.get(OfficerStatus.SEPARATED, 0), "without_account": without_account}


def officer_summary(actor: Actor) -> dict:
    """The signed-in officer's own line on the roster (an officer's home panel); changes nothing."""
    actor.require(Role.OFFICER)
    # The account was loaded to sign the request in, so this reads the session's copy.
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    officer = db.session.get(Officer, user.officer_id) if user and user.officer_id else None
    return {"officer": officer, "supervisor": officer.supervisor if officer else None}
