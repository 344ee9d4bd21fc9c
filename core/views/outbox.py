"""The outbox, for administrators: every message, its delivery, a retry, an export."""
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from wtforms import DateField
from wtforms.validators import DataRequired

from core.errors import DomainError
from core.forms import ActionForm, Form
from core.models import OutboxStatus, Role
from core.services import audit_log, outbox as services
from core.web import actor, button, choice_arg, page_number, roles_required, search_arg

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")


class ExportForm(Form):
    class Meta:
        csrf = False  # a GET download: it changes nothing

    date_from = DateField("From", validators=[DataRequired()])
    date_to = DateField("To", validators=[DataRequired()])


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    status = choice_arg("status", [services.UNDELIVERED, *[s.value for s in OutboxStatus]])
    recipient = search_arg("recipient")
    audit_log.read(actor(), "outbox.viewed", detail=", ".join(  # before reading: see admin.access_review
        f"{name} {value}" for name, value in (("status", status), ("recipient", recipient)) if value) or "all")
    page = services.list_messages(actor(), status=status, recipient=recipient, page=page_number())
    return render_template("outbox/outbox.html", page=page, status=status, recipient=recipient,
                           statuses=[services.UNDELIVERED, *[s.value for s in OutboxStatus]],
                           smtp_configured=services.smtp_configured(),
                           withheld=services.WITHHELD, action_form=ActionForm(), shown=services.shown_time)


@bp.get("/export.csv")
@roles_required(Role.ADMIN)
def export():
    form = ExportForm(request.args)
    if not form.validate():
        flash("Give a start and an end date for the export.", "danger")
        return redirect(url_for("outbox.index"))
    try:
        text = services.export_csv(actor(), form.date_from.data, form.date_to.data,
                                   ZoneInfo(current_app.config["BEACON_TIMEZONE"]))
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("outbox.index"))
    name = f"beacon-outbox-{form.date_from.data}-{form.date_to.data}.csv"
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/m/<ref>")
@roles_required(Role.ADMIN)
def message(ref):
    message = services.get_message(actor(), ref)
    audit_log.read(actor(), "outbox.message_viewed", target=f"message {message.ref}")
    return render_template("outbox/message.html", message=message, withheld=services.WITHHELD,
                           body_visible=services.body_visible(message), smtp_configured=services.smtp_configured(),
                           action_form=ActionForm(), shown=services.shown_time)


@bp.post("/m/<ref>/retry")
@roles_required(Role.ADMIN)
def retry(ref):
    button(lambda: services.retry(actor(), ref), "The message is back in the queue.")
    return redirect(url_for("outbox.message", ref=ref))
