"""`flask --app app oversight report 2026Q3`: make and keep a quarterly compliance report."""
import click
from flask.cli import AppGroup

from core.cli import CLI
from core.errors import DomainError
from oversight import rules
from oversight.services import reports

oversight_cli = AppGroup("oversight", help="The oversight body's quarterly compliance reports.")


@oversight_cli.command("report")
@click.argument("quarter")
def report(quarter):
    """Make the report of QUARTER (e.g. 2026Q3) and keep it; prints its id and the PDF's SHA-256."""
    period = rules.parse_quarter(quarter)
    if period is None:
        raise click.BadParameter("a quarter such as 2026Q3", param_hint="QUARTER")
    try:
        made = reports.make(CLI, period[0])
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"report {made.id} for {rules.quarter_name(made.period_start)}: PDF sha256 {made.pdf_sha256}")


def register(app) -> None:
    app.cli.add_command(oversight_cli)
