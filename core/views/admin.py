"""Administrators: accounts, the access review, the audit log."""
import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from core import clock
from core.csvsafe import cell
from core.errors import DomainError
from core.forms import AccountForm, ActionForm, AuditFilterForm, DisableForm, RolesForm
from core.models import Role
from core.services import accounts, audit_log, roster
from core.web import actor, button, choice_arg, flag_arg, page_number, roles_required, search_arg, submit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/accounts")
@roles_required(Role.ADMIN)
def accounts_list():
    q = search_arg("q")
    role = choice_arg("role", [r.value for r in Role])
    page = accounts.list_accounts(actor(), q=q, role=role, page=page_number())
    return render_template("admin/accounts.html", page=page, q=q, role=role, roles=list(Role),
                           is_locked=accounts.is_locked)


@bp.route("/accounts/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def account_new():
    form = AccountForm()
    if form.validate_on_submit():
        officer_id = None
        if form.badge_number.data:
            officer = roster.find_by_badge(form.badge_number.data)
            if officer is None:
                form.badge_number.errors.append("No officer with this badge number on the roster.")
            else:
                officer_id = officer.id
        if not form.badge_number.errors:
            try:
                user = accounts.create_account(actor(), email=form.email.data, name=form.name.data,
                                               roles=form.roles.data, officer_id=officer_id)
            except DomainError as exc:
                field = form.email if "already exists" in str(exc) else form.roles
                field.errors.append(str(exc))
            else:
                flash(f"Account created; an invitation was sent to {user.email}.", "success")
                return redirect(url_for("admin.account_detail", user_id=user.id))
    return render_template("admin/account_new.html", form=form)


@bp.get("/accounts/<int:user_id>")
@roles_required(Role.ADMIN)
def account_detail(user_id):
    user = accounts.get_user(user_id)
    roles_form = RolesForm(roles=sorted(user.roles))
    return render_template("admin/account_detail.html", user=user, roles_form=roles_form,
                           disable_form=DisableForm(), action_form=ActionForm(),
                           locked=accounts.is_locked(user))


def _act(user_id, do, done_message):
    button(do, done_message)
    return redirect(url_for("admin.account_detail", user_id=user_id))


@bp.post("/accounts/<int:user_id>/roles")
@roles_required(Role.ADMIN)
def account_roles(user_id):
    form = RolesForm()
    submit(form, lambda: accounts.set_roles(actor(), user_id, form.roles.data), "Roles saved.")
    return redirect(url_for("admin.account_detail", user_id=user_id))


@bp.post("/accounts/<int:user_id>/disable")
@roles_required(Role.ADMIN)
def account_disable(user_id):
    form = DisableForm()
    submit(form, lambda: accounts.disable_account(actor(), user_id, form.reason.data or ""),
           "Account disabled; its sessions have ended.")
    return redirect(url_for("admin.account_detail", user_id=user_id))


@bp.post("/accounts/<int:user_id>/enable")
@roles_required(Role.ADMIN)
def account_enable(user_id):
    return _act(user_id, lambda: accounts.enable_account(actor(), user_id), "Account enabled.")


@bp.post("/accounts/<int:user_id>/unlock")
@roles_required(Role.ADMIN)
def account_unlock(user_id):
    return _act(user_id, lambda: accounts.unlock_account(actor(), user_id), "Account unlocked.")


@bp.post("/accounts/<int:user_id>/invite")
@roles_required(Role.ADMIN)
def account_invite(user_id):
    return _act(user_id, lambda: accounts.resend_invitation(actor(), user_id), "A new invitation was sent.")


@bp.get("/access-review")
@roles_required(Role.ADMIN)
def access_review():
    flagged_only = flag_arg("flagged")
    page = accounts.access_review(actor(), flagged_only=flagged_only, page=page_number())
    return render_template("admin/access_review.html", page=page, flagged_only=flagged_only)


@bp.get("/access-review.csv")
@roles_required(Role.ADMIN)
def access_review_csv():
    me = actor()
    rows = accounts.access_review(me, flagged_only=flag_arg("flagged"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "roles", "status", "created_utc", "last_sign_in_utc", "flags"])
    for row in rows:
        u = row.user
        writer.writerow([cell(u.name), cell(u.email), " ".join(row.roles), u.status.value,
                         u.created_at.strftime("%Y-%m-%d %H:%M"),
                         u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "",
                         "; ".join(row.flags)])
    accounts.record_access_review_export(me, len(rows))
    stamp = clock.now().strftime("%Y-%m-%d")
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="beacon-access-review-{stamp}.csv"'})


def audit_page(private: bool, title: str, note: str):
    """The audit log page; `private` selects the health-related (wellness) entries."""
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(a, a) for a in audit_log.actions(private)]
    page = None
    if form.validate():
        page = audit_log.search(actor(), person=form.person.data or "", action=form.action.data or "",
                                date_from=form.date_from.data, date_to=form.date_to.data, page=page_number(),
                                private=private)
    return render_template("admin/audit.html", form=form, page=page, title=title, note=note)


@bp.get("/audit")
@roles_required(Role.ADMIN)
def audit():
    return audit_page(False, "Audit log", "Health-related (wellness) entries are kept in HR's wellness audit log.")
