"""The web edge of the kernel: sign-in state per request, role checks, security headers."""
import logging
import re
import traceback
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Request,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError, StatementError
from werkzeug.routing import AnyConverter
from wtforms import Field

from core.audit import Actor, record_refusal
from core.converters import bounded_int
from core.db import db
from core.rules import clean_text, text_problem
from core.errors import AccessError, DomainError
from core.forms import ActionForm
from core.models import Role
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


NAVIGATION = "beacon.navigation"


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    roles: tuple
    group: str | None
    order: int


def add_nav(app, label: str, endpoint: str, *, roles=None, group: str | None = None, order: int = 100) -> None:
    """Let a package put a link in the main menu for people holding one of `roles`
    (None: everyone signed in).
    Entries sharing a `group` become one dropdown named after it (a group that holds
    one link for this person shows as that link); the menu is sorted by `order`, a
    group by its first entry's."""
    app.extensions.setdefault(NAVIGATION, []).append(NavEntry(label, endpoint, tuple(roles or ()), group, order))


def navigation() -> list[dict]:
    """The signed-in person's menu: [{"label", "links": [(label, endpoint), ...]}], a
    dropdown where there is more than one link (a Jinja global for base.html)."""
    if not current_user.is_authenticated:
        return []
    mine = sorted((e for e in current_app.extensions.get(NAVIGATION, [])
                   if not e.roles or current_user.has_role(*e.roles)),
                  key=lambda e: e.order)
    menu, groups = [], {}
    for entry in mine:
        key = entry.group or ("", entry.endpoint)
        if key not in groups:
            groups[key] = {"label": entry.group or entry.label, "links": []}
            menu.append(groups[key])
        groups[key]["links"].append((entry.label, entry.endpoint))
    return menu


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
    """Refuse the request; the 403 handler leaves the trace of who tried what."""
    abort(status)


PRIVATE_REFUSALS = "beacon.private_refusals"


def audit_refusals_privately(app, *blueprints: str) -> None:
    """Refusals on these blueprints' pages are health-related: they go to HR's wellness
    audit log, not the administrators' (who must not learn who has a wellness record)."""
    app.extensions.setdefault(PRIVATE_REFUSALS, set()).update(blueprints)


def refused_ids() -> dict:
    """The request's view args as the audit shows them: ids and fixed words (`any(...)`)
    as they are; anything else (a password-reset token) withheld, since the log must
    not hold a secret."""
    converters = getattr(request.url_rule, "_converters", {}) if request.url_rule else {}
    return {name: value if isinstance(value, int) or isinstance(converters.get(name), AnyConverter) else "(withheld)"
            for name, value in (request.view_args or {}).items()}


def audit_refusal(status: int, error=None) -> None:
    """Audit a 403, or a 404 for a record: one raised by a service (NotFound) or on a
    route with an id in its path. A 404 for an address that is no page is not audited.
    Once per request; the request's own transaction is rolled back first (whatever it
    changed is refused with it) and the entry is committed on its own."""
    ids = refused_ids()
    if g.get("refusal_audited") or (status == 404 and not isinstance(error, AccessError)
                                    and not any(isinstance(v, int) for v in ids.values())):
        return
    g.refusal_audited = True
    who = actor()
    db.session.rollback()
    pattern = request.url_rule.rule if request.url_rule else request.path
    args = " ".join(f"{name}={value}" for name, value in ids.items())
    private = request.blueprint in current_app.extensions.get(PRIVATE_REFUSALS, ())
    try:
        record_refusal(who, not_found=status == 404, target=pattern, private=private,
                       detail=f"{request.method} {request.endpoint or '-'} {args}".strip(),
                       alert_count=current_app.config["REFUSAL_ALERT_COUNT"],
                       alert_minutes=current_app.config["REFUSAL_ALERT_MINUTES"])
    except SQLAlchemyError:
        # The person still gets the 403/404 page; the failure is in the server log.
        current_app.logger.exception("A refused request could not be audited")


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
    response.headers.setdefault("Referrer-Policy", "same-origin")  # a page may ask for less (the support page)
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
    audit_refusal(403, error)
    return render_template("errors/403.html"), 403


def render_not_found(error):
    audit_refusal(404, error)
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


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 officer", "2 officers": a count with its noun, never "officer(s)"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def local_time_filter(tz_name: str):
    """A Jinja filter showing a UTC datetime in the department's time zone."""
    zone = ZoneInfo(tz_name)

    def local(value, fmt="%Y-%m-%d %H:%M %Z", zone_shown=True):
        """A time of day carries the zone's abbreviation (EST, EDT): a reader never has
        to guess whether a time is local or UTC. Only a grid of times under a heading
        that names the zone (slot buttons) passes zone_shown=False."""
        if value is None:
            return "—"
        if zone_shown and "%H" in fmt and "%Z" not in fmt:
            fmt += " %Z"
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
    options = {"replace": True} if getattr(getattr(form, "replace", None), "data", False) else {}
    job = imports.submit(actor(), kind, data, form.file.data.filename or default_name,
                         confirmed=bool(form.submit.data), options=options)
    return redirect(job_url(job.id))


def import_status(job):
    """What the job page's script polls: the state and the progress."""
    return jsonify(state=job.state.value, phase=job.phase, done=job.rows_done, total=job.rows_total,
                   percent=job.percent, running=job.state.running)


