"""Oversight: the command role's name-free figures and the quarterly compliance report
for the oversight body (issue 16).

Command staff and oversight members (Role.COMMAND) see aggregates only. Every figure
goes through `rules.suppress`: a group smaller than SUPPRESSION_THRESHOLD (default 5),
or a count within it of zero or of the group's size, is shown as "fewer than N" and
left out of every total, and every total is the sum of the cells shown, so nothing can
be recovered by subtraction. No page, export or URL of the role carries a person's
name, badge or id.

`init_app(app)` plugs the package in after wellness and evaluations, whose services it
reads (never their models' internals beyond counting).
"""
from core import web
from core.models import Role
from oversight import cli, models, report_views, views  # noqa: F401  (report_views adds its routes to views.bp)
from oversight.services import demo, home


def init_app(app) -> None:
    app.register_blueprint(views.bp)
    web.add_nav(app, "Figures", "oversight.figures", roles=(Role.COMMAND,), order=40)
    web.add_nav(app, "Quarterly reports", "oversight.reports", roles=(Role.COMMAND, Role.HR), order=41)
    web.add_home_panel(app, Role.COMMAND, home.command_home, "oversight/home_command.html")
    # After the other packages' demo data: the demo's report counts it.
    app.extensions.setdefault("beacon.demo", []).append(demo.seed)
    cli.register(app)
