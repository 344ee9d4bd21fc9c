"""Beacon's settings, read from the environment with safe local defaults.

Every setting is documented in the README. Tests and `create_app(config=...)` may
override any of them; `validate()` refuses configurations that would be unsafe in
production (no SECRET_KEY or REVIEW_SEAL_KEY, insecure cookies).
"""
import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TRUE = {"1", "true", "yes", "on"}
MIN_SECRET_KEY = 32


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return str(value).strip().lower() in TRUE


def _int(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}") from exc


DEFAULT_WEIGHTS = "supervisor=0.35,peer=0.20,direct_report=0.20,community=0.25,self=0"
WEIGHT_PARTS = ("self", "supervisor", "peer", "direct_report", "community")


def _weights(raw):
    """REVIEW_WEIGHTS: `part=weight` pairs for the retention and promotion composite."""
    weights = dict.fromkeys(WEIGHT_PARTS, 0.0)
    for pair in filter(None, (p.strip() for p in str(raw).split(","))):
        name, _, value = pair.partition("=")
        name = name.strip()
        if name not in WEIGHT_PARTS:
            raise RuntimeError(f"REVIEW_WEIGHTS: unknown part {name!r} (use {', '.join(WEIGHT_PARTS)})")
        try:
            weights[name] = float(value)
        except ValueError as exc:
            raise RuntimeError(f"REVIEW_WEIGHTS: {name} needs a number, got {value!r}") from exc
        if weights[name] < 0:
            raise RuntimeError(f"REVIEW_WEIGHTS: {name} cannot be negative")
    if not sum(weights.values()):
        raise RuntimeError("REVIEW_WEIGHTS: at least one weight must be above 0")
    return weights


DEFAULT_RANK_BANDS = ("Officer=1,Police Officer=1,Detective=1,Corporal=1,Sergeant=2,Lieutenant=3,Captain=4,"
                      "Commander=5,Deputy Chief=5,Chief=6,Chief of Police=6")


def _rank_key(rank) -> str:
    """A roster rank as RANK_BANDS compares it: case and spacing do not matter."""
    return " ".join(str(rank).split()).casefold()


def _rank_bands(raw):
    """RANK_BANDS: `rank=band` pairs; ranks in one band are peers of each other in a 360
    cycle. A rank not listed is a band of its own."""
    bands = {}
    for pair in filter(None, (p.strip() for p in str(raw).split(","))):
        name, sep, value = pair.partition("=")
        if not sep or not _rank_key(name):
            raise RuntimeError(f"RANK_BANDS: {pair!r} is not in the form rank=band")
        try:
            bands[_rank_key(name)] = int(value)
        except ValueError as exc:
            raise RuntimeError(f"RANK_BANDS: {name.strip()} needs a whole number, got {value.strip()!r}") from exc
    return bands


