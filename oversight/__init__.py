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
from core import web  # noqa: F401
from core.models import Role  # noqa: F401
from oversight import models  # noqa: F401  (the table is part of the schema)


def init_app(app) -> None:
    from oversight import views
    app.register_blueprint(views.bp)
    # Menu entries: "Figures" (oversight.figures, command) and "Quarterly reports"
    # (oversight.reports, command and HR) are added here by their slices.
