"""Calendar feeds (wellness.services.feeds): the page where a clinician or an officer
makes, replaces and revokes their own feed address, and the feed itself, which a
calendar app fetches without a session (the secret in the address is the key).

The page never takes an id: each person acts on their own feed only. The feed answers
404 with no detail for an address that is not live, is rate-limited per client address,
per feed and overall (FEED_LIMIT_* in config.py), and is never cached by a proxy."""
import hashlib

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from limits import parse_many

from core import ratelimit
from core.forms import ActionForm
from core.models import Role
from core.web import actor, button, roles_required
from wellness.services import feeds

bp = Blueprint("feeds", __name__)

# A secret from secrets.token_urlsafe(32) is 43 characters; anything much longer is no feed.
MAX_TOKEN = 100


def _page(mode: str = "", token: str = "", status: int = 200):
    view = feeds.page(actor())
    address = ""
    if token:
        address = current_app.config["BASE_URL"] + url_for("feeds.feed", token=token)
    return render_template("wellness/feed.html", view=view, mode=mode, address=address, past_days=feeds.PAST_DAYS,
                           is_clinician=view.user.has_role(Role.CLINICIAN),
                           webcal=address.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1),
                           form=ActionForm()), status


@bp.get("/wellness/calendar-feed")
@roles_required(Role.CLINICIAN, Role.OFFICER)
def feed_page():
    return _page()


@bp.post("/wellness/calendar-feed/new")
@roles_required(Role.CLINICIAN, Role.OFFICER)
def feed_new():
    """Make (or replace) the address and show it, this once, in the answer itself: it is
    kept nowhere Beacon could show it from again (not even the session cookie)."""
    made = {}
    if not button(lambda: made.update(token=feeds.make(actor())), "Your calendar address is ready."):
        return redirect(url_for("feeds.feed_page"))
    response, status = _page("shown", made["token"])
    return response, status, {"Cache-Control": "no-store"}


@bp.get("/wellness/calendar-feed/replace")
@roles_required(Role.CLINICIAN, Role.OFFICER)
def feed_replace():
    """Confirmation: a new address ends the one a calendar app already uses."""
    view = feeds.page(actor())
    if view.feed is None:
        return redirect(url_for("feeds.feed_page"))
    return _page("replace")


@bp.route("/wellness/calendar-feed/revoke", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN, Role.OFFICER)
def feed_revoke():
    """GET: the confirmation; POST: the person's own live feed ends."""
    if request.method == "POST":
        button(lambda: feeds.revoke(actor()), "Your calendar address is revoked: it no longer works anywhere.")
        return redirect(url_for("feeds.feed_page"))
    if feeds.page(actor()).feed is None:
        return redirect(url_for("feeds.feed_page"))
    return _page("revoke")


def _feed_key() -> str:
    """The per-feed limit's key: a digest of the address's secret (never the secret)."""
    token = (request.view_args or {}).get("token", "")
    return "feed " + hashlib.sha256(f"ratelimit:{token}".encode()).hexdigest()[:16]


_per_feed = ratelimit.limiter.shared_limit(lambda: current_app.config["FEED_LIMIT_PER_FEED"],
                                           scope="calendar feed (one address)", key_func=_feed_key,
                                           methods=["GET", "HEAD"])


@bp.get("/calendar/<token>.ics")
@ratelimit.limited("FEED", methods=("GET", "HEAD"))
@_per_feed
def feed(token):
    """The feed: no session, the secret is the key. Nothing but 404 for anything else."""
    text = feeds.calendar_for(token, request.remote_addr) if len(token) <= MAX_TOKEN else None
    if text is None:
        abort(404)
    return Response(text, mimetype="text/calendar", headers={
        "Content-Disposition": 'inline; filename="beacon-appointments.ics"',
        "Cache-Control": "private, no-store",
    })


def init_app(app) -> None:
    try:
        parse_many(app.config["FEED_LIMIT_PER_FEED"])
    except ValueError as exc:
        raise RuntimeError(f"FEED_LIMIT_PER_FEED: {app.config['FEED_LIMIT_PER_FEED']!r} is not a limit such as "
                           "'10 per minute; 100 per hour'") from exc
    app.register_blueprint(bp)
