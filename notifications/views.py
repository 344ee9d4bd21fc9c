"""The outbox (administrators), reminders (HR) and notices (HR writes, a second person approves)."""
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from core.errors import DomainError
from core.forms import ActionForm
from core.models import Role
from core.services import roster
from core.web import actor, button, choice_arg, page_number, roles_required, search_arg, submit
from notifications import notices, services
from notifications.forms import ExportForm, NoticeForm, RejectForm
from notifications.models import NoticeStatus, OutboxStatus

bp = Blueprint("notifications", __name__, url_prefix="/admin/outbox")
notices_bp = Blueprint("notices", __name__, url_prefix="/notices")
REMINDER_STATES = ("pending", "sent", "dropped", "expired")


@bp.get("/")
@roles_required(Role.ADMIN)
def outbox():
    status = choice_arg("status", [services.UNDELIVERED, *[s.value for s in OutboxStatus]])
    recipient = search_arg("recipient")
    page = services.list_messages(actor(), status=status, recipient=recipient, page=page_number())
    return render_template("notifications/outbox.html", page=page, status=status, recipient=recipient,
                           statuses=[services.UNDELIVERED, *[s.value for s in OutboxStatus]],
                           smtp_configured=services.smtp_configured(),
                           withheld=services.WITHHELD, action_form=ActionForm())


@bp.get("/export.csv")
@roles_required(Role.ADMIN)
def export():
    form = ExportForm(request.args)
    if not form.validate():
        flash("Give a start and an end date for the export.", "danger")
        return redirect(url_for("notifications.outbox"))
    try:
        text = services.export_csv(actor(), form.date_from.data, form.date_to.data,
                                   ZoneInfo(current_app.config["BEACON_TIMEZONE"]))
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("notifications.outbox"))
    name = f"beacon-outbox-{form.date_from.data}-{form.date_to.data}.csv"
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reminders")
@roles_required(Role.HR)
def reminders():
    state = choice_arg("state", REMINDER_STATES)
    recipient = search_arg("recipient")
    kind = search_arg("kind")
    page = services.list_reminders(actor(), state=state, recipient=recipient, kind=kind, page=page_number())
    return render_template("notifications/reminders.html", page=page, state=state, recipient=recipient, kind=kind,
                           kinds=services.reminder_kinds())


@bp.get("/<int:message_id>")
@roles_required(Role.ADMIN)
def message(message_id):
    message = services.get_message(actor(), message_id)
    return render_template("notifications/message.html", message=message, withheld=services.WITHHELD,
                           body_visible=services.body_visible(message), smtp_configured=services.smtp_configured(),
                           action_form=ActionForm())


@bp.post("/<int:message_id>/retry")
@roles_required(Role.ADMIN)
def retry(message_id):
    button(lambda: services.retry(actor(), message_id), "The message is back in the queue.")
    return redirect(url_for("notifications.message", message_id=message_id))


# --- notices -------------------------------------------------------------------------------

@notices_bp.get("/")
@roles_required(Role.HR, Role.ADMIN)
def notice_list():
    return render_template("notifications/notices.html", notices=notices.list_notices(actor()))


@notices_bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def notice_new():
    form = NoticeForm()
    form.unit.choices = [SelectChoice(str(u.id), u.name) for u in roster.units()]
    if form.validate_on_submit():
        value = {"unit": form.unit.data, "role": form.role.data}.get(form.audience.data, "")
        try:
            notice = notices.write(actor(), subject=form.subject.data, body=form.body.data,
                                   audience=form.audience.data, value=value or "")
        except DomainError as exc:
            form.audience.errors.append(str(exc))
        else:
            flash("The notice waits for a second person's approval before it is sent.", "success")
            return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    return render_template("notifications/notice_new.html", form=form)


@notices_bp.get("/<int:notice_id>")
@roles_required(Role.HR, Role.ADMIN)
def notice_detail(notice_id):
    notice, recipients = notices.get(actor(), notice_id)
    size = notices.audience_size(notice.audience, notice.audience_value) \
        if notice.status == NoticeStatus.PENDING else len(recipients)
    return render_template("notifications/notice.html", notice=notice, recipients=recipients, size=size,
                           reject_form=RejectForm(), action_form=ActionForm())


@notices_bp.post("/<int:notice_id>/approve")
@roles_required(Role.HR, Role.ADMIN)
def notice_approve(notice_id):
    button(lambda: notices.approve(actor(), notice_id), "Approved: the notice is on its way.")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))


@notices_bp.post("/<int:notice_id>/reject")
@roles_required(Role.HR, Role.ADMIN)
def notice_reject(notice_id):
    form = RejectForm()
    submit(form, lambda: notices.reject(actor(), notice_id, form.reason.data),
           "Rejected; the notice is kept with your reason.")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))
