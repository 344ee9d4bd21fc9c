"""Import jobs: a roster or metrics file uploaded once, kept in the database, checked
and (once HR confirms) written by a worker — the scheduler's `import-jobs` job or
`flask imports work` — so no web request has to hold a large file or outlive a
worker timeout.

States: checking → ready (the preview) → importing → done; or rejected (errors, by
line), failed (the write failed: nothing written), cancelled (never confirmed). The
write itself is the kind's own import function, all or nothing in one transaction;
progress is published meanwhile on a separate connection (see `_publish`).
"""
import logging
from datetime import timedelta
from itertools import islice

from flask import current_app
from sqlalchemy import LargeBinary, bindparam, func, or_, select, update
from sqlalchemy.orm import defer

from core import clock
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError, Forbidden, NotFound
from core.models import ImportJob, ImportState, Role, User

KINDS = "beacon.import_kinds"
log = logging.getLogger("beacon.imports")


def add_kind(app, kind: str, run) -> None:
    """Declare an import: `run(actor, data, dry_run=, filename=, progress=, finish=, **options)`
    returns a report with `.ok`, `.errors` and `.summary()` (see roster.import_roster)."""
    app.extensions.setdefault(KINDS, {})[kind] = run


def submit(actor: Actor, kind: str, data: bytes, filename: str, *, confirmed: bool,
           options: dict | None = None) -> ImportJob:
    """HR (or the command line) hands over a file: it is stored once, to be checked by a
    worker; `confirmed` imports it straight after a clean check (the "Import" button),
    otherwise the check stops at a preview for HR to confirm. Commits."""
    actor.require(Role.HR)
    if kind not in current_app.extensions.get(KINDS, {}):
        raise NotFound("No such import.")
    now = clock.now()
    job = ImportJob(kind=kind, state=ImportState.CHECKING, filename=filename[:255], content=data, size=len(data),
                    created_by_id=actor.user_id, created_by=actor.label[:254], ip=actor.ip, phase="checking",
                    rows_total=max(1, data.count(b"\n")), rows_done=0, error_count=0, errors=[], summary={},
                    confirmed_at=now if confirmed else None, created_at=now, updated_at=now,
                    options=dict(options or {}))
    db.session.add(job)
    db.session.flush()
    record(actor, f"{kind}.upload", target=job.filename, detail=f"import job {job.id}: {len(data):,} bytes"
           + "".join(f"; {name}" for name, on in sorted(job.options.items()) if on))
    job_id = job.id
    db.session.commit()
    # Handed back without its file: this object, once expired by the commit, would
    # load all 20 MB again on its next use (100 MB for a moment on PostgreSQL).
    db.session.expunge(job)
    return db.session.get(ImportJob, job_id, options=[defer(ImportJob.content)])


def get(actor: Actor, kind: str, job_id: int) -> ImportJob:
    """HR sees any import job of `kind` (every uploader is HR); others see none."""
    actor.require(Role.HR)
    job = db.session.get(ImportJob, job_id, options=[defer(ImportJob.content)])
    if job is None or job.kind != kind:
        raise NotFound("No such import.")
    return job


def recent(actor: Actor, kind: str, limit: int = 10) -> list[ImportJob]:
    """The latest imports of `kind`, newest first, for the import page (HR)."""
    actor.require(Role.HR)
    return list(db.session.scalars(select(ImportJob).options(defer(ImportJob.content))
                                   .where(ImportJob.kind == kind)
                                   .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit)))


def confirm(actor: Actor, kind: str, job_id: int) -> ImportJob:
    """HR confirms a previewed file: a worker checks it again (the roster may have
    changed since) and writes it. Commits."""
    job = get(actor, kind, job_id)
    if job.state != ImportState.READY:
        raise DomainError(f"This import cannot be confirmed: it is {job.state.value}.")
    now = clock.now()
    job.state, job.phase, job.rows_done = ImportState.IMPORTING, "checking", 0
    job.confirmed_at, job.claimed_at, job.updated_at = now, None, now
    record(actor, f"{kind}.confirm", target=job.filename, detail=f"import job {job.id}")
    db.session.commit()
    return job


