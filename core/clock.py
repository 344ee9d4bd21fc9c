"""The application's clock.

Everything that needs "now" asks `clock.now()`, so tests (and the `--now` options of
the command line) can set the time instead of sleeping. `rules.py` functions never
call this: they take `now` as an argument.
"""
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(timezone.utc)


@contextmanager
def frozen(at: datetime):
    """Hold the clock at `at` inside the block; `advance()` moves it."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware datetime")
    previous, _frozen = _frozen, at.astimezone(timezone.utc)
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward (tests only)."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    _frozen = _frozen + delta
    return _frozen


def today(zone: ZoneInfo | str) -> date:
    """Today's date in the department's time zone."""
    return now().astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone).date()
