"""Small-number suppression and the figures' arithmetic (core.suppression, oversight.rules)."""
from datetime import date

import pytest

from core.suppression import count_cell, median_cell, rate_cell, sum_cell
from oversight import rules


def test_a_count_under_the_threshold_says_fewer_than_and_carries_no_number():
    assert count_cell(4, 5).text == "fewer than 5" and count_cell(4, 5).value is None
    assert count_cell(0, 5).suppressed
    assert count_cell(5, 5).text == "5" and count_cell(1234, 5).text == "1,234"


@pytest.mark.parametrize("part, whole, shown", [(10, 20, True), (4, 20, False), (16, 20, False), (5, 10, True),
                                                (5, 9, False), (0, 30, False), (30, 30, False)])
def test_a_rate_shows_only_when_both_sides_reach_the_threshold(part, whole, shown):
    assert (not rate_cell(part, whole, 5).suppressed) is shown


def test_a_median_and_a_sum_need_enough_people():
    assert median_cell([1, 2, 3, 4], 5).suppressed
    assert median_cell([1, 2, 3, 4, 10], 5).text == "3 days"
    assert sum_cell(40.0, 4, 5).suppressed and sum_cell(40.0, 5, 5).text == "40.0 hours"


def test_the_total_adds_up_only_the_groups_shown_so_nothing_hidden_can_be_subtracted():
    table = rules.split_table("k", "t", ["Unit", "Officers", "Yes", "No", "%"],
                              [("Big", 12, 20), ("Small", 1, 3), ("Lopsided", 28, 30)], 5, "Total")
    big, small, lopsided = table.rows
    assert not big.suppressed and [c.text for c in big.cells] == ["20", "12", "8", "60%"]
    assert small.suppressed and [c.text for c in small.cells] == ["fewer than 5"] * 4
    # 30 officers is shown, but 28 of them would give away the 2 others.
    assert lopsided.suppressed and [c.text for c in lopsided.cells] == ["30", "not shown", "fewer than 5", "not shown"]
    assert [c.text for c in table.total.cells] == ["20", "12", "8", "60%"]
    assert "2 groups" in table.note and "3" not in table.note.split("under")[0]


def test_spearman_orders_and_ties():
    assert rules.spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]) == pytest.approx(1.0)
    assert rules.spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    assert rules.spearman([1, 1, 1], [1, 2, 3]) is None
    assert rules.agreement_words(0.8) == "agree strongly" and rules.agreement_words(-0.5) == "disagree"


def test_quarters():
    assert rules.parse_quarter("2026Q3") == (date(2026, 7, 1), date(2026, 9, 30))
    assert rules.parse_quarter("2026-q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert rules.parse_quarter("2026Q5") is None and rules.parse_quarter("x") is None
    assert rules.quarter_name(date(2026, 2, 1)) == "2026-Q1"


def test_a_kept_table_reads_back_the_same():
    table = rules.split_table("k", "t", ["Unit", "Officers", "Yes", "No", "%"], [("Big", 12, 20)], 5, "Total")
    again = rules.table_from_dict(rules.table_to_dict(table))
    assert again == table
