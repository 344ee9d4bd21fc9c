"""The kernel's pure decisions: lockout, sessions, tokens, access review, roster file."""
from datetime import date, datetime, timedelta, timezone

import pytest

from core import rules
from core.rules import KnownOfficer

T0 = datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc)
TODAY = date(2026, 3, 8)
HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"


# --- lockout -----------------------------------------------------------------------

@pytest.mark.parametrize("before, after, locks", [(0, 1, False), (1, 2, False), (3, 4, False), (4, 0, True)])
def test_fifth_failure_in_a_row_locks_for_ten_minutes(before, after, locks):
    count, until = rules.after_failed_sign_in(before, T0)
    assert count == after
    assert (until == T0 + timedelta(minutes=10)) if locks else until is None


def test_lock_holds_until_its_end_and_not_after():
    until = T0 + timedelta(minutes=10)
    assert rules.is_locked(until, T0)
    assert rules.is_locked(until, until - timedelta(seconds=1))
    assert not rules.is_locked(until, until)
    assert not rules.is_locked(None, T0)


def test_threshold_and_duration_are_parameters():
    count, until = rules.after_failed_sign_in(2, T0, threshold=3, duration=timedelta(hours=1))
    assert count == 0 and until == T0 + timedelta(hours=1)


# --- sessions ----------------------------------------------------------------------

@pytest.mark.parametrize("age, idle, reason", [
    (timedelta(minutes=5), timedelta(minutes=5), None),
    (timedelta(hours=2), timedelta(minutes=29, seconds=59), None),
    (timedelta(hours=2), timedelta(minutes=30), "idle"),
    (timedelta(hours=11, minutes=59), timedelta(0), None),
    (timedelta(hours=12), timedelta(0), "expired"),
    (timedelta(hours=13), timedelta(hours=1), "expired"),
])
def test_session_ends_when_idle_or_too_old(age, idle, reason):
    now = T0 + age
    assert rules.session_end_reason(T0, now - idle, now) == reason


# --- one-time tokens ---------------------------------------------------------------

def test_token_is_good_until_expiry_and_once():
    expires = T0 + rules.INVITE_LIFETIME
    assert rules.INVITE_LIFETIME == timedelta(hours=72)
    assert rules.token_problem(expires, None, T0) is None
    assert rules.token_problem(expires, None, expires - timedelta(seconds=1)) is None
    assert rules.token_problem(expires, None, expires) == "expired"
    assert rules.token_problem(expires, T0, T0 + timedelta(minutes=1)) == "used"


# --- access review -----------------------------------------------------------------

@pytest.mark.parametrize("active, last, flags", [
    (True, None, ["never signed in"]),
    (True, T0 - timedelta(days=90), []),
    (True, T0 - timedelta(days=91), ["idle 91 days"]),
    (True, T0 - timedelta(days=3), []),
    (False, None, []),
    (False, T0 - timedelta(days=400), []),
])
def test_access_review_flags(active, last, flags):
    assert rules.access_flags(active, last, T0) == flags


# --- roster file -------------------------------------------------------------------

def csv_of(*lines, header=HEADER):
    return "\n".join([header, *lines]) + "\n"


def good(badge="100", first="Ann", last="Lee", email=None, unit="North", rank="Officer", sup="", hired="2020-01-15",
         status="active"):
    return f"{badge},{first},{last},{email or f'a{badge}@pd.test'},{unit},{rank},{sup},{hired},{status}"


def errors_of(text, known=None):
    return [(e.line, e.message) for e in rules.check_roster(text, known or {}, TODAY).errors]


def test_good_file_gives_rows_with_parsed_values():
    check = rules.check_roster(csv_of(good("100"), good("200", sup="100", status="leave", email="B@PD.test")),
                               {}, TODAY)
    assert check.ok
    first, second = check.rows
    assert first.hire_date == date(2020, 1, 15) and first.supervisor_badge is None
    assert second.supervisor_badge == "100" and second.status == "leave" and second.email == "b@pd.test"
    assert [r.line for r in check.rows] == [2, 3]


def test_utf8_bom_and_crlf_and_column_order_are_accepted():
    header = "status,badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date"
    text = "\ufeff" + header + "\r\nactive,100,Zoë,Núñez,z@pd.test,North,Officer,,2020-01-15\r\n"
    check = rules.check_roster(text.encode("utf-8"), {}, TODAY)
    assert check.ok and check.rows[0].first_name == "Zoë"


def test_not_utf8_is_reported_with_its_line():
    data = (csv_of(good("100")) + good("200", first="Jos\xe9")).encode("latin-1")
    assert errors_of(data) == [(3, "the file is not UTF-8 text (save it as CSV UTF-8)")]


