"""The small parsers every query string, `back` field and `--now` option goes through:
whatever they are given, they answer a usable value or a clear refusal, never raise."""
from datetime import date, datetime, timezone

import click
import pytest
from flask import Flask, get_flashed_messages
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cli_types import Moment
from core.converters import MAX_ID, bounded_int, date_problem
from core.web import choice_arg, flag_arg, int_arg, safe_next, search_arg

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize("value, expected", [
    ("42", 42), (" 7 ", 7), ("0", 0), (str(MAX_ID), MAX_ID), (5, 5),
    (str(MAX_ID + 1), None), ("-1", None), ("²", None), ("١٢", None), ("1_000", None), ("1" * 5000, None),
    ("", None), (None, None), ("4.0", None), ("0x10", None), ("\x00", None), (-3, None),
])
def test_bounded_int_reads_only_plain_ids_a_table_can_hold(value, expected):
    assert bounded_int(value) == expected


@given(st.text())
def test_bounded_int_never_raises(value):
    result = bounded_int(value)
    assert result is None or 0 <= result <= MAX_ID


@pytest.mark.parametrize("value, problem", [
    (date(1900, 1, 1), None), (date(2036, 12, 31), None), (TODAY, None),
    (date(1899, 12, 31), "cannot be before 1900"), (date(1, 1, 1), "cannot be before 1900"),
    (date(2037, 1, 1), "cannot be more than 10 years ahead"),
    (date(9999, 12, 31), "cannot be more than 10 years ahead"),
])
def test_dates_typed_anywhere_stay_between_1900_and_ten_years_ahead(value, problem):
    assert date_problem(value, TODAY) == problem


@pytest.fixture
def request_with():
    app = Flask(__name__)
    app.secret_key = "test"

    def make(query="", **kwargs):
        return app.test_request_context("/?" + query if query else "/", **kwargs)
    return make


def test_filters_keep_known_values_and_drop_the_rest(request_with):
    with request_with("unit=12&state=overdue&flagged=1&role=hr"):
        assert int_arg("unit") == 12 and choice_arg("state", ("overdue",)) == "overdue" and flag_arg("flagged")
        assert choice_arg("role", ("admin",)) is None and int_arg("missing") is None
    with request_with("unit=99999999999&state=%00&flagged=yes"):
        assert int_arg("unit") is None and choice_arg("state", ("overdue",)) is None and not flag_arg("flagged")


def test_a_search_with_a_control_character_is_ignored_with_a_note(request_with):
    with request_with("q=smith%00"):
        assert search_arg("q") == ""
        assert any("was ignored" in m for m in get_flashed_messages())
    with request_with("q=" + "x" * 201):
        assert search_arg("q") == ""
    with request_with("q=%E2%80%AEhtims"):  # a right-to-left override
        assert search_arg("q") == ""


def test_a_search_loses_zero_width_spaces_and_keeps_joiners(request_with):
    with request_with("q=%20Smi%E2%80%8Bth%20"):
        assert search_arg("q") == "Smith"
        assert get_flashed_messages() == []
    with request_with("q=%D9%85%E2%80%8C%DB%8C"):  # a Persian name with a zero-width non-joiner
        assert search_arg("q") == "م\u200cی"


@pytest.mark.parametrize("target, expected", [
    ("/reviews/cycles/1?page=2", "/reviews/cycles/1?page=2"),
    ("/roster/", "/fallback"),                      # outside the prefix
    ("//evil.test/reviews/", "/fallback"), ("/\\evil.test", "/fallback"), ("http://evil.test/reviews/", "/fallback"),
    ("/reviews/\x00", "/fallback"), ("/reviews/\u202e", "/fallback"), ("/reviews/" + "x" * 3000, "/fallback"),
    ("", "/fallback"), (None, "/fallback"), ("²", "/fallback"),
])
def test_back_goes_only_to_a_local_path_under_its_prefix(request_with, target, expected):
    with request_with():
        assert safe_next(target, prefix="/reviews/", default="/fallback") == expected


@given(st.text())
@settings(max_examples=200)
def test_safe_next_never_leaves_the_site(target):
    app = Flask(__name__)
    with app.test_request_context("/"):
        result = safe_next(target, default="/home")
    assert result.startswith("/") and not result.startswith("//") and "\\" not in result


def test_now_options_accept_iso_moments_and_refuse_far_or_garbled_ones():
    moment = Moment()
    assert moment.convert(None, None, None) is None
    assert moment.convert("2027-03-01T06:00:00", None, None) == datetime(2027, 3, 1, 6, tzinfo=timezone.utc)
    assert moment.convert("2027-03-01T06:00:00-05:00", None, None).utcoffset().total_seconds() == -5 * 3600
    for bad in ("tomorrow", "0001-01-01T00:00:00", "9999-12-31T23:00:00-05:00", "2027-02-30T00:00", "\x00"):
        with pytest.raises(click.BadParameter):
            moment.convert(bad, None, None)
