"""Notices: HR's messages to many people, sent once a second person approves them.

`init_app(app)` plugs the package in after core: its pages and its menu entry.
"""
from core import web
from core.models import Role
from notices import views


def init_app(app) -> None:
    app.register_blueprint(views.bp)
    web.add_nav(app, "Notices", "notices.notice_list", roles=(Role.HR, Role.ADMIN), order=40)
