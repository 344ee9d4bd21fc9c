"""Notices: HR writes one, a second person approves or rejects it."""
from flask import Blueprint, flash, redirect, render_template, url_for
from wtforms.fields.choices import SelectChoice

from core.errors import DomainError
from core.forms import ActionForm
from core.models import Role
from core.services import roster
from core.web import actor, button, roles_required, submit
from notices import services
from notices.forms import NoticeForm, RejectForm
from notices.models import NoticeStatus

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.get("/")
@roles_required(Role.HR, Role.ADMIN)
def notice_list():
    return render_template("notices/notices.html", notices=services.list_notices(actor()))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def notice_new():
    form = NoticeForm()
    form.unit.choices = [SelectChoice(str(u.id), u.name) for u in roster.units()]
    if form.validate_on_submit():
        value = {"unit": form.unit.data, "role": form.role.data}.get(form.audience.data, "")
        try:
            notice = services.write(actor(), subject=form.subject.data, body=form.body.data,
                                    audience=form.audience.data, value=value or "")
        except DomainError as exc:
            form.audience.errors.append(str(exc))
        else:
            flash("The notice waits for a second person's approval before it is sent.", "success")
            return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    return render_template("notices/notice_new.html", form=form)


@bp.get("/<int:notice_id>")
@roles_required(Role.HR, Role.ADMIN)
def notice_detail(notice_id):
    notice, recipients = services.get(actor(), notice_id)
    size = services.audience_size(notice.audience, notice.audience_value) \
        if notice.status == NoticeStatus.PENDING else len(recipients)
    return render_template("notices/notice.html", notice=notice, recipients=recipients, size=size,
                           reject_form=RejectForm(), action_form=ActionForm())


@bp.post("/<int:notice_id>/approve")
@roles_required(Role.HR, Role.ADMIN)
def notice_approve(notice_id):
    button(lambda: services.approve(actor(), notice_id), "Approved: the notice is on its way.")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))


@bp.post("/<int:notice_id>/reject")
@roles_required(Role.HR, Role.ADMIN)
def notice_reject(notice_id):
    form = RejectForm()
    submit(form, lambda: services.reject(actor(), notice_id, form.reason.data),
           "Rejected; the notice is kept with your reason.")
    return redirect(url_for("notices.notice_detail", notice_id=notice_id))
