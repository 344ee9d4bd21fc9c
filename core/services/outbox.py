"""Use cases of the outbox: queue a message, deliver what is due, retry by hand.

Kernel infrastructure: every package may queue messages here, and nothing here names
a package. What the outbox must know of a kind of message (is it health-related, is
it a reminder HR follows, does it carry a sign-in link) the sending package declares
with `kind(...)` beside the code that sends it.

Every message is written to the outbox first, in the caller's transaction, under a
unique de-duplication key; delivery happens later, in its own transactions. A failed
message is tried again, fast at first, then every OUTBOX_RETRY_MAX_SECONDS, until it is
delivered or expires (at the `expires_at` its caller gave): nothing is given up silently.
"""
import csv
import io
import re
import smtplib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import String, any_, bindparam, case, cast, func, literal, select, update
from sqlalchemy.dialects import postgresql as pg

from core import clock, rules
from core.audit import Actor, record
from core.csvsafe import cell
from core.db import db, upsert_insert
from core.errors import DomainError, NotFound
from core.mailer import SMTPConnection, build_email
from core.models import PRIVILEGED, GrantStatus, OutboxMessage, OutboxStatus, Role, RoleGrant, User
from core.pagination import paginate


@dataclass(frozen=True)
class MessageKind:
    """What the outbox knows of one kind of message, as the package that sends it declared."""
    name: str
    # Health-related: administrators see that such a message exists and how its delivery
    # went, never to whom or about what. Stored on each message (`private`) when queued.
    private: bool = False
    # Listed on HR's reminders page (queued by a sweep, followed by HR).
    reminder: bool = False
    # Carries a link that signs its reader in (an invitation, a reset): its body is
    # never shown to an administrator outside a development demo.
    signs_in: bool = False
    label: str = ""


_KINDS: dict[str, MessageKind] = {}


def kind(name: str, *, private: bool = False, reminder: bool = False, signs_in: bool = False,
         label: str | None = None) -> str:
    """Declare a kind of message (at import time, in the module that sends it) and
    return its name, to pass as `kind=` to enqueue() or in a Batch. Declaring the same
    kind again the same way is harmless; differently, a programming error."""
    declared = MessageKind(name, private, reminder, signs_in, label or name.replace("_", " "))
    if _KINDS.setdefault(name, declared) != declared:
        raise ValueError(f"message kind {name!r} is already declared differently: {_KINDS[name]}")
    return name


def declared(name: str) -> MessageKind:
    """The declaration of a kind; an undeclared one (a test's, an old row's) is plain:
    not private, not a reminder, no sign-in link."""
    return _KINDS.get(name) or MessageKind(name, label=name.replace("_", " "))


def reminder_kind_names() -> list[str]:
    return sorted(k.name for k in _KINDS.values() if k.reminder)


def render_email(template: str, **context) -> str:
    """The body of a plain-text email from templates/email/<template>."""
    return render_template(f"email/{template}", base_url=current_app.config["BASE_URL"], **context)


def email_template(template: str) -> Callable[..., str]:
    """render_email() for a template a sweep renders thousands of times: looked up once,
    and rendered with only the values given and `base_url` (no email template uses the
    request's context: `config`, `request`, `current_user`), so the text is the same."""
    compiled = current_app.jinja_env.get_template(f"email/{template}")
    base_url = current_app.config["BASE_URL"]
    return lambda **context: compiled.render(base_url=base_url, **context)


def _msgid_domain() -> str:
    mail_from = current_app.config["MAIL_FROM"]
    return mail_from.rsplit("@", 1)[-1].strip(" >") or "beacon.local"


def _msgid_of(random_part: str, domain: str | None = None) -> str:
    return f"<{random_part}@{domain or _msgid_domain()}>"


def _msgid(domain: str | None = None) -> str:
    """A Message-ID, fixed at queue time. From the OS's randomness (uuid4), not
    email.utils.make_msgid: that one draws on the `random` module, whose state a test
    runner (hypothesis) or any library may seed, and two equal ids break the outbox's
    unique index."""
    return _msgid_of(uuid.uuid4().hex, domain)


