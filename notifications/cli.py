"""`flask --app app outbox ...`."""
import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core import clock
from core.cli import parse_moment
from notifications import scheduler, services

outbox_cli = AppGroup("outbox", help="The outbox of messages.")


@outbox_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="At most this many messages in one run.")
def deliver(limit):
    """Send queued messages and retry failed ones whose time has come (fast, then
    hourly); expire first those that stopped being true."""
    report = services.deliver(limit=limit)
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


scheduler_cli = AppGroup("scheduler", help="The scheduler of periodic jobs.")
reminders_cli = AppGroup("reminders", help="Reminders.")


@scheduler_cli.command("run")
def scheduler_run():
    """Run the periodic jobs (reminders, sweeps, delivery, digest) until stopped. Several
    may run: one leads, the others stand by and take over if it dies."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheduler.run_blocking(current_app._get_current_object())


@reminders_cli.command("run")
@click.option("--now", "now", default=None, help="Sweep as at this moment (ISO; UTC when no offset is given).")
def reminders_run(now):
    """One reminder sweep at that moment; prints how many of each kind were queued."""
    moment = parse_moment(now) or clock.now()
    totals = scheduler.run_reminder_sweeps(current_app._get_current_object(), moment)
    for kind in sorted(totals):
        click.echo(f"{kind}: {totals[kind]}")
    click.echo(f"queued {sum(totals.values())} reminder(s)")


def register(app):
    app.cli.add_command(outbox_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(reminders_cli)
