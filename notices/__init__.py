"""Notices: HR's messages to many people, sent once a second person approves them.

`init_app(app)` plugs the package in after core: its pages and its menu entry.
"""
from core import web
from core.models import Role
from notices import services, views


def init_app(app) -> None:
    app.register_blueprint(views.bp)
    web.add_nav(app, "Notices", "notices.notice_list", roles=(Role.HR, Role.ADMIN), order=40)
    # Notices waiting for this person's approval: once on the home page of an
    # administrator, of an HR member who is not one, and of someone who is both.
    web.add_home_panel(app, Role.ADMIN, services.home_summary, "notices/home.html")
    web.add_home_panel(app, Role.HR, services.home_summary_hr, "notices/home.html")