def enqueue(*, kind: str, recipient: str, subject: str, body: str, dedup_key: str,
            ics: str | None = None, ics_method: str | None = None, private: bool = False,
            expires_at: datetime | None = None) -> bool:
    """Queue one message in the current transaction (the caller commits).

    Called by any package's services. A kind declared private (see `kind`) is always
    stored private; `private=True` marks a message of an undeclared kind so. Of a private
    message administrators see neither recipient nor subject. `expires_at` is when the message stops being
    true (its link lapses, the appointment it announces begins): not delivered by then,
    it is marked expired and never sent late; without it, it is retried until delivered.
    Returns False, and queues nothing, when a message with the same `dedup_key` already
    exists: that is how a second sweep, a retry or a second process never sends anything twice.
    """
    now = clock.now()
    stmt = upsert_insert(OutboxMessage).values(
        dedup_key=dedup_key, kind=kind, recipient=recipient, subject=subject, body=body,
        ics=ics, ics_method=ics_method, private=private or declared(kind).private,
        status=OutboxStatus.QUEUED, attempts=0, message_id=_msgid(),
        created_at=now, next_attempt_at=now, expires_at=expires_at,
    ).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(OutboxMessage.id)
    return db.session.execute(stmt).scalar() is not None


def drop_pending(dedup_prefix: str) -> int:
    """Drop the messages under `dedup_prefix` that have not gone out yet, in the
    caller's transaction: a reminder for something no longer true is never sent."""
    return db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedup_key.startswith(dedup_prefix, autoescape=True),
               OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.FAILED]))
        .values(status=OutboxStatus.DROPPED, next_attempt_at=None)
    ).rowcount


def release_dropped(dedup_prefix: str) -> int:
    """Free the keys of dropped messages under `dedup_prefix` (each keeps its row, its
    key suffixed with ":dropped-<id>"), in the caller's transaction: what was dropped
    because it stopped being true, and is true again (a cancellation undone), can be
    queued again by the next sweep, which decides afresh what is still due."""
    return db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedup_key.startswith(dedup_prefix, autoescape=True),
               OutboxMessage.status == OutboxStatus.DROPPED)
        .values(dedup_key=OutboxMessage.dedup_key + ":dropped-" + cast(OutboxMessage.id, String))
        .execution_options(synchronize_session=False)
    ).rowcount


def drop_pending_keys(dedup_keys: list[str]) -> int:
    """Drop the messages with exactly these keys that have not gone out yet, in the
    caller's transaction (for a link that was replaced before its mail went out)."""
    if not dedup_keys:
        return 0
    return db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedup_key.in_(dedup_keys),
               OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.FAILED]))
        .values(status=OutboxStatus.DROPPED, next_attempt_at=None)
    ).rowcount


class Batch:
    """Messages a sweep wants queued, keyed by de-duplication key. `flush()` asks the
    outbox once which keys it already holds and builds (renders) and queues only the
    others: a repeat sweep costs a few queries, not one per reminder."""

    def __init__(self):
        self._wanted: dict[str, tuple[str, object]] = {}

    def add(self, label: str, dedup_key: str, build) -> None:
        """`build()` returns enqueue()'s keyword arguments (without dedup_key; with
        `expires_at` when the message can stop being true)."""
        self._wanted.setdefault(dedup_key, (label, build))

    def flush(self) -> Counter:
        postgresql = db.session.get_bind().dialect.name == "postgresql"
        keys = list(self._wanted)
        existing = _existing_keys(keys, postgresql)
        now = clock.now()
        domain = _msgid_domain()
        rows = []
        for key in keys:
            if key not in existing:
                message = {"ics": None, "ics_method": None, "private": False, "expires_at": None,
                           **self._wanted[key][1]()}
                message["private"] = message["private"] or declared(message["kind"]).private
                rows.append({**message, "dedup_key": key, "message_id": _msgid(domain)})
        queued = Counter()
        # Rows a racing sweep queued first are skipped (ON CONFLICT on the unique key) and
        # return no key, so they are not counted.
        for key in (_insert_arrays if postgresql else _insert_rows)(rows, now):
            queued[self._wanted[key][0]] += 1
        self._wanted.clear()
        return queued


_CHUNK = 10_000
# The columns a Batch row brings; the rest are the same for every row.
_BATCH_COLUMNS = ("dedup_key", "kind", "recipient", "subject", "body", "ics", "ics_method", "private", "expires_at",
                  "message_id")


