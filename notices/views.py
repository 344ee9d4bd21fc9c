"""Notices: HR writes one, a second person approves or rejects it."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from core import clock
from core.errors import DomainError
from core.forms import ActionForm
from core.models import Role
from core.services import roster
from core.web import actor, button, roles_required, submit
from notices import services
from notices.forms import ApproveForm, NoticeForm, RejectForm
from notices.models import NoticeStatus

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.get("/")
@roles_required(Role.HR, Role.ADMIN)
def notice_list():
    show = request.args.get("status")
    show = show if show in services.FILTERS else None
    filters = [(None, "All"), ("to_approve", "Waiting for your approval")] + \
        [(s.value, s.label.capitalize()) for s in NoticeStatus]
    return render_template("notices/notices.html", notices=services.list_notices(actor(), show), show=show,
                           filters=filters)


def _notice_form(obj=None) -> NoticeForm:
    form = NoticeForm()
    form.unit.choices = [SelectChoice(str(u.id), u.name) for u in roster.units()]
    if obj is not None and not form.is_submitted():
        form.subject.data, form.body.data, form.audience.data = obj.subject, obj.body, obj.audience
        if obj.audience in ("unit", "role"):
            getattr(form, obj.audience).data = obj.audience_value
    return form


def _contents(form: NoticeForm) -> dict:
    value = {"unit": form.unit.data, "role": form.role.data}.get(form.audience.data, "")
    return {"subject": form.subject.data, "body": form.body.data, "audience": form.audience.data,
            "value": value or ""}


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def notice_new():
    form = _notice_form()
    if form.validate_on_submit():
        try:
            notice = services.write(actor(), **_contents(form))
        except DomainError as exc:
            form.audience.errors.append(str(exc))
        else:
            flash("The notice is waiting for approval: it is sent once a second person approves it. "
                  "Everyone who may approve it has been told.", "success")
            return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    return render_template("notices/notice_new.html", form=form, notice=None)


@bp.route("/<int:notice_id>/edit", methods=["GET", "POST"])
@roles_required(Role.HR)
def notice_edit(notice_id):
    try:
        notice = services.editable(actor(), notice_id)
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("notices.notice_detail", notice_id=notice_id))
    form = _notice_form(notice)
    if form.validate_on_submit():
        try:
            changed = services.edit(actor(), notice_id, **_contents(form))
        except DomainError as exc:
            form.audience.errors.append(str(exc))
        else:
            flash(f"Saved ({', '.join(changed)} changed). The notice is waiting for approval; "
                  "the approvers have been told it changed." if changed else "Nothing was changed.", "success")
            return redirect(url_for("notices.notice_detail", notice_id=notice_id))
    return render_template("notices/notice_new.html", form=form, notice=notice)


@bp.get("/<int:notice_id>")
@roles_required(Role.HR, Role.ADMIN)
def notice_detail(notice_id):
    notice, recipients = services.get(actor(), notice_id)
    size = services.audience_size(notice.audience, notice.audience_value) \
        if notice.status == NoticeStatus.PENDING else len(recipients)
    me = actor()
    return render_template("notices/notice.html", notice=notice, recipients=recipients, size=size,
                           reject_form=RejectForm(), action_form=ActionForm(),
                           undo_open=services.undo_open(me, notice), undo_until=services.undo_until(notice))


@bp.get("/<int:notice_id>/approve")
@roles_required(Role.HR, Role.ADMIN)
def notice_approve_confirm(notice_id):
    """The confirmation before sending: to whom, how many, counted now. Changes nothing."""
    try:
        notice, recipients = services.confirmation(actor(), notice_id)
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("notices.notice_detail", notice_id=notice_id))
    form = ApproveForm(seen=notice.version)
    return render_template("notices/approve.html", notice=notice, recipients=recipients, form=form,
                           counted_at=clock.now())


@bp.post("/<int:notice_id>/approve")
@roles_required(Role.HR, Role.ADMIN)
def notice_approve(notice_id):
    services.second_person(actor(), notice_id)  # the author is refused before the form is read
    form = ApproveForm()
    if not form.validate_on_submit():
        flash("The approval could not be accepted: open the notice again and approve it from its page.", "danger")
        return redirect(url_for("notices.notice_detail", notice_id=notice_id))
    try:
        sent = services.approve(actor(), notice_id, form.seen.data)
    except DomainError as exc:
        flash(str(exc), "danger")
    else:
        flash(f"Sent to {sent} {'person' if sent == 1 else 'people'}: the messages are on their way.", "success")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))


@bp.post("/<int:notice_id>/withdraw")
@roles_required(Role.HR)
def notice_withdraw(notice_id):
    button(lambda: services.withdraw(actor(), notice_id),
           f"Withdrawn: nobody can approve it now, and it stays on record. You can undo this for "
           f"{services.UNDO_WINDOW.seconds // 60} minutes with the button below.")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))


@bp.post("/<int:notice_id>/undo-withdraw")
@roles_required(Role.HR)
def notice_undo_withdraw(notice_id):
    button(lambda: services.undo_withdraw(actor(), notice_id),
           "Withdrawal undone: the notice is waiting for approval again, and the approvers have been told.")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))


@bp.post("/<int:notice_id>/reject")
@roles_required(Role.HR, Role.ADMIN)
def notice_reject(notice_id):
    form = RejectForm()
    submit(form, lambda: services.reject(actor(), notice_id, form.reason.data),
           "Rejected; the notice is kept with your reason.")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))
