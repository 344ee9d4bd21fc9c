"""Reading numbers and dates from URLs, forms and query strings safely."""
import re
from datetime import date

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest id any table holds (PostgreSQL integer)
# ASCII digits only: int() also reads odd forms such as "1_000", " 12 " or
# Arabic-Indic digits, and raises on more than 4,300 digits.
_ID_RE = re.compile(r"[0-9]{1,10}")

EARLIEST_DATE = date(1900, 1, 1)
YEARS_AHEAD = 10  # the farthest a date typed anywhere may be (licences, review cycles, filters)


def bounded_int(value) -> int | None:
    """A whole number from a form or query string, or None if it is not one a record
    could have: no 500 from a database that cannot hold it."""
    text = value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""
    if not _ID_RE.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def date_problem(value: date, today: date) -> str | None:
    """Why `value` is too far off to be any date the app deals in, or None: not before
    1900, not more than ten years ahead, so adding months or days to it later never
    overflows. Incident, activity and hire dates have stricter rules (core.rules)."""
    if value < EARLIEST_DATE:
        return "cannot be before 1900"
    if value.year > today.year + YEARS_AHEAD:
        return f"cannot be more than {YEARS_AHEAD} years ahead"
    return None


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` that only matches ids a table can hold, so a huge number is a 404,
    not a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
