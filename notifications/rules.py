"""Pure decisions about delivery: when to try again, when a message can no longer be sent."""
from datetime import datetime, timedelta

FAST_ATTEMPTS = 5  # 1, 2, 4, 8 times the base apart; after the fifth failure, the slow pace


def retry_at(attempts: int, now: datetime, base_seconds: int = 60, max_seconds: int = 3600) -> datetime:
    """When to try a message again after its `attempts`-th failure: 1, 2, 4, 8 times
    the base (minutes by default) later, then every `max_seconds` (an hour by default)
    for as long as it takes: a failed message is never given up, only expired."""
    if attempts >= FAST_ATTEMPTS:
        return now + timedelta(seconds=max_seconds)
    return now + timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def expired(expires_at: datetime | None, now: datetime) -> bool:
    """Whether a message stopped being true before it went out (a reset link whose token
    lapsed, a reminder of an appointment that has begun). One without an expiry never
    expires."""
    return expires_at is not None and now >= expires_at



def waited(delta: timedelta) -> str:
    """How long something has waited, in the largest whole unit: "3 hours", "1 day"."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"
