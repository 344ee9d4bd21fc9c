"""Administrators' view of the outbox."""
from flask import Blueprint, redirect, render_template, request, url_for

from core.forms import ActionForm
from core.models import Role
from core.web import actor, button, page_number, roles_required
from notifications import services
from notifications.models import OutboxStatus

bp = Blueprint("notifications", __name__, url_prefix="/admin/outbox")


@bp.get("/")
@roles_required(Role.ADMIN)
def outbox():
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in OutboxStatus]):
        status = None
    recipient = request.args.get("recipient", "")
    page = services.list_messages(actor(), status=status, recipient=recipient, page=page_number())
    return render_template("notifications/outbox.html", page=page, status=status, recipient=recipient,
                           statuses=list(OutboxStatus), smtp_configured=services.smtp_configured(),
                           action_form=ActionForm())


@bp.get("/reminders")
@roles_required(Role.HR, Role.ADMIN)
def reminders():
    state = request.args.get("state") or None
    recipient = request.args.get("recipient", "")
    kind = request.args.get("kind", "")
    page = services.list_reminders(actor(), state=state, recipient=recipient, kind=kind, page=page_number())
    return render_template("notifications/reminders.html", page=page, state=state, recipient=recipient, kind=kind,
                           kinds=services.reminder_kinds())


@bp.get("/<int:message_id>")
@roles_required(Role.ADMIN)
def message(message_id):
    message = services.get_message(actor(), message_id)
    return render_template("notifications/message.html", message=message,
                           smtp_configured=services.smtp_configured(), action_form=ActionForm())


@bp.post("/<int:message_id>/retry")
@roles_required(Role.ADMIN)
def retry(message_id):
    button(lambda: services.retry(actor(), message_id), "The message is back in the queue.")
    return redirect(url_for("notifications.message", message_id=message_id))
