"""The web edge of the kernel: sign-in state per request, role checks, security headers."""
import logging
import traceback
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Request,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user
from markupsafe import Markup, escape
from sqlalchemy.exc import StatementError

from core.audit import Actor, record
from core.converters import bounded_int
from core.db import db
from core.rules import clean_text, text_problem
from core.errors import DomainError
from core.forms import ActionForm
from core.services import accounts, imports

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


MAX_PATH = 2000


def safe_next(target: str | None, prefix: str = "/", default: str | None = None) -> str:
    """A redirect target (after sign-in, or a form's `back`) that is a path of this
    site under `prefix`; anything else (another site, "/\\evil.example" which browsers
    read as "//", control characters, a huge value) gives `default`, else home."""
    if target and len(target) <= MAX_PATH and not text_problem(target) and "\\" not in target \
            and target.startswith(prefix) and not target.startswith("//"):
        try:
            parts = urlsplit(target)
        except ValueError:
            parts = None
        if parts is not None and not parts.scheme and not parts.netloc:
            return target
    return default or url_for("home.index")


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


# Query-string filters. None of them can fail a request: a value that is not one the
# filter knows is treated as absent. Free text holding a control character or a
# text-direction override (which PostgreSQL cannot compare, or which is never typed by
# hand), or longer than a search needs, is ignored and the page says so.
MAX_SEARCH = 200


def int_arg(name: str) -> int | None:
    """An id from the query string, or None (absent, not a number, or larger than any id)."""
    return bounded_int(request.args.get(name))


def choice_arg(name: str, choices) -> str | None:
    """One of `choices` from the query string, or None."""
    value = request.args.get(name) or None
    return value if value in choices else None


def flag_arg(name: str) -> bool:
    """A checkbox-like filter: on only when it is "1"."""
    return request.args.get(name) == "1"


def search_arg(name: str, max_length: int = MAX_SEARCH) -> str:
    """Free text from the query string (a name, an email, a rank), stripped of
    invisible characters, or "" if it cannot be searched for (with a note on the page)."""
    value = request.args.get(name, "")
    if len(value) > max_length or text_problem(value):
        flash(f"The search for \u201c{name}\u201d was ignored: it was too long or held characters "
              "that cannot be typed (such as NUL).", "warning")
        return ""
    return clean_text(value).strip()


def render_forbidden(error):
    return render_template("errors/403.html"), 403


def render_not_found(error):
    return render_template("errors/404.html"), 404


class WithheldDetails(logging.Filter):
    """Keeps values out of the server log when a statement fails. The engine's
    hide_parameters already drops the bound parameters; the database's own message can
    still quote them (PostgreSQL: "DETAIL: Key (email)=(...) already exists"), so a
    failed statement is logged by its error classes and SQL only, with the traceback."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, StatementError):
            frames = "".join(traceback.format_tb(exc.__traceback__))
            cause = type(exc.orig).__name__ if exc.orig is not None else "-"
            record.exc_info, record.exc_text = None, (
                f"Traceback (most recent call last):\n{frames}{type(exc).__name__} ({cause}); "
                f"database message withheld\n[SQL: {exc.statement}]")
        return True


WITHHELD_DETAILS = WithheldDetails()


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


def select_options(choices, selected=None) -> Markup:
    """`<option>` elements for (value, label) pairs, names escaped. A filter over
    thousands of units renders in a few milliseconds this way, where a template loop
    costs several times that on every page view."""
    return Markup("".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in choices))


def page_url(number: int) -> str:
    """This page's address with another page number, keeping the filters."""
    args = request.args.to_dict()
    args["page"] = number
    return url_for(request.endpoint, **(request.view_args or {}), **args)


class BeaconRequest(Request):
    """A request whose body limit is IMPORT_MAX_BYTES for the views marked
    `large_upload` (the roster and metrics imports), MAX_CONTENT_LENGTH elsewhere."""

    @property
    def max_content_length(self) -> int | None:
        if current_app and getattr(current_app.view_functions.get(self.endpoint), "large_upload", False):
            return current_app.config["IMPORT_MAX_BYTES"]
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value):
        self._max_content_length = value


def large_upload(too_large):
    """Mark a view as taking a large file (see BeaconRequest); `too_large(message)` is
    its answer when the file is over the limit (its form, the message beside the field)."""
    def decorator(view):
        view.large_upload = True
        view.too_large = too_large
        return view
    return decorator


def too_large_message() -> str:
    limit = current_app.config["IMPORT_MAX_BYTES"]
    return (f"The file is larger than {limit / 1024 / 1024:g} MB, the most Beacon accepts; "
            "split it in parts and import each.")


def render_too_large(error):
    """413: the import page again with the reason beside the file field, or a plain page."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "too_large", None):
        return view.too_large(too_large_message())
    return render_template("errors/413.html"), 413


def import_submit(form, kind: str, job_url, default_name: str):
    """A CSV upload (roster, metrics) becomes an import job, stored once; the browser
    goes to the job's page, where the check and the write show their progress."""
    data = form.file.data.read()
    job = imports.submit(actor(), kind, data, form.file.data.filename or default_name,
                         confirmed=bool(form.submit.data))
    return redirect(job_url(job.id))


def import_status(job):
    """What the job page's script polls: the state and the progress."""
    return jsonify(state=job.state.value, phase=job.phase, done=job.rows_done, total=job.rows_total,
                   percent=job.percent, running=job.state.running)


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