@dataclass
class ImportPages:
    """The four pages of one kind of CSV import, for HR (the roster, the metrics): the
    upload form, the job's page, its status (which the job page polls) and the confirm
    button. The upload page is `template` given `form`, `jobs`, `job_url` and whatever
    `context()` adds; `add_routes` puts the four on a blueprint."""
    kind: str
    form: type
    template: str
    heading: str
    summary: str
    done_heading: str
    confirmed: str
    done_endpoint: str
    done_label: str
    context: object = dict
    endpoints: tuple = ()
    job_arg: str = ""

    def add_routes(self, bp, *, upload: str, job: str, endpoints: tuple[str, str, str, str]) -> None:
        """`upload` and `job` are the rules of the form and of a job's page (status and
        confirm go below it: `<job>/status`, `<job>/confirm`); `endpoints` names the
        form, job, status and confirm views."""
        self.endpoints = tuple(f"{bp.name}.{name}" for name in endpoints)
        self.job_arg = re.search(r"<(?:\w+:)?(\w+)>$", job).group(1)

        def upload_view():
            form = self.form()
            if form.validate_on_submit():
                return import_submit(form, self.kind, self.job_url, f"{self.kind}.csv")
            return self._page(form, form_status())

        def job_view(**args):
            job = imports.get(actor(), self.kind, args[self.job_arg])
            return render_template("imports/job.html", job=job, heading=self.heading, summary=self.summary,
                                   done_heading=self.done_heading, status_url=self.job_url(job.id, 2),
                                   confirm_form=ActionForm(), confirm_url=self.job_url(job.id, 3),
                                   upload_url=url_for(self.endpoints[0]), done_url=url_for(self.done_endpoint),
                                   done_label=self.done_label)

        def status_view(**args):
            return import_status(imports.get(actor(), self.kind, args[self.job_arg]))

        def confirm_view(**args):
            job_id = args[self.job_arg]
            button(lambda: imports.confirm(actor(), self.kind, job_id), self.confirmed)
            return redirect(self.job_url(job_id))

        hr = roles_required(Role.HR)
        upload_name, job_name, status_name, confirm_name = endpoints
        bp.add_url_rule(upload, upload_name, hr(large_upload(self._too_large)(upload_view)), methods=["GET", "POST"])
        bp.add_url_rule(job, job_name, hr(job_view))
        bp.add_url_rule(f"{job}/status", status_name, hr(status_view))
        bp.add_url_rule(f"{job}/confirm", confirm_name, hr(confirm_view), methods=["POST"])

    def job_url(self, job_id: int, which: int = 1) -> str:
        """The address of a job's page (which=1), status (2) or confirm button (3)."""
        return url_for(self.endpoints[which], **{self.job_arg: job_id})

    def _page(self, form, status: int):
        return render_template(self.template, form=form, jobs=imports.recent(actor(), self.kind),
                               job_url=self.job_url, **self.context()), status

    def _too_large(self, message: str):
        # Called from the 413 handler, before the view's own role check has run: a
        # signed-out visitor is sent to sign in, anyone else but HR refused (and
        # audited) as the view would; abort() here would not reach those handlers.
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.has_role(Role.HR):
            return render_forbidden(None)
        form = self.form(formdata=None)
        form.file.errors = [message]
        return self._page(form, 413)


# A form sent back with its errors answers 422 Unprocessable Content: the request was
# understood and refused as it stands (200 would tell scripts and tests it worked).
REFUSED = 422


class FieldError(DomainError):
    """A refusal raised inside a view's action that belongs beside one field of its
    form (a badge that is not on the roster)."""

    def __init__(self, field, message: str):
        super().__init__(message)
        self.field = field


def handle(form, action, *, success, redirect_to, field=None, refuse=DomainError):
    """The one skeleton of a page's form: validate `form`, call `action()`, and on
    success flash `success` and redirect to `redirect_to` (each a value, or a function
    of what `action()` returned). A DomainError goes beside `field` (a field, or a
    function of the error giving one), or beside a FieldError's own field, or is
    flashed when there is neither; `refuse` narrows which DomainErrors are shown (others
    pass to the caller). Returns the redirect, or None: the caller shows the form again
    with `form_status()`. Forbidden and NotFound pass through to 403/404."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except refuse as exc:
        target = getattr(exc, "field", None) or field
        if target is not None and not isinstance(target, Field):
            target = target(exc)
        if target is None:
            flash(str(exc), "danger")
        else:
            target.errors = [*target.errors, str(exc)]
        return None
    flash(success(result) if callable(success) else success, "success")
    return redirect(redirect_to(result) if callable(redirect_to) else redirect_to)


def form_status() -> int:
    """The status of a page showing a form: REFUSED when it answers a POST (a form
    that worked redirects instead), 200 when it is shown to be filled in."""
    return REFUSED if request.method == "POST" else 200


def button(do, success: str) -> bool:
    """Carry out a button's action (a POST with only its CSRF token, checked here):
    flash `success`, or the domain error's message. Forbidden and NotFound pass
    through to the 403/404 pages. Returns whether it worked."""
    return submit(ActionForm(), do, success)


def button_back(do, success: str, back: str):
    """A button's action (see `button`), then back to the page at `back`, whether it
    worked or not: the flashed message says which."""
    button(do, success)
    return redirect(back)


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
