"""Signing in and out, and setting passwords through one-time links."""
import logging
import re

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from core.forms import ChangePasswordForm, ForgotPasswordForm, LinkCodeForm, LoginForm, SetPasswordForm
from core import ratelimit
from core.services import accounts, two_step
from core.views import two_step as two_step_views
from core.web import actor, form_status, handle, safe_next

bp = Blueprint("auth", __name__)

LINK = "password_link"  # the session key holding the id of the link this browser exchanged
# Addresses that carry a secret: old-style password links, and calendar feeds (a calendar
# app can only send the feed's secret in its address; the `.ics` stays visible).
SECRET_IN_PATH = re.compile(r"(/password/set/|/calendar/)[^\s?#\"/.]+")
# The support page (wellness/support.py): its request line is dropped, not anonymised.
# The client's address, the time and (gunicorn) the user agent sit on the same line in a
# format the operator chooses, so no rewrite can be sure to leave nobody in it; the path
# alone, beside the sign-in log, would say who looked for help. Matched in the request
# line, in a `next=` after a sign-in redirect (%2F) and in a Referer, never its neighbours
# (HR's /wellness/support-resources is logged as usual).
SUPPORT_PAGE = re.compile(r"(?:/|%2F)wellness(?:/|%2F)support(?![\w-])", re.IGNORECASE)


class WithheldTokens(logging.Filter):
    """Request lines of old-style links (`/password/set/<token>`, mailed before tokens
    left the address) and of calendar feeds (`/calendar/<secret>.ics`, fetched by a
    calendar app for as long as it is subscribed) are logged without the secret, by the
    development server ("werkzeug") and gunicorn's access log ("gunicorn.access") alike.
    A request for the support page is not logged at all (SUPPORT_PAGE says why)."""

    def filter(self, record):
        message = record.getMessage()
        if SUPPORT_PAGE.search(message):
            return False
        if "/password/set/" in message or "/calendar/" in message:
            record.msg, record.args = SECRET_IN_PATH.sub(r"\1(withheld)", message), None
        return True


WITHHELD_TOKENS = WithheldTokens()


@bp.record_once
def _withhold_tokens_in_request_logs(state):
    for name in ("werkzeug", "gunicorn.access"):
        logging.getLogger(name).addFilter(WITHHELD_TOKENS)  # one filter, however many apps


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.limited("LOGIN")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = accounts.check_password(form.email.data, form.password.data, request.remote_addr)
        except accounts.SignInFailed as exc:
            error = str(exc)
        else:
            next_url = safe_next(request.args.get("next"))
            if two_step.asked_for(user):
                return two_step_views.start(user, next_url)
            two_step_views.sign_in_browser(user)
            return redirect(next_url)
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    accounts.sign_out(actor(), session.get("sid"))
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@ratelimit.limited("FORGOT")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, request.remote_addr)
        flash("If that email belongs to an account, a link to set a new password is on its way. "
              "It works once, for 72 hours.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


def _link_invalid(exc):
    return render_template("auth/link_invalid.html", reason=str(exc)), 410


def _bind(link):
    """The link is this browser's now: the form that follows finds it in the session,
    so the token itself is never in an address."""
    session[LINK] = link.id
    return redirect(url_for("auth.set_password"), 303)


@bp.route("/password/link", methods=["GET", "POST"])
@ratelimit.limited("LINK")
def link_page():
    """Where an emailed link lands (`/password/link#t=<token>`). The fragment never
    reaches the server; the page's script posts it here, and without JavaScript the
    person pastes the code the email also gives."""
    form = LinkCodeForm()
    if form.validate_on_submit():
        try:
            _, link = accounts.check_token(form.code.data.strip())
        except accounts.TokenInvalid as exc:
            return _link_invalid(exc)
        return _bind(link)
    return render_template("auth/link.html", form=form), form_status()


@bp.get("/password/set/<token>")
@ratelimit.limited("LINK", methods=("GET",))
def old_link(token):
    """Links mailed before tokens left the address (they lapse within 72 hours of the
    change): exchanged the same way, so the token is in this one request line only."""
    try:
        _, link = accounts.check_token(token)
    except accounts.TokenInvalid as exc:
        return _link_invalid(exc)
    return _bind(link)


@bp.route("/password/set", methods=["GET", "POST"])
@ratelimit.limited("LINK")
def set_password():
    if LINK not in session:
        return redirect(url_for("auth.link_page"))
    try:
        user, link = accounts.check_link(session[LINK])
    except accounts.TokenInvalid as exc:
        session.pop(LINK, None)
        return _link_invalid(exc)
    form = SetPasswordForm()

    def set_it():
        accounts.set_password_with_link(link.id, form.password.data, request.remote_addr)
        if current_user.is_authenticated:
            logout_user()
        session.clear()
    try:
        return handle(form, set_it, refuse=accounts.PasswordRejected, field=form.password,
                      success="Your password is set. Sign in with it now.",
                      redirect_to=url_for("auth.login")) \
            or (render_template("auth/set_password.html", form=form, user=user, purpose=link.purpose.value),
                form_status())
    except accounts.TokenInvalid as exc:  # used or expired while the form was open
        session.pop(LINK, None)
        return _link_invalid(exc)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    return handle(form, lambda: accounts.change_password(actor(), form.current_password.data, form.password.data,
                                                         session.get("sid")),
                  refuse=accounts.PasswordRejected,
                  field=lambda exc: form.current_password if "current" in str(exc) else form.password,
                  success="Your password is changed. Your other signed-in browsers were signed out.",
                  redirect_to=url_for("home.index")) \
        or (render_template("auth/change_password.html", form=form), form_status())
