"""Signing in and out, and setting passwords through one-time links."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from core.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, SetPasswordForm
from core.services import accounts
from core.web import actor, form_status, handle, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user, sid = accounts.sign_in(form.email.data, form.password.data, request.remote_addr)
        except accounts.SignInFailed as exc:
            error = str(exc)
        else:
            next_url = safe_next(request.args.get("next"))
            session.clear()  # a new session at sign-in: nothing from before carries over
            login_user(user)
            session["sid"] = sid
            session.permanent = True
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
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, request.remote_addr)
        flash("If that email belongs to an account, a link to set a new password is on its way. "
              "It works once, for 72 hours.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token):
    try:
        user, link = accounts.check_token(token)
    except accounts.TokenInvalid as exc:
        return render_template("auth/link_invalid.html", reason=str(exc)), 410
    form = SetPasswordForm()

    def set_it():
        accounts.set_password_with_token(token, form.password.data, request.remote_addr)
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
        return render_template("auth/link_invalid.html", reason=str(exc)), 410


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