def _existing_keys(keys: list[str], postgresql: bool) -> set[str]:
    """Which of `keys` the outbox holds. On PostgreSQL one array parameter per ten
    thousand keys (`= ANY(:keys)`): an IN list of a thousand separate parameters took
    half a second a statement there; SQLite answers IN lists quickly."""
    column = OutboxMessage.dedup_key
    existing = set()
    size = _CHUNK if postgresql else 1000
    for start in range(0, len(keys), size):
        chunk = keys[start:start + size]
        where = (column == any_(bindparam("keys", chunk, type_=pg.ARRAY(column.type))) if postgresql
                 else column.in_(chunk))
        existing.update(db.session.scalars(select(column).where(where)))
    return existing


def _insert_rows(rows: list[dict], now: datetime):
    """SQLite: one statement, compiled once and sent with every row; SQLAlchemy packs the
    rows into multi-row INSERTs. Yields the keys inserted."""
    if not rows:
        return
    table = OutboxMessage.__table__
    stmt = (upsert_insert(table)
            .values(status=OutboxStatus.QUEUED, attempts=0, created_at=now, next_attempt_at=now)
            .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.dedup_key))
    yield from db.session.connection().execute(stmt, rows).scalars()


def _insert_arrays(rows: list[dict], now: datetime):
    """PostgreSQL: INSERT … SELECT FROM unnest(one array per column), ten thousand rows a
    statement. (A multi-row VALUES of a thousand rows has 14,000 parameters, which the
    driver parses and the server plans again for every statement.) Yields the keys inserted."""
    table = OutboxMessage.__table__
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        arrays = [bindparam(name, [row[name] for row in chunk], type_=pg.ARRAY(table.c[name].type))
                  for name in _BATCH_COLUMNS]
        new = func.unnest(*arrays).table_valued(*_BATCH_COLUMNS).render_derived(name="new")
        constants = (literal(OutboxStatus.QUEUED, table.c.status.type), literal(0, table.c.attempts.type),
                     literal(now, table.c.created_at.type), literal(now, table.c.next_attempt_at.type))
        stmt = (pg.insert(table)
                .from_select([*_BATCH_COLUMNS, "status", "attempts", "created_at", "next_attempt_at"],
                             select(*new.c, *constants))
                .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.dedup_key))
        yield from db.session.execute(stmt).scalars()


@dataclass
class DeliveryReport:
    configured: bool = True
    sent: int = 0
    failed: int = 0
    requeued_stale: int = 0
    expired: int = 0
    stopped: bool = False  # the caller said to stop (a scheduler that lost its lock)
    errors: list[str] = field(default_factory=list)


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


BATCH = 20