def test_empty_file_and_header_only():
    assert errors_of("") == [(1, "the file is empty: a header row is required")]
    assert errors_of(HEADER + "\n") == [(2, "the file has a header but no officers")]


def test_missing_unknown_and_repeated_columns_are_reported_on_line_one():
    header = "badge_number,first_name,last_name,email,unit,rank,hire_date,status,shift,shift"
    errs = errors_of(csv_of("1,a,b,c@d.ef,u,r,2020-01-01,active,x,y", header=header))
    assert errs == [(1, "missing column(s): supervisor_badge"), (1, "unknown column(s): shift, shift"),
                    (1, "repeated column(s): shift")]


@pytest.mark.parametrize("line, message", [
    (good(first=""), "first_name is required"),
    (good(unit=""), "unit is required"),
    (good(hired=""), "hire_date is required"),
    (good(email="not-an-email"), "email 'not-an-email' is not a valid address"),
    (good(email="a@b"), "email 'a@b' is not a valid address"),
    (good(email="two@@pd.test"), "email 'two@@pd.test' is not a valid address"),
    (good(hired="15/01/2020"), "hire_date '15/01/2020' is not a date in the form YYYY-MM-DD"),
    (good(hired="2021-02-29"), "hire_date '2021-02-29' is not a date in the form YYYY-MM-DD"),
    (good(hired="2020-1-5"), "hire_date '2020-1-5' is not a date in the form YYYY-MM-DD"),
    (good(status="retired"), "status 'retired' must be one of: active, leave, separated"),
    (good(badge="1 00", email="ok@pd.test"), "badge_number '1 00' may hold only letters, digits and hyphens"),
    (good(badge="100", sup="100"), "an officer cannot be their own supervisor"),
    (good(first="A" * 81), "first_name is longer than 80 characters"),
])
def test_each_bad_field_is_reported_with_its_line(line, message):
    assert errors_of(csv_of(good("900"), line)) == [(3, message)]


def test_leap_day_hire_date_is_fine():
    assert rules.check_roster(csv_of(good(hired="2024-02-29")), {}, TODAY).ok


def test_wrong_field_count():
    assert errors_of(csv_of(good("1"), "2,Bo,Ray,b@pd.test,North")) == [(3, "expected 9 fields, found 5")]


def test_duplicate_badge_and_email_within_the_file():
    errs = errors_of(csv_of(good("1"), good("2", email="A1@pd.test"), good("1", email="x@pd.test")))
    assert errs == [(3, "email a1@pd.test is already on line 2"), (4, "badge_number 1 is already on line 2")]


def test_supervisor_must_be_in_file_or_roster():
    assert errors_of(csv_of(good("1", sup="77"))) == [
        (2, "supervisor_badge 77 is neither in this file nor on the roster")]
    known = {"77": KnownOfficer("77", "boss@pd.test", None)}
    assert errors_of(csv_of(good("1", sup="77")), known) == []


def test_supervisor_later_in_the_file_is_fine():
    assert rules.check_roster(csv_of(good("1", sup="2"), good("2")), {}, TODAY).ok


def test_two_officer_loop_is_reported_on_both_lines():
    errs = errors_of(csv_of(good("1", sup="2"), good("2", sup="1")))
    assert errs == [(2, "supervisor loop: 1 → 2 → 1"), (3, "supervisor loop: 2 → 1 → 2")]


def test_loop_through_the_existing_roster_is_caught():
    # 3 already reports to 2 on the roster; the file makes 2 report to 1 and 1 to 3.
    known = {"2": KnownOfficer("2", "b@pd.test", None), "3": KnownOfficer("3", "c@pd.test", "2")}
    errs = errors_of(csv_of(good("1", sup="3"), good("2", email="b@pd.test", sup="1")), known)
    assert errs == [(2, "supervisor loop: 1 → 3 → 2 → 1"), (3, "supervisor loop: 2 → 1 → 3 → 2")]


def test_a_file_can_break_an_old_chain_without_a_false_loop():
    known = {"1": KnownOfficer("1", "a1@pd.test", "2"), "2": KnownOfficer("2", "a2@pd.test", None)}
    # Swap: 2 now reports to 1, and 1 to nobody.
    assert rules.check_roster(csv_of(good("1"), good("2", sup="1")), known, TODAY).ok


def test_email_of_another_officer_on_the_roster_is_refused():
    known = {"5": KnownOfficer("5", "taken@pd.test", None)}
    assert errors_of(csv_of(good("1", email="taken@pd.test")), known) == [
        (2, "email taken@pd.test belongs to officer 5 on the roster")]


def test_emails_may_move_between_officers_in_one_file():
    known = {"1": KnownOfficer("1", "x@pd.test", None), "2": KnownOfficer("2", "y@pd.test", None)}
    assert rules.check_roster(csv_of(good("1", email="y@pd.test"), good("2", email="x@pd.test")), known, TODAY).ok