def work(limit: int = 10, keep_going=None) -> int:
    """The worker (the scheduler's `import-jobs` job, or `flask imports work`): take the
    waiting jobs one at a time and carry each through its step; previews left
    unconfirmed for IMPORT_KEEP_HOURS are cancelled and their file dropped. A scheduler
    passes `keep_going`, and no further job is taken once it says False (the scheduler
    lost its lock). Returns how many jobs it ran."""
    _cancel_forgotten_previews()
    ran = 0
    while ran < limit and (keep_going is None or keep_going()) and (job_id := _claim()) is not None:
        process(job_id, claimed=True)
        ran += 1
    return ran


def process(job_id: int, *, claimed: bool = False):
    """Run one job's step (check, or check and write) in this process and return the
    kind's report (every error, not only the stored ones), or None when another worker
    holds the job. The command line calls this directly."""
    if not claimed and _claim(job_id) is None:
        return None
    job = db.session.get(ImportJob, job_id, options=[defer(ImportJob.content)])
    dry_run = job.state == ImportState.CHECKING and job.confirmed_at is None
    data, kind, filename, options = _content(job_id, job.size), job.kind, job.filename, dict(job.options or {})
    try:
        actor = _uploader(job)
        db.session.commit()     # end the read: progress is written from another connection
        report = current_app.extensions[KINDS][kind](
            actor, data, dry_run=dry_run, filename=filename, progress=_publisher(job_id),
            finish=lambda report: _finish(job_id, report, dry_run), **options)
    except Exception as exc:
        db.session.rollback()
        reason = str(exc) if isinstance(exc, (DomainError, Forbidden)) else \
            f"the import stopped on an unexpected error ({type(exc).__name__})"
        log.exception("import job %s failed", job_id)
        _fail(job_id, f"Nothing was written: {reason}.")
        return None
    return report


def _content(job_id: int, size: int, step: int = 1 << 20) -> bytes:
    """The stored file, read a megabyte at a time: fetched whole, a 20 MB file costs
    about 100 MB for a moment on PostgreSQL (its hex text, the driver's buffer, two
    copies), most of an import's memory budget."""
    table = ImportJob.__table__
    piece = func.substr(table.c.content, bindparam("start"), step, type_=LargeBinary)
    query = select(piece).where(table.c.id == job_id)
    return b"".join(bytes(db.session.scalar(query, {"start": start + 1}) or b"") for start in range(0, size, step))


def _uploader(job: ImportJob) -> Actor:
    """The job acts as the person who uploaded it, with their roles of now (an HR
    officer who lost the role cannot have a file written later)."""
    if job.created_by_id is None:
        return Actor.system(job.created_by)
    user = db.session.get(User, job.created_by_id)
    if user is None or not user.is_active:
        raise Forbidden("the account that uploaded the file is no longer active")
    return Actor.for_user(user, job.ip)


def _claim(job_id: int | None = None) -> int | None:
    """Mark a waiting job (or `job_id`) as taken by this worker; a claim whose worker
    stopped sending progress for IMPORT_STALE_SECONDS may be taken over."""
    now = clock.now()
    table = ImportJob.__table__
    free = (table.c.state.in_([ImportState.CHECKING, ImportState.IMPORTING]),
            or_(table.c.claimed_at.is_(None),
                table.c.claimed_at < now - timedelta(seconds=current_app.config["IMPORT_STALE_SECONDS"])))
    if job_id is None:
        job_id = db.session.scalar(select(table.c.id).where(*free).order_by(table.c.id).limit(1))
        if job_id is None:
            db.session.commit()
            return None
    taken = db.session.execute(update(table).where(table.c.id == job_id, *free).values(claimed_at=now)).rowcount
    db.session.commit()
    return job_id if taken == 1 else None


