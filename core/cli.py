"""Command line of the kernel: `flask --app app users|roster|imports|outbox|scheduler|reminders|seed-demo ...`."""
import logging
import os
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session
from flask import current_app
from flask.cli import AppGroup

from core import backup, clock, retention, scheduler
from core.audit import Actor, record
from core.cli_types import now_option
from core.db import db
from core.errors import DomainError
from core.models import AuditEntry, Role
from core.services import accounts, audit_log, demo, grants, imports, outbox, roster, two_step

users_cli = AppGroup("users", help="Manage accounts.")
roster_cli = AppGroup("roster", help="The officer roster.")
imports_cli = AppGroup("imports", help="Roster and metrics import jobs.")
outbox_cli = AppGroup("outbox", help="The outbox of messages.")
scheduler_cli = AppGroup("scheduler", help="The scheduler of periodic jobs.")
reminders_cli = AppGroup("reminders", help="Reminders.")
audit_cli = AppGroup("audit", help="The audit log.")
backup_cli = AppGroup("backup", help="Backups: create, verify, restore.")
retention_cli = AppGroup("retention", help="The records retention schedule.")

CLI = Actor.system("cli")


def run_import(kind: str, path: str | Path, dry_run: bool, options: dict | None = None):
    """A CSV import command's work (`roster import`, `metrics import`): the kind's import,
    run here and now. A bad file prints each error as `line N: ...` and exits 1, nothing
    written; a good one gives its report back to be summed up."""
    path = Path(path)
    try:
        report = imports.run_now(CLI, kind, path.read_bytes(), path.name, dry_run=dry_run, options=options)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    if not report.ok:
        for error in report.errors:
            click.echo(str(error))
        click.echo(f"{len(report.errors)} error(s); nothing was written.", err=True)
        sys.exit(1)
    return report


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]),
              help="A role; repeat for several.")
@click.option("--badge", default=None, help="Badge number of the roster row (officer accounts).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of inviting.")
def users_create(email, name, roles, badge, password_stdin):
    """Create an account. Without --password-stdin an invitation email is queued."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    officer_id = None
    if badge:
        found, _ = roster.officer_ids_by_badge([badge])
        if not found:
            raise click.ClickException(f"no officer with badge {badge} on the roster")
        officer_id = found[0]
    try:
        user = accounts.create_account(CLI, email=email, name=name, roles=roles, officer_id=officer_id,
                                       password=password)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    how = "with the given password" if password else "and invited (see the outbox)"
    click.echo(f"created {user.email} ({', '.join(sorted(user.roles))}) {how}")


@users_cli.command("grant")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def users_grant(email, role):
    """Give an account a role at once, without a second administrator: whoever runs
    this holds the server, the second factor of trust (for a department with a single
    administrator). Audited as given by the command line."""
    try:
        closed = grants.grant_at_command_line(email, role)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"gave {role} to {accounts.normalise_email(email)} at the command line (audited)"
               + (f"; request {closed.id} by {closed.requested_by_label} is closed" if closed else ""))


@users_cli.command("reset-two-step")
@click.argument("email")
def users_reset_two_step(email):
    """Reset an account's two-step sign-in at once (a lost phone and lost recovery
    codes), without a second administrator: as `users grant`, for a department with a
    single administrator. The owner sets up a new authenticator at their next sign-in
    and is emailed. Audited as done by the command line."""
    try:
        grants.reset_at_command_line(email)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"reset two-step sign-in of {accounts.normalise_email(email)} at the command line (audited); "
               "its sessions have ended")


@users_cli.command("demo-code")
@click.argument("email")
def users_demo_code(email):
    """Development only: the code a demo account's authenticator would show now, so the
    demo can be tried without a phone. Refused outside BEACON_ENV=development."""
    if current_app.config["BEACON_ENV"] != "development":
        raise click.ClickException("demo-code works only with BEACON_ENV=development")
    user = accounts.find_by_email(email)
    if user is None or not user.two_step_on:
        raise click.ClickException(f"{email} has no authenticator set up")
    click.echo(two_step.code_at(user.totp_secret, clock.now()))


@roster_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report without writing anything.")
def roster_import(file, dry_run):
    """Import the roster CSV. Exit 1, with each error as `line N: ...`, when the file is bad."""
    report = run_import("roster", file, dry_run)
    prefix = "dry run: would have " if dry_run else ""
    click.echo(f"{prefix}added {len(report.added)}, updated {len(report.updated)}, "
               f"separated {len(report.separated)}, unchanged {report.unchanged}"
               + ("" if dry_run else f"; {report.accounts_disabled} account(s) disabled"))


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database already has data.")
def seed_demo(if_empty):
    """Fill an empty database with a realistic demo department and print the sign-ins.

    Only with BEACON_ENV=development set explicitly: the demo accounts share a
    published password, so they must never reach a real department's database."""
    if not current_app.config.get("DEMO_ALLOWED"):
        raise click.ClickException(
            "seed-demo creates accounts with the password published in the README, so it runs only "
            f"with BEACON_ENV=development set explicitly (this is {current_app.config['BEACON_ENV']!r}"
            f"{'' if os.environ.get('BEACON_ENV') else ', by default'}). Nothing was written.")
    if if_empty and not demo.is_empty():
        click.echo("The database already has data; the demo sign-ins are in the README.")
        return
    try:
        logins = demo.seed(extensions=current_app.extensions.get("beacon.demo", []))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("Demo department ready. Sign in at the address Beacon runs on with:")
    for role, email, password in logins:
        click.echo(f"  {role:<10} {email:<34} password: {password}")
    click.echo(f"admin, hr and clinician also ask for a two-step code: add the setup key {demo.DEMO_TOTP_SECRET} "
               "to an authenticator app, or print the current code with "
               "`flask --app app users demo-code EMAIL`.")


