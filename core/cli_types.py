"""Option types every package's commands share."""
from datetime import datetime, timezone

import click

from core import clock
from core.converters import date_problem


class Moment(click.ParamType):
    """The value of a `--now` option: an ISO date and time (UTC when no offset is
    given) within the dates the app deals in (core.converters.date_problem), so that
    a mistyped year is a usage error, not a traceback from date arithmetic."""

    name = "moment"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail("use an ISO date and time, e.g. 2027-03-01T06:00:00+00:00", param, ctx)
        problem = date_problem(moment.date(), clock.now().date())
        if problem:
            self.fail(f"the date {problem}", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


MOMENT = Moment()


def now_option(help_text: str = "Run as at this moment (ISO; UTC when no offset is given)."):
    """The `--now` option of a command that works as at a given time (None: the clock's)."""
    return click.option("--now", "now", type=MOMENT, default=None, help=help_text)
