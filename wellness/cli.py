"""`flask --app app wellness ...`."""
from datetime import datetime, timezone

import click
from flask.cli import AppGroup

from wellness.services import evaluations

wellness_cli = AppGroup("wellness", help="Wellness evaluations.")


def _moment(value):
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use an ISO date and time, e.g. 2027-03-01T06:00:00+00:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@wellness_cli.command("sweep")
@click.option("--now", "now", default=None, help="Run as at this moment (ISO; UTC when no offset is given).")
def sweep(now):
    """One pass of the daily work: open annual evaluations whose window has come,
    close those of separated officers, pause/resume for leave, count the overdue.
    Idempotent. (Reminders are `flask reminders run`.)"""
    report = evaluations.sweep(_moment(now))
    click.echo(str(report))


def register(app):
    app.cli.add_command(wellness_cli)
