"""Pure decisions about delivery: when to try again, when to give up."""
from datetime import datetime, timedelta

MAX_ATTEMPTS = 5
# A claim older than this belongs to a delivery run that died; see services.deliver().
STALE_CLAIM = timedelta(minutes=10)


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to try a message again after its `attempts`-th failure: 1, 2, 4, 8 minutes
    later; None once it has failed MAX_ATTEMPTS times (it then waits for a person)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(minutes=2 ** (attempts - 1))
