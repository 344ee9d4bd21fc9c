"""`flask --app app wellness ...`."""
import click
from flask.cli import AppGroup

from core.cli_types import now_option
from wellness.services import evaluations

wellness_cli = AppGroup("wellness", help="Wellness evaluations.")
PROBLEMS_EXIT = 3  # done for everyone else; 1 stays "failed as a whole", 2 is click's usage error


@wellness_cli.command("sweep")
@now_option()
def sweep(now):
    """One pass of the daily work: open annual evaluations whose window has come,
    close those of separated officers, pause/resume for leave, count the overdue.
    Idempotent. (Reminders are `flask reminders run`.)

    Exit status: 0 when every officer was processed; 3 when the sweep did its work
    for everyone else but could not process some officers (listed, by id and reason,
    and shown on HR's wellness dashboard); 1 when it failed as a whole and changed
    nothing."""
    report = evaluations.sweep(now)
    click.echo(str(report))
    for officer_id, reason in sorted(report.problems.items()):
        click.echo(f"could not process officer {officer_id}: {reason}", err=True)
    if report.problems:
        click.echo("Fix these officers' roster rows (HR's wellness dashboard links to each).", err=True)
        raise SystemExit(PROBLEMS_EXIT)


def register(app):
    app.cli.add_command(wellness_cli)
