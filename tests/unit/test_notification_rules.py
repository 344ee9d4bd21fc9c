from datetime import datetime, timedelta, timezone

from notifications import rules

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_retries_back_off_then_stop_after_five_attempts():
    assert [rules.retry_at(n, T0) - T0 for n in range(1, 5)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert rules.retry_at(5, T0) is None
    assert rules.retry_at(6, T0) is None
