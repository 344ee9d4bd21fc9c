"""Use cases of the outbox: queue a message, deliver what is due, retry by hand.

Every message is written to the outbox first, in the caller's transaction, under a
unique de-duplication key; delivery happens later, in its own transactions.
"""
import csv
import io
import smtplib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.utils import make_msgid

from flask import current_app, render_template
from sqlalchemy import func, or_, select, update

from core import clock
from core.audit import Actor, record
from core.csvsafe import cell
from core.db import db, upsert_insert
from core.errors import DomainError, NotFound
from notifications import rules
from notifications.mailer import SMTPConnection, build_email
from notifications.models import OutboxMessage, OutboxStatus


def render_email(template: str, **context) -> str:
    """The body of a plain-text email from templates/email/<template>."""
    return render_template(f"email/{template}", base_url=current_app.config["BASE_URL"], **context)


def _msgid() -> str:
    mail_from = current_app.config["MAIL_FROM"]
    domain = mail_from.rsplit("@", 1)[-1].strip(" >") or "beacon.local"
    return make_msgid(domain=domain)


def enqueue(*, kind: str, recipient: str, subject: str, body: str, dedup_key: str,
            ics: str | None = None, ics_method: str | None = None, private: bool = False) -> bool:
    """Queue one message in the current transaction (the caller commits).

    Called by domain services; `private` marks health-related messages, whose recipient
    and subject administrators do not see. Returns False, and queues nothing, when a
    message with the same `dedup_key` already exists: that is how a second sweep, a retry or a
    second process never sends anything twice.
    """
    now = clock.now()
    stmt = upsert_insert(OutboxMessage).values(
        dedup_key=dedup_key, kind=kind, recipient=recipient, subject=subject, body=body,
        ics=ics, ics_method=ics_method, private=private, status=OutboxStatus.QUEUED, attempts=0,
        message_id=_msgid(), created_at=now, next_attempt_at=now,
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


class Batch:
    """Messages a sweep wants queued, keyed by de-duplication key. `flush()` asks the
    outbox once which keys it already holds and builds (renders) and queues only the
    others: a repeat sweep costs a few queries, not one per reminder."""

    def __init__(self):
        self._wanted: dict[str, tuple[str, object]] = {}

    def add(self, label: str, dedup_key: str, build) -> None:
        """`build()` returns enqueue()'s keyword arguments (without dedup_key)."""
        self._wanted.setdefault(dedup_key, (label, build))

    def flush(self) -> Counter:
        keys = list(self._wanted)
        existing = set()
        for start in range(0, len(keys), 1000):
            existing.update(db.session.scalars(select(OutboxMessage.dedup_key)
                                               .where(OutboxMessage.dedup_key.in_(keys[start:start + 1000]))))
        now = clock.now()
        rows = []
        for key in keys:
            if key not in existing:
                message = {"ics": None, "ics_method": None, "private": False, **self._wanted[key][1]()}
                rows.append({**message, "dedup_key": key, "status": OutboxStatus.QUEUED, "attempts": 0,
                             "message_id": _msgid(), "created_at": now, "next_attempt_at": now})
        queued = Counter()
        for start in range(0, len(rows), 1000):  # one statement per thousand; a racing sweep's rows are skipped
            stmt = (upsert_insert(OutboxMessage).values(rows[start:start + 1000])
                    .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(OutboxMessage.dedup_key))
            for key in db.session.scalars(stmt):
                queued[self._wanted[key][0]] += 1
        self._wanted.clear()
        return queued


@dataclass
class DeliveryReport:
    configured: bool = True
    sent: int = 0
    failed: int = 0
    requeued_stale: int = 0
    errors: list[str] = field(default_factory=list)


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def deliver(limit: int = 200) -> DeliveryReport:
    """Send what is due: queued messages and failed ones whose retry time has come.

    Anyone may trigger it (CLI, scheduler). Each message is claimed (marked `sending`
    and committed) before the SMTP call, so two delivery runs never send the same
    message; the moment before the end of data is committed too, and the result right
    after each send, so `reconcile()` can settle what a crash interrupts.
    """
    report = DeliveryReport(configured=smtp_configured())
    if not report.configured:
        return report
    now = clock.now()
    report.requeued_stale = reconcile(now)
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
        for message_id in due:
            message = _claim(message_id, now)
            if message is None:
                continue  # another delivery run took it
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
                                             current_app.config["OUTBOX_RETRY_BASE_SECONDS"])
    report.failed += 1
    report.errors.append(f"message {message.id} to {message.recipient}: {message.last_error}")


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