@imports_cli.command("work")
def imports_work():
    """Check and write the waiting import jobs now (the scheduler does this every
    SCHEDULER_IMPORT_SECONDS); safe beside a running scheduler."""
    click.echo(f"{imports.work()} import job(s) run")


@outbox_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="At most this many messages in one run.")
def outbox_deliver(limit):
    """Send queued messages and retry failed ones whose time has come (fast, then
    hourly); expire first those that stopped being true."""
    report = outbox.deliver(limit=limit)
    if not report.configured:
        click.echo("SMTP_HOST is not set: messages stay in the outbox (admins can read them at /admin/outbox).")
        return
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(f"sent {report.sent}, failed {report.failed}"
               + (f", {report.expired} expired (never sent late)" if report.expired else "")
               + (f", {report.requeued_stale} stale claim(s) re-queued" if report.requeued_stale else ""))
    if report.failed:
        sys.exit(1)


@scheduler_cli.command("run")
def scheduler_run():
    """Run the periodic jobs (reminders, sweeps, delivery, digest) until stopped. Several
    may run: one leads, the others stand by and take over if it dies."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheduler.run_blocking(current_app._get_current_object())


@reminders_cli.command("run")
@now_option("Sweep as at this moment (ISO; UTC when no offset is given).")
def reminders_run(now):
    """One run of every registered reminder sweep at that moment; prints how many of
    each kind were queued."""
    moment = now or clock.now()
    totals = scheduler.run_reminder_sweeps(current_app._get_current_object(), moment)
    for kind in sorted(totals):
        click.echo(f"{kind}: {totals[kind]}")
    click.echo(f"queued {sum(totals.values())} reminder(s)")


@audit_cli.command("verify")
def audit_verify():
    """Walk the audit log's hash chains (general and wellness). Exit 1, naming the first
    entry that breaks a chain, when one does not hold; the check itself is audited."""
    report = audit_log.check_chain()
    for log in report.logs:
        click.echo(f"{log.log}: {log.entries} entries, head at {log.head_seq}: "
                   + ("holds" if log.problem is None else
                      f"BROKEN at {'entry ' + str(log.entry_id) if log.entry_id else 'its head'}: {log.problem}"))
    if not report.ok:
        sys.exit(1)


def _passphrase(given: bool) -> str | None:
    """A passphrase read from stdin (never an argument, which `ps` and shell history keep)."""
    if not given:
        return None
    passphrase = sys.stdin.readline().rstrip("\n")
    if len(passphrase) < 12:
        raise click.ClickException("the passphrase must be at least 12 characters")
    return passphrase


def _owner_engine():
    """The database as its owner (MIGRATIONS_DATABASE_URL when set): restoring creates tables."""
    url = current_app.config.get("MIGRATIONS_DATABASE_URL")
    return sa.create_engine(url, poolclass=sa.pool.NullPool) if url else db.engine


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--passphrase-stdin", is_flag=True, help="Encrypt the payload with a passphrase read from stdin.")
def backup_create(path, passphrase_stdin):
    """Write a consistent snapshot of the database to PATH, with its manifest. Audited."""
    try:
        result = backup.create(path, db.engine, _passphrase(passphrase_stdin))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    m = result.manifest
    record(CLI, "backup.created", target=path.name, detail=f"{backup.describe(m)} (command line)")
    db.session.commit()
    click.echo(f"wrote {path}: {m['database']}, {sum(m['counts'].values())} rows in {len(m['counts'])} tables, "
               f"{m['payload_bytes']} bytes{', encrypted' if m['encrypted'] else ''}, in {result.seconds:.1f} s")


@backup_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--passphrase-stdin", is_flag=True, help="The passphrase of an encrypted backup, from stdin.")
def backup_verify(path, passphrase_stdin):
    """Check a backup without restoring it. Exit 1 saying what does not hold."""
    try:
        manifest = backup.verify(path, _passphrase(passphrase_stdin))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{path}: taken {manifest['created_at']} from {manifest['database']} (revision "
               f"{manifest['revision']}), {sum(manifest['counts'].values())} rows; checked {manifest['checked']}: good")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--passphrase-stdin", is_flag=True, help="The passphrase of an encrypted backup, from stdin.")
def backup_restore(path, passphrase_stdin):
    """Restore PATH into this (empty) database, then check the counts and the audit
    chain. On PostgreSQL run `flask db-roles grant` afterwards for the runtime role."""
    engine = _owner_engine()
    try:
        result = backup.restore(path, engine, _passphrase(passphrase_stdin))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if engine is not db.engine:
            engine.dispose()
    m = result.manifest
    # Written as the owner: the runtime role has no grants on a freshly restored database yet.
    engine = _owner_engine()
    with Session(engine) as session:
        session.add(AuditEntry(at=clock.now(), actor_label=CLI.label, action="backup.restored", target=path.name[:200],
                               outcome="success", detail=f"taken {m['created_at']}; {sum(m['counts'].values())} rows; "
                                                         "counts and audit chain checked"))
        session.commit()
    if engine is not db.engine:
        engine.dispose()
    click.echo(f"restored {path} (taken {m['created_at']}): {sum(m['counts'].values())} rows in "
               f"{len(m['counts'])} tables match the manifest; the audit chain holds; {result.seconds:.1f} s")


@retention_cli.command("run")
@now_option()
def retention_run(now):
    """Apply the retention schedule now, as the database's owner (MIGRATIONS_DATABASE_URL
    when set): old sessions, links, message texts and messages, and audit entries past
    RETAIN_AUDIT_DAYS (the chain re-anchored). One audit entry records the run."""
    engine = _owner_engine()
    try:
        run = retention.apply(engine, current_app.config, now)
    finally:
        if engine is not db.engine:
            engine.dispose()
    click.echo(run.summary())


def register(app):
    app.cli.add_command(audit_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(imports_cli)
    app.cli.add_command(roster_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(reminders_cli)