def _publisher(job_id: int):
    """progress(phase, done, total) for the import functions: written and committed on
    a connection of its own, so the page shows it while the import's transaction is
    still open (and can still roll back whole). SQLite lets only one connection write:
    while the import writes, only its start is shown there."""
    sqlite = db.engine.dialect.name == "sqlite"
    table = ImportJob.__table__

    def publish(phase: str, done: int, total: int) -> None:
        if sqlite and phase == "writing" and done:
            return
        now = clock.now()
        with db.engine.connect() as conn:
            conn.execute(update(table).where(table.c.id == job_id)
                         .values(phase=phase, rows_done=done, rows_total=max(total, 1), claimed_at=now, updated_at=now))
            conn.commit()
    return publish


def _finish(job_id: int, report, dry_run: bool) -> None:
    """The job's outcome, in the import's own transaction: it commits with the data."""
    now = clock.now()
    table = ImportJob.__table__
    if not report.ok:
        state = ImportState.REJECTED
    else:
        state = ImportState.READY if dry_run else ImportState.DONE
    values = dict(state=state, summary=report.summary(), error_count=len(report.errors),
                  errors=[[e.line, e.message] for e in report.errors[:ImportJob.ERRORS_KEPT]],
                  claimed_at=None, updated_at=now)
    if state != ImportState.READY:
        values.update(content=None, finished_at=now)
    db.session.execute(update(table).where(table.c.id == job_id).values(**values))


def _fail(job_id: int, message: str) -> None:
    now = clock.now()
    table = ImportJob.__table__
    db.session.execute(update(table).where(table.c.id == job_id).values(
        state=ImportState.FAILED, message=message, content=None, claimed_at=None, updated_at=now, finished_at=now))
    db.session.commit()


def cancel_preview(job_id: int) -> None:
    """A preview that will not be confirmed (the command line's --dry-run): drop the file."""
    _cancel(ImportJob.__table__.c.id == job_id)


def _cancel_forgotten_previews() -> None:
    table = ImportJob.__table__
    _cancel(table.c.updated_at < clock.now() - timedelta(hours=current_app.config["IMPORT_KEEP_HOURS"]))


def _cancel(condition) -> None:
    now = clock.now()
    table = ImportJob.__table__
    db.session.execute(update(table).where(table.c.state == ImportState.READY, condition).values(
        state=ImportState.CANCELLED, content=None, updated_at=now, finished_at=now))
    db.session.commit()


def run_now(actor: Actor, kind: str, data: bytes, filename: str, *, dry_run: bool, options: dict | None = None):
    """The command line's import: the same job and the same chunked code as the page's,
    run in this process at once. Returns the kind's report (every error); raises
    DomainError with the reason when the write failed (nothing written)."""
    job = submit(actor, kind, data, filename, confirmed=not dry_run, options=options)
    del data   # the stored copy is the one read: the caller's bytes go now (20 MB for 200,000 officers)
    report = process(job.id)
    if report is None:
        job = db.session.get(ImportJob, job.id)
        raise DomainError(job.message or "another worker took this import over")
    if dry_run:
        cancel_preview(job.id)
    return report


# --- the parts every kind's import function shares (roster.import_roster, metrics.import_metrics)

CHUNK = 5000   # rows per statement batch (and per progress report); well under PostgreSQL's 65,535 parameters


def no_progress(phase: str, done: int, total: int) -> None:
    """The `progress` of an import nobody watches."""


def line_count(data: bytes | str) -> int:
    """A file's lines (at least 1): the total its checking progress counts towards."""
    return max(1, data.count(b"\n" if isinstance(data, bytes) else "\n"))


def batches(rows, size: int = CHUNK):
    """Lists of `size` items from an iterator, the last one shorter."""
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def settle(finish, report) -> None:
    """End an import's transaction: `finish(report)` (the job's result) joins it, then
    it commits."""
    if finish is not None:
        finish(report)
    db.session.commit()


def rejected(actor: Actor, kind: str, filename: str, report, errors, finish):
    """A file with errors writes nothing: the errors go on the report and the refusal
    (`<kind>.import`, rejected) into the audit log. Commits; returns the report."""
    report.errors = errors
    record(actor, f"{kind}.import", target=filename, outcome="rejected",
           detail=f"{len(errors)} error(s); nothing written" + (" (dry run)" if report.dry_run else ""))
    settle(finish, report)
    return report
