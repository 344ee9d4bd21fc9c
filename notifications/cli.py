"""`flask --app app outbox ...`."""
import sys

import click
from flask.cli import AppGroup

from notifications import services

outbox_cli = AppGroup("outbox", help="The outbox of messages.")


@outbox_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="At most this many messages in one run.")
def deliver(limit):
    """Send queued messages and retry failed ones whose time has come."""
    report = services.deliver(limit=limit)
    if not report.configured:
        click.echo("SMTP_HOST is not set: messages stay in the outbox (admins can read them at /admin/outbox).")
        return
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(f"sent {report.sent}, failed {report.failed}"
               + (f", {report.requeued_stale} stale claim(s) re-queued" if report.requeued_stale else ""))
    if report.failed:
        sys.exit(1)


def register(app):
    app.cli.add_command(outbox_cli)
