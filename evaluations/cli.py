"""`flask --app app metrics ...` and `flask --app app reviews ...`."""
import sys

import click
from flask.cli import AppGroup

from core.audit import Actor
from core.errors import DomainError
from core.services import imports
from evaluations.services import reminders

metrics_cli = AppGroup("metrics", help="Community-policing metrics.")
reviews_cli = AppGroup("reviews", help="360-degree review cycles.")


@metrics_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change; write nothing.")
def import_metrics(path, dry_run):
    """Import a community-metrics CSV. Exit 1, with each error as `line N: ...`, when the file is bad."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        report = imports.run_now(Actor.system("cli"), "metrics", data, path.rsplit("/", 1)[-1], dry_run=dry_run)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    if not report.ok:
        for error in report.errors:
            click.echo(str(error))
        click.echo(f"{len(report.errors)} error(s); nothing was written.", err=True)
        sys.exit(1)
    prefix = "dry run, nothing written: would write " if dry_run else "imported "
    click.echo(f"{prefix}{report.rows} row(s): {report.created} new, {report.replaced} replaced; periods "
               + ", ".join(f"{a} to {b}" for a, b in report.periods))


@reviews_cli.command("sweep")
def sweep():
    """Close cycles whose close date has passed and queue due reminders (the scheduler
    does this every few minutes; safe to repeat)."""
    click.echo(dict(reminders.sweep()))


def register(app):
    app.cli.add_command(metrics_cli)
    app.cli.add_command(reviews_cli)
