"""The home page (what this person has to do) and the health check."""
from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import text

from core.db import db
from core.web import home_panels

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    # The panels are what the packages registered (web.add_home_panel), core's among them.
    return render_template("home/index.html", panels=home_panels(current_user))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy"
        db.session.rollback()
        return jsonify(status="unavailable", database=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