def retry(actor: Actor, message_id: int) -> None:
    """An admin puts a failed message back in the queue."""
    actor.require("admin")
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("No such message.")
    if message.status != OutboxStatus.FAILED:
        raise DomainError("Only a failed message can be retried.")
    message.next_attempt_at = clock.now()
    record(actor, "outbox.retry", target=f"message {message.id}")
    db.session.commit()


def list_messages(actor: Actor, *, status: str | None = None, recipient: str | None = None,
                  page: int = 1, per_page: int = 50):
    """The outbox for admins, newest first."""
    actor.require("admin")
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    if recipient:  # health-related messages are never found by their recipient
        query = query.where(OutboxMessage.recipient.ilike(f"%{recipient.strip()}%"), OutboxMessage.private.is_(False))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


REMINDER_KINDS = ("reminder_", "license_warning", "hr_digest")
WITHHELD = "withheld (health-related)"
TOKEN_KINDS = ("invite", "reset")


def body_visible(message: OutboxMessage) -> bool:
    """Whether an administrator may read a message's body: never a health-related one;
    an invitation or reset link only in a development demo without SMTP (it would let
    the reader take over the account)."""
    if message.private:
        return False
    if message.kind in TOKEN_KINDS:
        return not smtp_configured() and current_app.config["BEACON_ENV"] != "production"
    return not smtp_configured()
PENDING = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED)


def list_reminders(actor: Actor, *, state: str | None = None, recipient: str = "", kind: str = "",
                   page: int = 1, per_page: int = 50):
    """HR sees every reminder, pending, sent and dropped: recipient, subject, times.
    (Reminders are health-related: administrators see them only as withheld rows.)"""
    actor.require("hr")
    query = select(OutboxMessage).where(or_(*[OutboxMessage.kind.startswith(k) for k in REMINDER_KINDS]))
    if state == "pending":
        query = query.where(OutboxMessage.status.in_(PENDING))
    elif state in ("sent", "dropped"):
        query = query.where(OutboxMessage.status == state)
    if recipient:
        query = query.where(OutboxMessage.recipient.ilike(f"%{recipient.strip()}%"))
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return db.paginate(query.order_by(OutboxMessage.id.desc()), page=page, per_page=per_page, error_out=False)


def reminder_kinds() -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.kind).distinct().where(
        or_(*[OutboxMessage.kind.startswith(k) for k in REMINDER_KINDS])).order_by(OutboxMessage.kind)))


def get_message(actor: Actor, message_id: int) -> OutboxMessage:
    actor.require("admin")
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("No such message.")
    return message


def outbox_counts() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status.value: count for status, count in rows}



def export_csv(actor: Actor, date_from, date_to, zone) -> str:
    """Admins export every message created in a date range (department dates, both ends
    included) for records requests: recipients, subjects, times, outcome. Audited."""
    actor.require("admin")
    if date_to < date_from:
        raise DomainError("The end date is before the start date.")
    date_to = min(date_to, date(9998, 12, 31))
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "created", "sent", "recipient", "kind", "subject", "status", "attempts", "message_id"])
    count = 0
    for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.created_at >= start,
                                                            OutboxMessage.created_at < end)
                                .order_by(OutboxMessage.id)).yield_per(2000):
        recipient, kind, subject = (WITHHELD, "private", WITHHELD) if m.private else (m.recipient, m.kind, m.subject)
        writer.writerow([m.id, m.created_at.isoformat(), m.sent_at.isoformat() if m.sent_at else "", cell(recipient),
                         kind, cell(subject), m.status.value, m.attempts, m.message_id])
        count += 1
    record(actor, "outbox.exported", detail=f"{date_from} to {date_to}: {count} message(s)")
    db.session.commit()
    return out.getvalue()