def deliver(limit: int = 200, keep_going: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send what is due: queued messages and failed ones whose retry time has come,
    after expiring those that stopped being true (they are never sent late).

    Anyone may trigger it (CLI, scheduler). Each message is claimed (marked `sending`
    and committed) before the SMTP call, so two delivery runs never send the same
    message; the moment before the end of data is committed too, and the result right
    after each send, so `reconcile()` can settle what a crash interrupts. Messages go
    in batches of BATCH; before each, `keep_going()` (when given) is asked whether to
    go on: a scheduler that lost its leadership stops there.
    """
    report = DeliveryReport(configured=smtp_configured())
    if not report.configured:
        return report
    now = clock.now()
    report.requeued_stale = reconcile(now)
    report.expired = expire_due(now)
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.FAILED]),
               OutboxMessage.next_attempt_at.is_not(None),
               OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    config = current_app.config
    with SMTPConnection(config) as smtp:
        for index, message_id in enumerate(due):
            if index % BATCH == 0 and keep_going is not None and not keep_going():
                report.stopped = True
                break
            message = _claim(message_id, clock.now())
            if message is None:
                continue  # another delivery run took it
            if rules.message_expired(message.expires_at, clock.now()):  # it lapsed since the run began
                _expire(message, clock.now())
                report.expired += 1
                db.session.commit()
                continue
            try:
                email = build_email(message, config["MAIL_FROM"])
            except (ValueError, TypeError) as exc:  # a malformed message must not hold up the rest
                _failed(message, exc, report)
                db.session.commit()
                continue
            try:
                smtp.send(email, before_end_of_data=lambda m=message: _mark_end_of_data(m))
            except smtplib.SMTPServerDisconnected as exc:
                _interrupted(message, exc, report)
            except smtplib.SMTPException as exc:  # the server answered no
                _failed(message, exc, report)
            except OSError as exc:                 # the connection broke or timed out
                _interrupted(message, exc, report)
            else:
                message.attempts += 1
                message.status = OutboxStatus.SENT
                message.sent_at = clock.now()
                message.last_error = None
                message.next_attempt_at = None
                report.sent += 1
            db.session.commit()
    return report


def _failed(message: OutboxMessage, exc: Exception, report: DeliveryReport) -> None:
    message.attempts += 1
    message.status = OutboxStatus.FAILED
    message.end_of_data_at = None
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    message.next_attempt_at = rules.retry_at(message.attempts, clock.now(),
                                             current_app.config["OUTBOX_RETRY_BASE_SECONDS"],
                                             current_app.config["OUTBOX_RETRY_MAX_SECONDS"])
    report.failed += 1
    # The report reaches logs and the terminal: of a health-related message only the kind
    # of error (its text can name the recipient).
    if message.private:
        report.errors.append(f"message {message.id} (health-related): {type(exc).__name__}")
    else:
        report.errors.append(f"message {message.id} to {message.recipient}: {message.last_error}")


def _expire(message: OutboxMessage, now) -> None:
    message.status = OutboxStatus.EXPIRED
    message.expired_at = now
    message.next_attempt_at = None


def expire_due(now=None) -> int:
    """Mark expired every queued or failed message whose `expires_at` has come (the same
    decision as rules.message_expired, in SQL): it is kept for the record, never sent late.
    Returns how many. Commits."""
    now = now or clock.now()
    count = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.FAILED]),
               OutboxMessage.expires_at <= now)
        .values(status=OutboxStatus.EXPIRED, expired_at=now, next_attempt_at=None)
    ).rowcount
    db.session.commit()
    return count


def _interrupted(message: OutboxMessage, exc: Exception, report: DeliveryReport) -> None:
    if message.end_of_data_at is not None:
        # The server had the whole message when the line broke: taken as delivered,
        # never sent twice (README: delivery guarantees).
        _taken_as_delivered(message, f"connection lost after the end of data: {exc}")
        report.sent += 1
    else:
        _failed(message, exc, report)


def _mark_end_of_data(message: OutboxMessage) -> None:
    """Recorded (committed) just before the final "." of the SMTP transaction."""
    message.end_of_data_at = clock.now()
    db.session.commit()


def _taken_as_delivered(message: OutboxMessage, note: str) -> None:
    message.attempts += 1
    message.status = OutboxStatus.SENT
    message.sent_at = message.end_of_data_at
    message.next_attempt_at = None
    message.last_error = f"not confirmed by the server ({note})"[:2000]


def _claim(message_id: int, now) -> OutboxMessage | None:
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id,
               OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.FAILED]))
        .values(status=OutboxStatus.SENDING, claimed_at=now, end_of_data_at=None)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    return db.session.get(OutboxMessage, message_id)


def reconcile(now=None) -> int:
    """Settle the messages a delivery run left claimed when it died (claimed longer ago
    than OUTBOX_STALE_CLAIM_SECONDS). One whose end of data had not been sent never
    reached the server: it goes back in the queue. One whose end of data had been sent
    was in the server's hands: it is taken as delivered, so it is never sent twice.
    Returns how many were settled. Commits."""
    now = now or clock.now()
    stale = now - timedelta(seconds=current_app.config["OUTBOX_STALE_CLAIM_SECONDS"])
    base = (OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < stale)
    requeued = db.session.execute(
        update(OutboxMessage).where(*base, OutboxMessage.end_of_data_at.is_(None))
        .values(status=OutboxStatus.QUEUED, next_attempt_at=now)).rowcount
    settled = db.session.scalars(select(OutboxMessage).where(*base, OutboxMessage.end_of_data_at.is_not(None))).all()
    for message in settled:
        _taken_as_delivered(message, "the sender stopped after the end of data")
    db.session.commit()
    return requeued + len(settled)


def retry(actor: Actor, ref: str) -> None:
    """An admin has a failed message tried at the next delivery run instead of at its
    next retry time. An expired one is never sent late: it is refused (and marked
    expired if its time passed since the last delivery run). Commits."""
    message = get_message(actor, ref)
    now = clock.now()
    if message.status == OutboxStatus.FAILED and rules.message_expired(message.expires_at, now):
        _expire(message, now)
        db.session.commit()
    if message.status == OutboxStatus.EXPIRED:
        raise DomainError("This message expired before it could be delivered; it is never sent late.")
    if message.status != OutboxStatus.FAILED:
        raise DomainError("Only a failed message can be retried.")
    message.next_attempt_at = now
    record(actor, "outbox.retry", target=f"message {message.ref}")
    db.session.commit()


def hour_of(value: datetime | None) -> datetime | None:
    return value.replace(minute=0, second=0, microsecond=0) if value is not None else None


def shown_time(message: OutboxMessage, value: datetime | None) -> datetime | None:
    """A time of `message` as administrators see it (pages, the CSV): to the hour for
    a health-related one, so it cannot be matched to a sign-in or any other event in
    the audit log; to the microsecond for the others."""
    return hour_of(value) if message.private else value


def _hour(column):
    """`column` cut to its UTC hour, in SQL, for an order that tells no finer time."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.substr(column, 1, 13)  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" (UTC)


def _admin_order(descending: bool):
    """Hour by hour; within an hour the health-related messages come first, in the
    order of their random Message-IDs, then the others by id. Ordering by id alone
    would place a private message between two others whose times are shown exactly."""
    hour = _hour(OutboxMessage.created_at)
    by_id = OutboxMessage.id.desc() if descending else OutboxMessage.id
    return (hour.desc() if descending else hour, OutboxMessage.private.desc(),
            case((OutboxMessage.private, OutboxMessage.message_id), else_=""), by_id)


def list_messages(actor: Actor, *, status: str | None = None, recipient: str | None = None,
                  page: int = 1, per_page: int = 50):
    """The outbox for admins, newest hour first (see _admin_order)."""
    actor.require(Role.ADMIN)
    query = select(OutboxMessage).order_by(*_admin_order(descending=True))
    if status == UNDELIVERED:
        query = query.where(OutboxMessage.status.in_(PENDING))
    elif status:
        query = query.where(OutboxMessage.status == status)
    if recipient:  # health-related messages are never found by their recipient
        query = query.where(OutboxMessage.recipient.ilike(f"%{recipient.strip()}%"), OutboxMessage.private.is_(False))
    return paginate(query, page, per_page)


WITHHELD = "withheld (health-related)"


def body_visible(message: OutboxMessage) -> bool:
    """Whether an administrator may read a message's body: never a health-related one;
    an invitation or reset link only in a development demo without SMTP (it would let
    the reader take over the account)."""
    if message.private:
        return False
    if declared(message.kind).signs_in:
        return (not smtp_configured() and current_app.config["BEACON_ENV"] != "production"
                and not _privileged_recipient(message.recipient))
    return not smtp_configured()


def _privileged_recipient(email: str) -> bool:
    """Whether `email` is an account that holds, or waits for, a privileged role (or
    no role yet): its sign-in links stay unread even in the demo, so no administrator
    can take over an account that reaches health information or runs the system."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        return False
    waiting = db.session.scalar(select(func.count()).select_from(RoleGrant).where(
        RoleGrant.user_id == user.id, RoleGrant.status == GrantStatus.PENDING))
    return bool(waiting or not user.roles or user.roles & PRIVILEGED)
PENDING = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED)
UNDELIVERED = "undelivered"  # the outbox filter for PENDING
EXPIRED_SHOWN_DAYS = 7


def list_reminders(actor: Actor, *, state: str | None = None, recipient: str = "", kind: str = "",
                   page: int = 1, per_page: int = 50):
    """HR sees every reminder (every message of a kind declared `reminder=True`), pending,
    sent and dropped: recipient, subject, times. (Most are health-related: administrators
    see those only as withheld rows.)"""
    actor.require(Role.HR)
    query = select(OutboxMessage).where(OutboxMessage.kind.in_(reminder_kind_names()))
    if state == "pending":
        query = query.where(OutboxMessage.status.in_(PENDING))
    elif state in ("sent", "dropped", "expired"):
        query = query.where(OutboxMessage.status == state)
    if recipient:
        query = query.where(OutboxMessage.recipient.ilike(f"%{recipient.strip()}%"))
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return paginate(query.order_by(OutboxMessage.id.desc()), page, per_page)


def reminder_kinds() -> list[MessageKind]:
    """The reminder kinds the outbox holds messages of, for HR's filter."""
    return [declared(name) for name in db.session.scalars(select(OutboxMessage.kind).distinct().where(
        OutboxMessage.kind.in_(reminder_kind_names())).order_by(OutboxMessage.kind))]


REF = re.compile(r"[0-9a-f]{32}")


def get_message(actor: Actor, ref: str) -> OutboxMessage:
    """Administrators: one message by its `ref` (OutboxMessage.ref), its body only as
    body_visible allows. Changes nothing."""
    actor.require(Role.ADMIN)
    if not REF.fullmatch(ref or ""):
        raise NotFound("No such message.")
    # The unique index finds it by the whole Message-ID; a message queued before the
    # sender's domain changed is found by its random part alone (a scan, but rare).
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == _msgid_of(ref))) \
        or db.session.scalar(select(OutboxMessage).where(OutboxMessage.message_id.startswith(f"<{ref}@",
                                                                                             autoescape=True)))
    if message is None:
        raise NotFound("No such message.")
    return message


