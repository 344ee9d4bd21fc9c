"""`flask --app app metrics ...` and `flask --app app reviews ...`."""
import click
from flask.cli import AppGroup

from core.cli import run_import
from core.cli_types import now_option
from evaluations.services import reminders

metrics_cli = AppGroup("metrics", help="Community-policing metrics.")
reviews_cli = AppGroup("reviews", help="360-degree review cycles.")


@metrics_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change; write nothing.")
def import_metrics(path, dry_run):
    """Import a community-metrics CSV. Exit 1, with each error as `line N: ...`, when the file is bad."""
    report = run_import("metrics", path, dry_run)
    prefix = "dry run, nothing written: would write " if dry_run else "imported "
    click.echo(f"{prefix}{report.rows} row(s): {report.created} new, {report.replaced} replaced; periods "
               + ", ".join(f"{a} to {b}" for a, b in report.periods))


@reviews_cli.command("sweep")
@now_option("Sweep as at this moment (ISO; UTC when no offset is given).")
def sweep(now):
    """Close cycles whose close date has passed and queue due reminders (the scheduler
    does this every few minutes; safe to repeat)."""
    click.echo(dict(reminders.sweep(now)))


def register(app):
    app.cli.add_command(metrics_cli)
    app.cli.add_command(reviews_cli)
