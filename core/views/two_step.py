"""Two-step sign-in in the browser: the second step after the password, setting up an
authenticator (before the first sign-in of a role that requires it, or from the
account page), new recovery codes, and turning it off (officers).

Between the password and the second step the browser holds only a note in its signed
session (the account's id, where to go next, until when it is valid); nobody is
signed in and no server session exists until the code is accepted. The code pages
share the sign-in page's rate limits.
"""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user

from core import clock, ratelimit
from core.db import db
from core.errors import DomainError
from core.forms import ActionForm, AuthenticatorCodeForm, MoveAuthenticatorForm, SecondStepForm
from core.models import AccountStatus, User
from core.services import accounts, two_step
from core.web import actor, form_status

bp = Blueprint("two_step", __name__)

WAITING = "second_step"  # the session key of the note kept between the two steps
SHOWN = "two_step_key"   # the session key of the mark of the key this browser was shown


def start(user: User, next_url: str):
    """The password was right and the account takes a second step: remember who, for
    SECOND_STEP_WINDOW, and go to the code page (or to setting up, the first time)."""
    two_step.password_given(user, request.remote_addr)
    session.clear()
    session[WAITING] = {"user": user.id, "next": next_url, "stamp": two_step.stamp(user),
                        "until": (clock.now() + two_step.SECOND_STEP_WINDOW).timestamp()}
    return redirect(url_for("two_step.code" if user.two_step_on else "two_step.setup_at_sign_in"), 303)


def sign_in_browser(user: User, how: str = "") -> None:
    """Open the server session and put it in a fresh cookie session."""
    sid = accounts.open_session(user, request.remote_addr, how)
    session.clear()  # a new session at sign-in: nothing from before carries over
    login_user(user)
    session["sid"] = sid
    session.permanent = True


def _waiting() -> tuple[User | None, str]:
    """The account between its two steps in this browser, and where it goes next; None
    when there is none, it has lapsed, or the account is no longer active, is locked,
    or has changed since the password was given (its password, its two-step sign-in,
    a sign-in since: see two_step.stamp)."""
    note = session.get(WAITING)
    if not isinstance(note, dict) or not isinstance(note.get("user"), int) \
            or not isinstance(note.get("until"), (int, float)) or note["until"] < clock.now().timestamp():
        return None, ""
    user = db.session.get(User, note["user"])
    if user is None or user.status != AccountStatus.ACTIVE or accounts.is_locked(user) \
            or note.get("stamp") != two_step.stamp(user):
        return None, ""
    return user, note.get("next") or url_for("home.index")


def _start_again(message="Sign in again: the second step waits only 5 minutes after your password."):
    session.pop(WAITING, None)
    flash(message, "info")
    return redirect(url_for("auth.login"))


def _show_codes(codes: list[str], next_url: str, first: bool):
    """Recovery codes are shown once, in the answer to the form that made them: never
    kept in the session or by the browser's cache."""
    return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url, first=first), 200, \
        {"Cache-Control": "no-store"}


@bp.route("/login/code", methods=["GET", "POST"])
@ratelimit.limited("LOGIN")
def code():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    user, next_url = _waiting()
    if user is None:
        return _start_again()
    if not user.two_step_on:
        return redirect(url_for("two_step.setup_at_sign_in"))
    form = SecondStepForm()
    if form.validate_on_submit():
        try:
            user, how = two_step.verify(user.id, form.code.data, request.remote_addr)
        except two_step.SecondStepLocked as exc:
            return _start_again(str(exc))
        except two_step.CodeRejected as exc:
            form.code.errors = [*form.code.errors, str(exc)]
        else:
            sign_in_browser(user, how)
            if how == "recovery code":
                left = two_step.recovery_codes_left(user.id)
                flash(f"You signed in with a recovery code; {left} left. If your phone is lost, set up the app "
                      "again from Two-step sign-in on your account page.", "warning")
            return redirect(next_url)
    return render_template("auth/second_step.html", form=form, user=user), form_status()


@bp.route("/login/setup", methods=["GET", "POST"])
@ratelimit.limited("LOGIN")
def setup_at_sign_in():
    """Before the first sign-in of an account whose role requires two-step sign-in."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    user, next_url = _waiting()
    if user is None:
        return _start_again()
    if user.two_step_on:
        return redirect(url_for("two_step.code"))
    form = AuthenticatorCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_step.confirm(user, form.code.data, request.remote_addr, session.get(SHOWN))
        except two_step.CodeRejected as exc:
            form.code.errors = [*form.code.errors, str(exc)]
        else:
            sign_in_browser(user, "new authenticator code")
            return _show_codes(codes, next_url, first=True)
    return _setup_page(user, form, at_sign_in=True)


def _setup_page(user: User, form, at_sign_in: bool):
    secret = two_step.begin(user, session.get(SHOWN))
    session[SHOWN] = two_step.key_mark(secret)
    return render_template("auth/two_step_setup.html", form=form, user=user, at_sign_in=at_sign_in,
                           qr=two_step.qr_svg(two_step.provisioning_uri(user, secret)),
                           secret=two_step.grouped(secret), required=two_step.required(user)), \
        form_status(), {"Cache-Control": "no-store"}


@bp.get("/account/two-step")
@login_required
def account():
    user = db.session.get(User, current_user.id)
    return render_template("auth/two_step.html", user=user, required=two_step.required(user),
                           left=two_step.recovery_codes_left(user.id) if user.two_step_on else 0,
                           code_form=AuthenticatorCodeForm(), action_form=ActionForm())


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@login_required
@ratelimit.limited("LOGIN")
def setup():
    """Turn two-step sign-in on, or move it to a new phone (which takes a code from the
    old one, or a recovery code)."""
    user = db.session.get(User, current_user.id)
    form = MoveAuthenticatorForm() if user.two_step_on else AuthenticatorCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_step.confirm(user, form.code.data, request.remote_addr, session.get(SHOWN),
                                     current_code=form.current_code.data if user.two_step_on else None)
        except two_step.SecondStepLocked as exc:
            flash(str(exc), "danger")
            return redirect(url_for("two_step.account"))
        except two_step.CodeRejected as exc:
            target = form.current_code if exc.about_current else form.code
            target.errors = [*target.errors, str(exc)]
        else:
            accounts.mark_second_step(session.get("sid"))  # this session has just proved a code
            db.session.commit()
            return _show_codes(codes, url_for("two_step.account"), first=False)
    return _setup_page(user, form, at_sign_in=False)


def _with_code(action, on_success):
    form = AuthenticatorCodeForm()
    if not form.validate_on_submit():
        flash("Enter the 6-digit code your authenticator app shows now.", "danger")
        return redirect(url_for("two_step.account"))
    try:
        result = action(form.code.data)
    except DomainError as exc:  # a wrong code, a lock, or a role that requires it
        flash(str(exc), "danger")
        return redirect(url_for("two_step.account"))
    return on_success(result)


@bp.post("/account/two-step/recovery-codes")
@login_required
@ratelimit.limited("LOGIN")
def recovery_codes():
    return _with_code(lambda code: two_step.new_recovery_codes(actor(), code),
                      lambda codes: _show_codes(codes, url_for("two_step.account"), first=False))


@bp.post("/account/two-step/off")
@login_required
@ratelimit.limited("LOGIN")
def turn_off():
    def done(_):
        flash("Two-step sign-in is off. Signing in now takes only your password.", "success")
        return redirect(url_for("two_step.account"))
    return _with_code(lambda code: two_step.turn_off(actor(), code), done)
