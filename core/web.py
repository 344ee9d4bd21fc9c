"""The web edge of the kernel: sign-in state per request, role checks, security headers."""
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user

from core.audit import Actor, record
from core.converters import bounded_int
from core.db import db
from core.errors import DomainError
from core.forms import ActionForm
from core.services import accounts

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = None  # sessions are checked on the server (LoginSession)


@login_manager.user_loader
def _load_user(user_id):
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    user = accounts.resume_session(uid, session.get("sid"))
    if user is None:
        # The server ended this session (sign-out elsewhere, idle, disabled): forget it.
        session.clear()
        flash("Your session has ended. Please sign in again.", "info")
    return user


HOME_PANELS = "beacon.home_panels"


def add_home_panel(app, role: str, summary, template: str) -> None:
    """Let a domain put its to-do list on the home page of people with `role`:
    `summary(actor)` gives the data, `template` shows it (as `data`). The kernel
    stays unaware of the domains above it."""
    app.extensions.setdefault(HOME_PANELS, []).append((role, summary, template))


def home_panels(user) -> list[tuple[str, object]]:
    me = actor()
    return [(template, summary(me)) for role, summary, template in current_app.extensions.get(HOME_PANELS, [])
            if user.has_role(role)]


def actor() -> Actor:
    """The signed-in user (or nobody) and where the request came from, for services."""
    if current_user.is_authenticated:
        return Actor.for_user(current_user, request.remote_addr)
    return Actor(user_id=None, label="anonymous", ip=request.remote_addr)


def roles_required(*roles):
    """Only signed-in users holding one of `roles` reach the view; others get 403
    (and the attempt is logged)."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                deny()
            return view(*args, **kwargs)
        return wrapped
    return decorator


def deny(status: int = 403):
    """Refuse the request and leave a trace of who tried what."""
    if current_user.is_authenticated:
        record(actor(), "access.denied", target=request.path[:200], outcome="denied",
               detail=f"{request.method} {request.path}"[:500])
        db.session.commit()
    abort(status)


def safe_next(target: str | None) -> str:
    """A redirect target after sign-in that stays on this site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("home.index")


CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if current_user and getattr(current_user, "is_authenticated", False):
        # Pages of a signed-in person are theirs alone: no shared or back-button caches.
        response.headers["Cache-Control"] = "no-store"
    return response


def page_number() -> int:
    return min(max(bounded_int(request.args.get("page")) or 1, 1), 100_000)


def render_forbidden(error):
    return render_template("errors/403.html"), 403


def render_not_found(error):
    return render_template("errors/404.html"), 404


def render_server_error(error):
    """Whatever failed, the request's transaction is rolled back before the page."""
    db.session.rollback()
    return render_template("errors/500.html"), 500


def render_csrf_error(error):
    return render_template("errors/400.html", reason=error.description), 400


def back_to(endpoint, **values):
    return redirect(url_for(endpoint, **values))


def local_time_filter(tz_name: str):
    """A Jinja filter showing a UTC datetime in the department's time zone."""
    zone = ZoneInfo(tz_name)

    def local(value, fmt="%Y-%m-%d %H:%M %Z"):
        if value is None:
            return "—"
        return value.astimezone(zone).strftime(fmt)
    return local


def page_url(number: int) -> str:
    """This page's address with another page number, keeping the filters."""
    args = request.args.to_dict()
    args["page"] = number
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def import_upload(form, run, confirm_form, template: str, default_name: str):
    """The page after a CSV upload (roster, metrics): `run(raw, filename, dry_run)`
    checks and perhaps writes the file; a good preview carries the file on to a
    confirm form. 422 when the file was refused."""
    raw = form.file.data.read()
    filename = form.file.data.filename or default_name
    report = run(raw, filename, bool(form.preview.data))
    confirm = None
    if report.ok and report.dry_run:
        confirm = confirm_form(content=raw.decode("utf-8-sig"), filename=filename)
    return render_template(template, report=report, filename=filename, confirm=confirm), 200 if report.ok else 422


def import_confirmed(form, run, template: str, default_name: str, back: str):
    """The previewed file, imported for real (or back to the upload page if lost)."""
    if not form.validate_on_submit():
        flash("The previewed file was not received; upload it again.", "danger")
        return redirect(url_for(back))
    filename = form.filename.data or default_name
    report = run(form.content.data, filename, False)
    return render_template(template, report=report, filename=filename, confirm=None), 200 if report.ok else 422


def button(do, success: str) -> bool:
    """Carry out a button's action (a POST with only its CSRF token, checked here):
    flash `success`, or the domain error's message. Forbidden and NotFound pass
    through to the 403/404 pages. Returns whether it worked."""
    return submit(ActionForm(), do, success)


def submit(form, do, success: str) -> bool:
    """Carry out a small form posted to an action route: validate it (its errors are
    flashed, since the page it came from is not re-rendered), call `do()`, flash
    `success` or the domain error. Returns whether it worked."""
    if not form.validate_on_submit():
        for name, errors in form.errors.items():
            if name == "csrf_token":
                flash("The form could not be accepted; reload the page and try again.", "danger")
                continue
            label = getattr(form, name).label.text if hasattr(form, name) else ""
            for error in errors:
                flash(f"{label}: {error}" if label else error, "danger")
        return False
    try:
        do()
    except DomainError as exc:
        flash(str(exc), "danger")
        return False
    flash(success, "success")
    return True
