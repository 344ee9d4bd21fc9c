"""Reading numbers from URLs, forms and query strings safely."""
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest id any table holds (PostgreSQL integer)


def bounded_int(value) -> int | None:
    """A whole number from a form or query string, or None if it is not one a record
    could have: no 500 from a database that cannot hold it."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= MAX_ID else None


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` that only matches ids a table can hold, so a huge number is a 404,
    not a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
