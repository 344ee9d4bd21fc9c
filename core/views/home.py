"""The home page (what this person has to do) and the health check."""
from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import text

from core.db import db
from core.models import Role
from core.services import home
from core.web import actor, home_panels

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    me = actor()
    panels = {}
    if current_user.has_role(Role.ADMIN):
        panels["admin"] = home.admin_summary(me)
    if current_user.has_role(Role.HR):
        panels["hr"] = home.hr_summary(me)
    if current_user.has_role(Role.OFFICER):
        panels["officer"] = home.officer_summary(me, current_user.officer_id)
    return render_template("home/index.html", panels=panels, extra=home_panels(current_user))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy"
        db.session.rollback()
        return jsonify(status="unavailable", database=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
