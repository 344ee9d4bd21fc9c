"""Command line of the kernel: `flask --app app users|roster|seed-demo ...`."""
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core import clock
from core.audit import Actor
from core.converters import date_problem
from core.errors import DomainError
from core.models import Role
from core.services import accounts, demo, imports, roster

users_cli = AppGroup("users", help="Manage accounts.")
roster_cli = AppGroup("roster", help="The officer roster.")
imports_cli = AppGroup("imports", help="Roster and metrics import jobs.")

CLI = Actor.system("cli")


def parse_moment(value: str | None) -> datetime | None:
    """The value of a `--now` option: an ISO date and time (UTC when no offset is
    given) within the dates the app deals in (core.converters.date_problem), so that
    a mistyped year is a usage error, not a traceback from date arithmetic."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use an ISO date and time, e.g. 2027-03-01T06:00:00+00:00",
                                 param_hint="--now") from exc
    problem = date_problem(moment.date(), clock.now().date())
    if problem:
        raise click.BadParameter(f"the date {problem}", param_hint="--now")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
        officer = roster.find_by_badge(badge)
        if officer is None:
            raise click.ClickException(f"no officer with badge {badge} on the roster")
        officer_id = officer.id
    try:
        user = accounts.create_account(CLI, email=email, name=name, roles=roles, officer_id=officer_id,
                                       password=password)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    how = "with the given password" if password else "and invited (see the outbox)"
    click.echo(f"created {user.email} ({', '.join(sorted(user.roles))}) {how}")


@roster_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report without writing anything.")
def roster_import(file, dry_run):
    """Import the roster CSV. Exit 1, with each error as `line N: ...`, when the file is bad."""
    try:
        report = imports.run_now(CLI, "roster", file.read_bytes(), file.name, dry_run=dry_run)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    if not report.ok:
        for error in report.errors:
            click.echo(str(error))
        click.echo(f"{len(report.errors)} error(s); nothing was written.", err=True)
        sys.exit(1)
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


@imports_cli.command("work")
def imports_work():
    """Check and write the waiting import jobs now (the scheduler does this every
    SCHEDULER_IMPORT_SECONDS); safe beside a running scheduler."""
    click.echo(f"{imports.work()} import job(s) run")


def register(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(imports_cli)
    app.cli.add_command(roster_cli)
    app.cli.add_command(seed_demo)
