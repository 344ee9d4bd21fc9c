"""Confirming a new sign-in email from the link mailed to it (core.services.email_changes).

The link is `/account/email/confirm#t=<code>`: the fragment never reaches the server,
so no request line or access log holds the code. The page's script (the one the
password link page uses) posts it; without JavaScript the person pastes the code the
email also gives. The first POST shows what would change, with a button; only that
second POST changes anything, so a mail scanner opening the link confirms nothing.
Whoever holds the new address may confirm, signed in or not.
"""
from flask import Blueprint, make_response, render_template, request, session
from flask_login import current_user, logout_user

from core.forms import LinkCodeForm
from core.services import email_changes
from core.web import form_status

bp = Blueprint("email_change", __name__)


def _private(page: str, status: int = 200):
    """The answer may hold the code (the review page's form): never cached."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/email/confirm", methods=["GET", "POST"])
def confirm():
    form = LinkCodeForm()
    if not form.validate_on_submit():
        return _private(render_template("auth/email_change.html", form=form), form_status())
    code = form.code.data.strip()
    try:
        if request.form.get("confirm") != "1":
            pending = email_changes.check(code)
            return _private(render_template("auth/email_change_review.html", form=form, code=code,
                                            change=pending.change, user=pending.user,
                                            masked_old=email_changes.mask(pending.change.old_email)))
        user = email_changes.confirm(code, request.remote_addr)
    except email_changes.ChangeInvalid as exc:
        return _private(render_template("auth/email_change_invalid.html", reason=str(exc)), 404)
    if current_user.is_authenticated and current_user.id == user.id:
        logout_user()     # the session row has ended already; the cookie goes too
        session.clear()
    return _private(render_template("auth/email_change_done.html", email=user.email))
