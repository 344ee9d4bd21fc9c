"""Rate limits on the pages that take a password or a one-time link: by client address
and overall, in a store all workers share.

Each limited page has two settings, `<NAME>_LIMIT_PER_ADDRESS` and `<NAME>_LIMIT_OVERALL`
(limit strings such as "10 per minute; 100 per hour", see config.py). Only the requests
that do the work count: a form's POST (showing the sign-in page costs nothing), and the
GET of an old-style link, which checks a token. A refused request gets a 429 page that
says when to try again, with `Retry-After`; it never reaches the view, so it never counts
towards an account's lockout, and every limit ends with its window: nobody is locked out
by a limit for longer than that.

Storage: `RATELIMIT_STORAGE_URI`. The default, "memory://", is for the single-process
demo (`flask run`): one process holds all the counts, so there is nothing to share, and
the demo needs no other server. The database would also be shared, but every attempt
would then cost a write on the very table a flood is slowing down. Production runs
several gunicorn workers, each with its own memory, so it sets
`RATELIMIT_STORAGE_URI=redis://…`: counts are then atomic and shared by every worker and
host. If Redis cannot be reached, each worker falls back to counting in its own memory
(logged) rather than refusing every sign-in.

One `Limiter` per process, bound to the app by `init_app`, as every extension here.
"""
import ipaddress
import logging
import math
from datetime import datetime, timezone

from flask import current_app, make_response, render_template, request
from flask_limiter import Limiter
from limits import parse_many

logger = logging.getLogger(__name__)

EVERYONE = "everyone"  # the key of the overall limits: one count for all clients
# Each limited group of pages: its settings' prefix, and what the 429 page calls it.
GROUPS = {
    "LOGIN": "sign-in",
    "FORGOT": "password-reset request",
    "LINK": "invitation and password link",
    "FEED": "calendar feed",
}


def client_address() -> str:
    """The client's address as Beacon knows it: `request.remote_addr`, which ProxyFix has
    already taken from X-Forwarded-For when PROXY_FIX_X_FOR trusts a proxy. An IPv6
    client usually holds a whole /64, so that is what is counted; never empty (an empty
    key would make Flask-Limiter skip the limit)."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def everyone() -> str:
    return EVERYONE


def log_breach(limit) -> None:
    """Flask-Limiter's on_breach: one WARNING per limit and key per window, not one per
    refused request. The mark that it was logged lives in the limits' own store, so with
    Redis one line is written whichever worker sees the breach; if the store cannot be
    reached the line is written anyway (too many lines beat none)."""
    who, scope = limit.request_args[-2:]
    try:
        first = limiter.storage.incr(f"beacon-breach-logged/{limit.key}", limit.limit.get_expiry()) == 1
    except Exception:  # the store is down: the in-memory fallback counts, and we still log
        first = True
    if first:
        logger.warning("Rate limit reached on %s: %s for %s (%s %s); further refusals in this window "
                       "are not logged", scope, limit.limit, who, request.method,
                       # the route's pattern, not the path: a path may hold a secret (a feed's, a link's)
                       request.url_rule.rule if request.url_rule else request.path)


limiter = Limiter(
    key_func=client_address,
    strategy="moving-window",        # no burst of twice the limit at a window's edge
    on_breach=log_breach,
    in_memory_fallback_enabled=True,  # Redis down: count per worker rather than refuse everyone
)


def limited(name: str, methods=("POST",)):
    """Decorator: the `<name>_LIMIT_PER_ADDRESS` and `<name>_LIMIT_OVERALL` limits on a
    view, counting `methods` only. Views decorated with the same `name` share one
    budget (a second sign-in step would use "LOGIN"). Of limits with the same period the
    address's is checked first, so a request it refuses spends nothing of everyone's."""
    scope = GROUPS[name]
    per_address = limiter.shared_limit(lambda: current_app.config[f"{name}_LIMIT_PER_ADDRESS"],
                                       scope=scope, methods=list(methods))
    overall = limiter.shared_limit(lambda: current_app.config[f"{name}_LIMIT_OVERALL"],
                                   scope=f"{scope} (overall)", key_func=everyone, methods=list(methods))

    def decorator(view):
        return overall(per_address(view))
    return decorator


def init_app(app) -> None:
    """Bind the limiter to `app`; refuse a limit setting that does not parse."""
    for name in GROUPS:
        for setting in (f"{name}_LIMIT_PER_ADDRESS", f"{name}_LIMIT_OVERALL"):
            try:
                parse_many(app.config[setting])
            except ValueError as exc:
                raise RuntimeError(f"{setting}: {app.config[setting]!r} is not a limit such as "
                                   "'10 per minute; 100 per hour'") from exc
    # The limiter keeps the key prefix of the first app it meets; each app (tests make
    # many, one after another) gets its own.
    limiter._key_prefix = app.config.get("RATELIMIT_KEY_PREFIX", "")
    limiter.init_app(app)
    # Flask-Limiter's own line for every refused request: ours (above) is once per window.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    if (app.config["RATELIMIT_ENABLED"] and app.config["BEACON_ENV"] == "production"
            and app.config["RATELIMIT_STORAGE_URI"].startswith("memory:")):
        logger.warning("RATELIMIT_STORAGE_URI is memory://: each worker counts alone. "
                       "With several workers set it to redis://… so the limits are shared.")


def wait_in_words(seconds: int) -> str:
    """'45 seconds', 'a minute', '3 minutes', '2 hours': how long the 429 page asks to wait."""
    if seconds < 60:
        seconds = max(seconds, 1)
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes == 1:
        return "a minute"
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def render_too_many(error):
    """429: a page saying when to try again, and `Retry-After` in seconds."""
    breached = limiter.current_limit
    now = datetime.now(timezone.utc).timestamp()  # the limits' store keeps wall-clock time
    if breached is not None:
        # reset_at is rounded up to the next second; never ask for more than the window.
        seconds = min(math.ceil(breached.reset_at - now), breached.limit.get_expiry())
        overall = breached.request_args[-2] == EVERYONE
    else:
        seconds, overall = 60, False
    seconds = max(1, seconds)
    until = datetime.fromtimestamp(now + seconds, timezone.utc)
    response = make_response(render_template("errors/429.html", wait=wait_in_words(seconds), until=until,
                                             overall=overall), 429)
    response.headers["Retry-After"] = str(seconds)
    return response
