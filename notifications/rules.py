"""Pure decisions about delivery: when to try again, when to give up."""
from datetime import datetime, timedelta

MAX_ATTEMPTS = 5


def retry_at(attempts: int, now: datetime, base_seconds: int = 60) -> datetime | None:
    """When to try a message again after its `attempts`-th failure: 1, 2, 4, 8 times
    the base (minutes by default) later; None once it has failed MAX_ATTEMPTS times
    (it then waits for a person)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=base_seconds * 2 ** (attempts - 1))
