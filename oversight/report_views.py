"""The quarterly compliance reports' pages (on the oversight blueprint): the list and the
form that makes one, the printable page, the kept PDF, and the check against the log.
The only ids in these addresses are reports' (never a person's)."""
from flask import Response, abort, flash, redirect, render_template, request, url_for

from core import department
from core.errors import DomainError
from core.forms import ActionForm
from core.web import actor, roles_required
from oversight import rules
from oversight.recommendations import ANSWERED_BY, RECOMMENDATIONS
from oversight.services import reports
from oversight.views import bp, quarters


@bp.get("/reports", endpoint="reports")
@roles_required(*reports.READERS)
def report_list():
    start, _ = reports.default_quarter(department.today())
    return render_template("oversight/reports.html", reports=reports.kept(actor()), form=ActionForm(),
                           quarters=quarters(department.today()), chosen=rules.quarter_name(start).replace("-", ""))


@bp.post("/reports")
@roles_required(*reports.READERS)
def report_make():
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    period = rules.parse_quarter(request.form.get("q", ""))
    if period is None:
        flash("Choose a quarter from the list.", "danger")
        return redirect(url_for("oversight.reports"))
    try:
        report = reports.make(actor(), period[0])
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("oversight.reports"))
    flash(f"The report for {rules.quarter_name(report.period_start)} is made and kept.", "success")
    return redirect(url_for("oversight.report", report_id=report.id))


@bp.get("/reports/<int:report_id>", endpoint="report")
@roles_required(*reports.READERS)
def report_page(report_id):
    report = reports.get(actor(), report_id)
    return render_template("oversight/report.html", report=report, kept=reports.figures_of(report),
                           name=rules.quarter_name(report.period_start), recommendations=RECOMMENDATIONS,
                           answered_by=ANSWERED_BY)


@bp.get("/reports/<int:report_id>.pdf", endpoint="report_pdf")
@roles_required(*reports.READERS)
def report_pdf(report_id):
    report = reports.get(actor(), report_id, download=True)
    name = f"beacon-compliance-{rules.quarter_name(report.period_start)}-{report.id}.pdf"
    return Response(report.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reports/<int:report_id>/check", endpoint="report_check")
@roles_required(*reports.READERS)
def report_check(report_id):
    report, outcome = reports.check(actor(), report_id)
    return render_template("oversight/report_check.html", report=report, checks=outcome.chains, outcome=outcome,
                           name=rules.quarter_name(report.period_start))