def delivery_summary(actor: Actor) -> dict:
    """For administrators' home page: how many messages are not delivered yet, how long
    the oldest has waited, the latest delivery error, and how many expired undelivered
    in the last EXPIRED_SHOWN_DAYS days. Of a health-related message's error only its
    kind is shown (the text can name the recipient)."""
    actor.require(Role.ADMIN)
    now = clock.now()
    waiting, oldest, oldest_private = db.session.execute(
        select(func.count(), func.min(case((OutboxMessage.private, None), else_=OutboxMessage.created_at)),
               func.min(case((OutboxMessage.private, OutboxMessage.created_at), else_=None)))
        .where(OutboxMessage.status.in_(PENDING))).one()
    # A health-related message's wait counts from its hour, as its time is shown.
    oldest = min((t for t in (oldest, hour_of(oldest_private)) if t is not None), default=None)
    latest = db.session.execute(
        select(OutboxMessage.last_error, OutboxMessage.private)
        .where(OutboxMessage.status.in_(PENDING), OutboxMessage.last_error.is_not(None))
        .order_by(OutboxMessage.claimed_at.desc(), OutboxMessage.id.desc()).limit(1)).first()
    last_error, withheld = None, False
    if latest is not None:
        error, withheld = latest
        last_error = error.split(":", 1)[0] if withheld else error[:200]
    expired = db.session.scalar(select(func.count()).where(
        OutboxMessage.status == OutboxStatus.EXPIRED,
        OutboxMessage.expired_at >= now - timedelta(days=EXPIRED_SHOWN_DAYS)))
    return {"waiting": waiting, "waited": rules.waited(now - oldest) if oldest else None,
            "last_error": last_error, "last_error_withheld": withheld, "expired": expired,
            "expired_days": EXPIRED_SHOWN_DAYS, "smtp_configured": smtp_configured()}