def _driver_url(url):
    """psycopg 3 is the driver we ship; plain postgresql:// URLs from hosting platforms mean it."""
    if url and url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _dev_secret_key(instance_path):
    """A development secret, generated once and kept under instance/ so sessions
    survive restarts of the demo."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _dev_review_seal_key(env):
    """A development REVIEW_SEAL_KEY, generated once. Not in instance/, where the demo's
    database and secret_key live: a copy of that folder must not carry the key that
    opens the anonymous reviews held in it. It goes in the user's configuration folder
    instead ($XDG_CONFIG_HOME/beacon, else ~/.config/beacon), readable by its owner only."""
    folder = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "beacon"
    path = folder / "review_seal_key"
    if path.exists():
        return path.read_text().strip()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
    except OSError as exc:
        raise RuntimeError(f"REVIEW_SEAL_KEY is not set and {path} cannot be written ({exc.strerror}): "
                           "set REVIEW_SEAL_KEY") from exc
    return key


def load(instance_path, env=None):
    """Settings from `env` (default: os.environ) as a dict for app.config."""
    env = os.environ if env is None else env
    beacon_env = (env.get("BEACON_ENV") or "").strip().lower()
    if beacon_env not in ("", "development", "production"):
        # A typo ("prod") must not quietly give a development server with demo powers.
        raise RuntimeError(f"BEACON_ENV must be 'development' or 'production', got {env.get('BEACON_ENV')!r}")
    production = beacon_env == "production"
    database_url = _driver_url(env.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'beacon.db'}")
    secret_key = env.get("SECRET_KEY") or (None if production else _dev_secret_key(instance_path))
    return {
        "BEACON_ENV": "production" if production else "development",
        # Only an explicit BEACON_ENV=development allows the demo data (`make run` sets it).
        "DEMO_ALLOWED": beacon_env == "development",
        "SECRET_KEY": secret_key,
        # Seals anonymous reviews while they are held (evaluations/seal.py); its own key, not
        # derived from SECRET_KEY, and kept apart from the database and its backups.
        "REVIEW_SEAL_KEY": env.get("REVIEW_SEAL_KEY") or (None if production else _dev_review_seal_key(env)),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # The owner role `flask db upgrade` and `flask db-roles grant` connect as (core.db_roles);
        # unset (None): the same as DATABASE_URL.
        "MIGRATIONS_DATABASE_URL": _driver_url(env.get("MIGRATIONS_DATABASE_URL")) or None,
        # hide_parameters: a failed statement's error (and so the server log) never holds
        # the values it carried: names, notes, emails stay out of logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "BEACON_TIMEZONE": env.get("BEACON_TIMEZONE", "America/Chicago"),
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": _int(env, "SMTP_PORT", 587),
        "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_USE_TLS": _bool(env.get("SMTP_USE_TLS"), default=True),
        "SMTP_TIMEOUT": _int(env, "SMTP_TIMEOUT", 30),
        "MAIL_FROM": env.get("MAIL_FROM", "Beacon <beacon@localhost>"),
        "PROXY_FIX_X_FOR": _int(env, "PROXY_FIX_X_FOR", 0),
        "SESSION_IDLE_MINUTES": _int(env, "SESSION_IDLE_MINUTES", 30),
        "SESSION_MAX_HOURS": _int(env, "SESSION_MAX_HOURS", 12),
        "ACCESS_REVIEW_IDLE_DAYS": _int(env, "ACCESS_REVIEW_IDLE_DAYS", 90),
        # The daily backup (core.backup.daily): where, how many to keep, and the
        # passphrase that encrypts them (empty: not encrypted).
        "BACKUP_DIR": env.get("BACKUP_DIR", ""),
        "BACKUP_KEEP": _int(env, "BACKUP_KEEP", 14),
        "BACKUP_PASSPHRASE": env.get("BACKUP_PASSPHRASE", ""),
        # How long records are kept, in days (core.retention; README says why).
        **{name: _int(env, name, default) for name, default in (
            ("RETAIN_SESSIONS_DAYS", 30), ("RETAIN_TOKENS_DAYS", 30), ("RETAIN_OUTBOX_BODY_DAYS", 365),
            ("RETAIN_OUTBOX_DAYS", 2555), ("RETAIN_AUDIT_DAYS", 2555))},
        # One account (or one IP, signed out) refused this many times within this many
        # minutes gets one "repeated refusals" entry in the audit log: probing for ids.
        "REFUSAL_ALERT_COUNT": _int(env, "REFUSAL_ALERT_COUNT", 10),
        "REFUSAL_ALERT_MINUTES": _int(env, "REFUSAL_ALERT_MINUTES", 10),
        "WELLNESS_INTERVAL_MONTHS": _int(env, "WELLNESS_INTERVAL_MONTHS", 12),
        "WELLNESS_FIRST_RULE": env.get("WELLNESS_FIRST_RULE", "hire"),
        "WELLNESS_OPEN_WINDOW_DAYS": _int(env, "WELLNESS_OPEN_WINDOW_DAYS", 60),
        "LICENSE_WARNING_DAYS": _int(env, "LICENSE_WARNING_DAYS", 30),
        "BOOKING_HORIZON_DAYS": _int(env, "BOOKING_HORIZON_DAYS", 28),
        # How long whoever cancelled an appointment may undo it (same time, same calendar entry).
        "CANCEL_UNDO_MINUTES": _int(env, "CANCEL_UNDO_MINUTES", 5),
        # Rate limits (core/ratelimit.py): off only for tests. memory:// suits the one-process
        # demo; several workers must share one store: redis://host:6379/0.
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "beacon"),
        # "N per minute; M per hour" for each address, and for all addresses together.
        "LOGIN_LIMIT_PER_ADDRESS": env.get("LOGIN_LIMIT_PER_ADDRESS", "10 per minute; 100 per hour"),
        "LOGIN_LIMIT_OVERALL": env.get("LOGIN_LIMIT_OVERALL", "300 per minute"),
        "FORGOT_LIMIT_PER_ADDRESS": env.get("FORGOT_LIMIT_PER_ADDRESS", "5 per minute; 20 per hour"),
        "FORGOT_LIMIT_OVERALL": env.get("FORGOT_LIMIT_OVERALL", "60 per minute"),
        # Invitation and password-reset links: the code form, old-style links, the new-password form.
        "LINK_LIMIT_PER_ADDRESS": env.get("LINK_LIMIT_PER_ADDRESS", "10 per minute; 50 per hour"),
        "LINK_LIMIT_OVERALL": env.get("LINK_LIMIT_OVERALL", "120 per minute"),
        # Calendar feeds (/calendar/<secret>.ics), polled by calendar apps: per address, overall,
        # and per feed address wherever it is fetched from.
        "FEED_LIMIT_PER_ADDRESS": env.get("FEED_LIMIT_PER_ADDRESS", "30 per minute; 300 per hour"),
        "FEED_LIMIT_OVERALL": env.get("FEED_LIMIT_OVERALL", "600 per minute"),
        "FEED_LIMIT_PER_FEED": env.get("FEED_LIMIT_PER_FEED", "10 per minute; 60 per hour"),
        "OUTBOX_RETRY_BASE_SECONDS": _int(env, "OUTBOX_RETRY_BASE_SECONDS", 60),
        # After the fast retries (1, 2, 4, 8 x the base), a failed message is tried this often until it expires.
        "OUTBOX_RETRY_MAX_SECONDS": _int(env, "OUTBOX_RETRY_MAX_SECONDS", 3600),
        "OUTBOX_STALE_CLAIM_SECONDS": _int(env, "OUTBOX_STALE_CLAIM_SECONDS", 300),
        "SCHEDULER_EMBEDDED": _bool(env.get("SCHEDULER_EMBEDDED")),
        "SCHEDULER_STANDBY_POLL": _int(env, "SCHEDULER_STANDBY_POLL", 15),
        "SCHEDULER_MISFIRE_GRACE_SECONDS": _int(env, "SCHEDULER_MISFIRE_GRACE_SECONDS", 600),
        "SCHEDULER_DELIVERY_SECONDS": _int(env, "SCHEDULER_DELIVERY_SECONDS", 60),
        "SCHEDULER_REMINDER_SECONDS": _int(env, "SCHEDULER_REMINDER_SECONDS", 300),
        "WELLNESS_SWEEP_HOUR": _int(env, "WELLNESS_SWEEP_HOUR", 5),
        "HR_DIGEST_HOUR": _int(env, "HR_DIGEST_HOUR", 7),
        "REVIEW_PEERS": _int(env, "REVIEW_PEERS", 3),
        "REVIEW_THRESHOLD": _int(env, "REVIEW_THRESHOLD", 3),
        # The command role's figures: a group or count under this is shown as "fewer than N".
        "SUPPRESSION_THRESHOLD": _int(env, "SUPPRESSION_THRESHOLD", 5),
        # How long a personal address's confirmation link works (the private channel).
        "PRIVATE_ADDRESS_LINK_HOURS": _int(env, "PRIVATE_ADDRESS_LINK_HOURS", 24),
        "REVIEW_WEIGHTS": _weights(env.get("REVIEW_WEIGHTS", DEFAULT_WEIGHTS)),
        "RANK_BANDS": _rank_bands(env.get("RANK_BANDS", DEFAULT_RANK_BANDS)),
        "SESSION_COOKIE_NAME": "beacon_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), default=production),
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        # Roster and metrics uploads only (a 200,000-officer roster is about 9 MB).
        "IMPORT_MAX_BYTES": _int(env, "IMPORT_MAX_BYTES", 32 * 1024 * 1024),
        "SCHEDULER_IMPORT_SECONDS": _int(env, "SCHEDULER_IMPORT_SECONDS", 5),
        "IMPORT_STALE_SECONDS": _int(env, "IMPORT_STALE_SECONDS", 300),
        "IMPORT_KEEP_HOURS": _int(env, "IMPORT_KEEP_HOURS", 24),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (short) session
    }


def validate(config):
    """Refuse to start with settings that are unsafe or unusable."""
    if not config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: production refuses to start without one.")
    if config["BEACON_ENV"] == "production" and len(config["SECRET_KEY"]) < MIN_SECRET_KEY:
        raise RuntimeError(f"SECRET_KEY must be at least {MIN_SECRET_KEY} characters in production "
                           "(it signs sessions and CSRF tokens); "
                           "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'")
    if not config.get("REVIEW_SEAL_KEY"):
        raise RuntimeError("REVIEW_SEAL_KEY is not set: production refuses to start without one "
                           "(it seals anonymous reviews while they are held; keep it apart from the database).")
    if config["BEACON_ENV"] == "production" and (len(config["REVIEW_SEAL_KEY"]) < MIN_SECRET_KEY
                                                 or config["REVIEW_SEAL_KEY"] == config["SECRET_KEY"]):
        raise RuntimeError(f"REVIEW_SEAL_KEY must be at least {MIN_SECRET_KEY} characters in production, and "
                           "not the same as SECRET_KEY; make one with: "
                           "python3 -c 'import secrets; print(secrets.token_hex(32))'")
    if config["BEACON_ENV"] == "production" and not config["SESSION_COOKIE_SECURE"]:
        raise RuntimeError("SESSION_COOKIE_SECURE must stay on in production (serve Beacon over HTTPS).")
    if config.get("WELLNESS_FIRST_RULE", "hire") not in ("hire", "immediately"):
        raise RuntimeError("WELLNESS_FIRST_RULE must be 'hire' or 'immediately'")
    if not 0 <= config.get("REVIEW_PEERS", 3) <= 10:
        raise RuntimeError("REVIEW_PEERS must be between 0 and 10")
    if config.get("REFUSAL_ALERT_COUNT", 10) < 2 or config.get("REFUSAL_ALERT_MINUTES", 10) < 1:
        raise RuntimeError("REFUSAL_ALERT_COUNT must be at least 2 and REFUSAL_ALERT_MINUTES at least 1")
    if config.get("SUPPRESSION_THRESHOLD", 5) < 2:
        raise RuntimeError("SUPPRESSION_THRESHOLD must be at least 2 (a count of one is a person)")
    if config.get("REVIEW_THRESHOLD", 3) < 2:
        raise RuntimeError("REVIEW_THRESHOLD must be at least 2 (one response is never anonymous)")
    try:
        ZoneInfo(config["BEACON_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuntimeError(f"BEACON_TIMEZONE {config['BEACON_TIMEZONE']!r} is not a known time zone") from exc
