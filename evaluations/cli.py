"""`flask --app app metrics ...` and `flask --app app reviews ...`."""
import click
from flask.cli import AppGroup

from core.cli import CLI, run_import
from core.cli_types import now_option
from core.errors import DomainError
from evaluations.services import cycles, reminders

metrics_cli = AppGroup("metrics", help="Community-policing metrics.")
reviews_cli = AppGroup("reviews", help="360-degree review cycles.")


@metrics_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change; write nothing.")
@click.option("--replace", is_flag=True, help="Replace figures already imported for the same officers and "
                                               "overlapping periods (never a period a published cycle used).")
def import_metrics(path, dry_run, replace):
    """Import a community-metrics CSV. Exit 1, with each error as `line N: ...`, when the file is bad."""
    report = run_import("metrics", path, dry_run, {"replace": True} if replace else None)
    prefix = "dry run, nothing written: would write " if dry_run else "imported "
    click.echo(f"{prefix}{report.rows} row(s): {report.created} new, {report.replaced} replaced; periods "
               + ", ".join(f"{a} to {b}" for a, b in report.periods))


@reviews_cli.command("sweep")
@now_option("Sweep as at this moment (ISO; UTC when no offset is given).")
def sweep(now):
    """Close cycles whose close date has passed and queue due reminders (the scheduler
    does this every few minutes; safe to repeat)."""
    click.echo(dict(reminders.sweep(now)))


@reviews_cli.command("publish")
@click.argument("cycle_id", type=int)
@click.option("--period", default=None, help="The community-metrics period, START/END (as imported) or 'none'; "
                                             "needed unless HR has chosen it.")
def publish(cycle_id, period):
    """Publish a closed cycle and fix its results (version 1), as "Publish reports" does;
    for a large department, where it takes longer than a web request should."""
    try:
        cycle = cycles.move(CLI, cycle_id, "publish", period=period)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"published {cycle.name}: results fixed as version 1")


@reviews_cli.command("record-results")
def record_results():
    """Fix the results of every cycle published before Beacon kept them (version 1). Run it
    right after `flask db upgrade`; the first metrics import or report would do it too."""
    from evaluations.services import results
    click.echo(f"recorded version 1 of {results.record_missing()} published cycle(s)")


def register(app):
    app.cli.add_command(metrics_cli)
    app.cli.add_command(reviews_cli)
