from datetime import datetime, timedelta, timezone

import pytest

from core import rules

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_retries_back_off_fast_then_keep_going_every_hour():
    assert [rules.retry_at(n, T0) - T0 for n in range(1, 5)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert [rules.retry_at(n, T0) - T0 for n in (5, 6, 50, 10_000)] == [timedelta(hours=1)] * 4


def test_the_slow_pace_and_the_base_are_settings():
    assert rules.retry_at(3, T0, base_seconds=10) - T0 == timedelta(seconds=40)
    assert rules.retry_at(5, T0, base_seconds=10, max_seconds=600) - T0 == timedelta(minutes=10)


def test_a_fast_retry_never_waits_longer_than_the_slow_pace():
    assert rules.retry_at(4, T0, base_seconds=600, max_seconds=3600) - T0 == timedelta(hours=1)


@pytest.mark.parametrize("attempts", [0, 1])
def test_the_first_retry_waits_one_base(attempts):
    assert rules.retry_at(attempts, T0) - T0 == timedelta(minutes=1)


def test_a_message_without_an_expiry_never_expires():
    assert not rules.message_expired(None, T0)
    assert not rules.message_expired(None, T0 + timedelta(days=3650))


@pytest.mark.parametrize("offset, expired", [(timedelta(seconds=-1), False), (timedelta(0), True),
                                             (timedelta(seconds=1), True), (timedelta(days=2), True)])
def test_a_message_expires_at_its_moment_not_before(offset, expired):
    assert rules.message_expired(T0, T0 + offset) is expired


@pytest.mark.parametrize("delta, text", [(timedelta(seconds=20), "less than a minute"),
                                         (timedelta(minutes=1), "1 minute"), (timedelta(minutes=59), "59 minutes"),
                                         (timedelta(hours=3, minutes=59), "3 hours"), (timedelta(days=1), "1 day"),
                                         (timedelta(days=9, hours=5), "9 days"),
                                         (timedelta(seconds=-5), "less than a minute")])
def test_waiting_time_in_words(delta, text):
    assert rules.waited(delta) == text
