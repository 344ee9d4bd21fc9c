"""The command role's pages: name-free figures for a quarter, each table as CSV.

No route takes a person's id: the only parameter is the quarter ("2026Q3")."""
import csv
import io
from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request

from core import department
from core.csvsafe import cell
from core.models import Role
from core.web import actor, roles_required
from oversight import rules
from oversight.services import figures

bp = Blueprint("oversight", __name__, url_prefix="/oversight")

FIRST_YEAR = 2020


def quarters(today) -> list[tuple[str, str]]:
    """The quarters one may choose: from the current one back to FIRST_YEAR, newest first."""
    start, _ = rules.quarter_of(today)
    found = []
    while start.year >= FIRST_YEAR:
        found.append((rules.quarter_name(start).replace("-", ""), rules.quarter_name(start)))
        start, _ = rules.quarter_of(start - timedelta(days=1))
    return found


def chosen_quarter():
    """The quarter asked for (?q=2026Q3), the current one when none; 404 for a malformed one."""
    text = request.args.get("q", "")
    if not text:
        return rules.quarter_of(department.today())
    period = rules.parse_quarter(text)
    if period is None or period[0] > department.today():
        abort(404)
    return period


@bp.get("/", endpoint="figures")
@roles_required(Role.COMMAND, Role.HR)
def figures_page():
    start, end = chosen_quarter()
    shown = figures.overview(actor(), start, end)
    return render_template("oversight/figures.html", figures=shown, start=start, end=end,
                           period=rules.quarter_name(start), q=rules.quarter_name(start).replace("-", ""),
                           quarters=quarters(department.today()),
                           threshold=figures.threshold())


@bp.get("/<any(compliance, incident, participation, ranking, engagement, compliance_series, self_referrals):key>.csv")
@roles_required(Role.COMMAND, Role.HR)
def figures_csv(key):
    start, end = chosen_quarter()
    item = figures.table_for_csv(actor(), key, start, end)
    if item is None:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)
    if isinstance(item, rules.Series):
        writer.writerow(["Month", item.title])
        for month, point in zip(item.months, item.points):
            writer.writerow([f"{month:%Y-%m}", cell(point.text)])
    else:
        writer.writerow([cell(c) for c in item.columns])
        for row in item.rows + ([item.total] if item.total else []):
            writer.writerow([cell(row.label), *(cell(c.text) for c in row.cells)])
        if item.note:
            writer.writerow([cell(item.note)])
    name = f"beacon-{key.replace('_', '-')}-{rules.quarter_name(start)}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