def export_csv(actor: Actor, date_from, date_to, zone) -> str:
    """Admins export every message created in a date range (department dates, both ends
    included) for records requests: recipients, subjects, times, outcome. Audited.
    Of a health-related message: no id, no recipient or subject, times to the hour,
    and an order that tells no finer time (see _admin_order)."""
    actor.require(Role.ADMIN)
    if date_to < date_from:
        raise DomainError("The end date is before the start date.")
    date_to = min(date_to, date(9998, 12, 31))
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "created", "sent", "recipient", "kind", "subject", "status", "attempts", "message_id",
                     "expires", "expired"])
    count = 0
    for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.created_at >= start,
                                                            OutboxMessage.created_at < end)
                                .order_by(*_admin_order(descending=False))).yield_per(2000):
        recipient, kind, subject = (WITHHELD, "private", WITHHELD) if m.private else (m.recipient, m.kind, m.subject)

        def at(value, m=m):
            return shown_time(m, value).isoformat() if value else ""
        writer.writerow(["" if m.private else m.id, at(m.created_at), at(m.sent_at), cell(recipient),
                         kind, cell(subject), m.status.value, m.attempts, m.message_id,
                         at(m.expires_at), at(m.expired_at)])
        count += 1
    record(actor, "outbox.exported", detail=f"{date_from} to {date_to}: {count} message(s)")
    db.session.commit()
    return out.getvalue()