def test_every_error_in_the_file_is_listed_in_line_order():
    text = csv_of(good("1", email="bad"), good("2"), good("3", hired="yesterday"), good("4", sup="99"))
    assert [line for line, _ in errors_of(text)] == [2, 4, 5]


def test_blank_lines_are_ignored_but_line_numbers_stay_true():
    text = HEADER + "\n" + good("1") + "\n\n" + good("2", status="gone") + "\n"
    assert errors_of(text) == [(4, "status 'gone' must be one of: active, leave, separated")]


# --- sane values in CSV files ----------------------------------------------------------

@pytest.mark.parametrize("cell, column, line, message", [
    ("Ann\x00e", "first_name", 3, "first_name contains a control character (such as NUL)"),
    ("Ann\x07e", "last_name", 3, "last_name contains a control character (such as NUL)"),
    ("Ann\te", "rank", 3, "rank contains a control character (such as NUL)"),
    ('"Ann\ne"', "first_name", 4, "first_name contains a control character (such as NUL)"),  # a quoted line break
    ("Ann\u202ee", "unit", 3, "unit contains an invisible text-direction character"),
    ("\u2066Ann\u2069", "last_name", 3, "last_name contains an invisible text-direction character"),
])
def test_a_control_or_direction_character_in_a_cell_is_an_error_on_its_line_naming_the_column(cell, column, line,
                                                                                               message):
    fields = dict(first_name="Ann", last_name="Lee", rank="Officer", unit="North")
    fields[column] = cell
    row = (f"9,{fields['first_name']},{fields['last_name']},a@pd.test,{fields['unit']},{fields['rank']},"
           ",2020-01-01,active")
    text = csv_of(good("1"), row, good("2", email="b@pd.test"))
    assert errors_of(text) == [(line, message + "; remove it and try again")]


def test_zero_width_spaces_and_byte_order_marks_are_stripped_from_cells():
    check = rules.check_roster(csv_of(good("1", first="A\u200bda\ufeff")), {}, TODAY)
    assert check.ok and check.rows[0].first_name == "Ada"


def test_zero_width_joiners_stay_in_names():
    check = rules.check_roster(csv_of(good("1", first="می\u200cخواهم")), {}, TODAY)
    assert check.ok and check.rows[0].first_name == "می\u200cخواهم"


@pytest.mark.parametrize("hired, message", [
    ("9999-12-31", "hire_date 9999-12-31 cannot be more than a year in the future"),
    ("2027-03-10", "hire_date 2027-03-10 cannot be more than a year in the future"),
    ("1899-12-31", "hire_date 1899-12-31 cannot be before 1900"),
    ("0001-01-01", "hire_date 0001-01-01 cannot be before 1900"),
])
def test_hire_dates_out_of_range_are_refused_with_their_line(hired, message):
    assert errors_of(csv_of(good("1"), good("2", hired=hired, email="b@pd.test"))) == [(3, message)]


@pytest.mark.parametrize("hired", ["1900-01-01", "2026-03-08", "2027-03-09"])
def test_hire_dates_from_1900_to_a_year_ahead_are_accepted(hired):
    assert rules.check_roster(csv_of(good("1", hired=hired)), {}, TODAY).ok


@pytest.mark.parametrize("value, ahead, problem", [
    (date(1899, 12, 31), 0, "cannot be before 1900"),
    (date(1900, 1, 1), 0, None),
    (TODAY, 0, None),
    (TODAY + timedelta(days=1), 0, "cannot be in the future"),
    (TODAY + timedelta(days=366), 366, None),
    (TODAY + timedelta(days=367), 366, "cannot be more than 366 days ahead"),
])
def test_metric_period_dates_lie_between_1900_and_today_or_a_year_ahead_for_the_end(value, ahead, problem):
    assert rules.period_date_problem(value, TODAY, ahead) == problem


def test_a_long_chain_of_command_is_checked_once_and_a_loop_at_its_top_is_found():
    lines = [good(str(i), sup=str(i + 1) if i < 3000 else "1", email=f"o{i}@pd.test") for i in range(1, 3001)]
    loop = [e for e in errors_of(csv_of(*lines)) if "supervisor loop" in e[1]]
    assert len(loop) == 3000 and loop[0][1].startswith("supervisor loop: 1 → 2 → 3")


def test_read_csv_is_lazy_and_reports_each_bad_line_as_it_reaches_it():
    lines, problems = rules.read_csv(csv_of(good("1"), "only,three,fields", good("2")), rules.ROSTER_COLUMNS)
    assert problems == []
    first = next(lines)
    assert first[0] == 2 and first[1]["badge_number"] == "1" and problems == []
    assert next(lines)[0] == 4 and problems == [rules.LineError(3, "expected 9 fields, found 3")]
