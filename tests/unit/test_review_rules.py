"""360-degree review rules: assignments, the anonymity threshold (and the subtraction
attack), composite scores and the performance/seniority ranking."""
from collections import Counter

import pytest

from evaluations import rules
from evaluations.rules import Member

# A unit of a sergeant (10) with five officers (11-15), reporting to a lieutenant (1) in
# another unit; officer 16 is separated.
ROSTER = {1: Member(1, 9, None), 10: Member(10, 5, 1)}
ROSTER.update({i: Member(i, 5, 10) for i in range(11, 16)})
ROSTER[16] = Member(16, 5, 10, active=False)


def by_group(assignments, subject):
    groups = {}
    for a in assignments:
        if a.subject_id == subject:
            groups.setdefault(a.group, []).append(a.rater_id)
    return groups


def test_a_supervisor_is_reviewed_by_self_boss_peers_and_every_active_report():
    groups = by_group(rules.assign([10], ROSTER, peers=3, seed=1), 10)
    assert groups["self"] == [10] and groups["supervisor"] == [1]
    assert groups["direct_report"] == [11, 12, 13, 14, 15]       # not 16: separated
    assert "peer" not in groups  # everyone else in the unit reports to them


def test_an_officer_gets_n_peers_from_the_unit_never_themselves_or_their_supervisor():
    for seed in range(20):
        groups = by_group(rules.assign([12], ROSTER, peers=3, seed=seed), 12)
        assert len(groups["peer"]) == 3
        assert set(groups["peer"]) <= {11, 13, 14, 15}
        assert 12 not in groups["peer"] and 10 not in groups["peer"]
        assert groups["supervisor"] == [10, 1]   # the current supervisor and the next level up


@pytest.mark.parametrize("n", [0, 1, 2, 4, 10])
def test_n_peers_is_respected_up_to_the_unit_size(n):
    groups = by_group(rules.assign([12], ROSTER, peers=n, seed=3), 12)
    assert len(groups.get("peer", [])) == min(n, 4)


def test_no_rater_is_assigned_the_same_subject_twice():
    every = rules.assign(list(range(10, 16)), ROSTER, peers=10, seed=5)
    pairs = Counter((a.subject_id, a.rater_id) for a in every)
    assert max(pairs.values()) == 1


def test_last_cycles_peers_are_avoided_where_possible():
    last = {(12, 11), (12, 13)}
    for seed in range(20):
        groups = by_group(rules.assign([12], ROSTER, peers=2, last_cycle_peers=last, seed=seed), 12)
        assert set(groups["peer"]) == {14, 15}
    # Not enough others: repeats fill the rest.
    groups = by_group(rules.assign([12], ROSTER, peers=3, last_cycle_peers=last, seed=1), 12)
    assert {14, 15} < set(groups["peer"])


def test_assignment_is_random_but_repeatable_with_a_seed():
    first = rules.assign([12], ROSTER, peers=2, seed=7)
    assert first == rules.assign([12], ROSTER, peers=2, seed=7)
    outcomes = {tuple(a.rater_id for a in rules.assign([12], ROSTER, peers=2, seed=s) if a.group == "peer")
                for s in range(30)}
    assert len(outcomes) > 1


def test_an_officer_without_supervisor_has_no_supervisor_review():
    assert "supervisor" not in by_group(rules.assign([1], ROSTER, seed=1), 1)


# --- the threshold ----------------------------------------------------------------------

def reviews(*scores):
    return [{"fairness": s, "support": s} for s in scores]


@pytest.mark.parametrize("count, threshold, shown", [(0, 3, False), (1, 3, False), (2, 3, False), (3, 3, True),
                                                     (4, 3, True), (4, 5, False), (5, 5, True), (1, 1, True)])
def test_an_anonymous_group_shows_only_at_the_threshold(count, threshold, shown):
    result = rules.group_result("direct_report", reviews(*[4] * count), ["c"] * count, anonymous=True,
                                threshold=threshold)
    assert result.shown is shown and result.responses == count
    if not shown:
        assert result.means == {} and result.comments == ()


def test_an_identified_group_always_shows():
    result = rules.group_result("supervisor", reviews(2), ["Needs to write reports sooner."], anonymous=False)
    assert result.shown and result.means == {"fairness": 2, "support": 2}


def test_hidden_group_is_left_out_of_every_total_so_subtraction_reveals_nothing():
    peers = rules.group_result("peer", reviews(4, 4, 4), [], anonymous=True)
    supervisor = rules.group_result("supervisor", reviews(3), [], anonymous=False)
    reports_two = rules.group_result("direct_report", reviews(1, 1), [], anonymous=True)   # hidden
    with_hidden = rules.overall([peers, supervisor, reports_two])
    without = rules.overall([peers, supervisor])
    # The overall figure is the same whether the hidden group exists or what it said.
    assert with_hidden == without == {"fairness": 3.5, "support": 3.5}
    other_scores = rules.group_result("direct_report", reviews(5, 5), [], anonymous=True)
    assert rules.overall([peers, supervisor, other_scores]) == with_hidden


def test_comments_come_in_an_order_unrelated_to_submission():
    submitted = ["zebra first", "apple second", "mango third"]
    shown = rules.group_result("direct_report", reviews(3, 3, 3), submitted, anonymous=True).comments
    assert sorted(shown) == sorted(submitted)
    reversed_submission = rules.group_result("direct_report", reviews(3, 3, 3), submitted[::-1], anonymous=True)
    assert reversed_submission.comments == shown  # same set, same order, whatever the order of arrival


@pytest.mark.parametrize("new, current, exist, allowed", [(5, 3, True, True), (3, 3, True, True),
                                                         (2, 3, True, False), (2, 3, False, True),
                                                         (0, 3, False, False)])
def test_the_threshold_cannot_be_lowered_once_reviews_exist(new, current, exist, allowed):
    assert rules.threshold_change_allowed(new, current, exist) is allowed


# --- ranking ---------------------------------------------------------------------------

WEIGHTS = {"supervisor": 0.3, "peer": 0.2, "direct_report": 0.2, "self": 0.0, "community": 0.3}


def test_composite_weights_the_shown_groups_and_community_and_ignores_self_when_weighted_zero():
    score = rules.composite({"supervisor": 4.0, "peer": 3.0, "direct_report": 5.0, "self": 1.0}, 4.0, WEIGHTS)
    assert score == pytest.approx((0.3 * 4 + 0.2 * 3 + 0.2 * 5 + 0.3 * 4) / 1.0)


def test_composite_renormalises_when_a_group_is_hidden():
    score = rules.composite({"supervisor": 4.0, "peer": 3.0, "direct_report": None}, 4.0, WEIGHTS)
    assert score == pytest.approx((0.3 * 4 + 0.2 * 3 + 0.3 * 4) / 0.8)
    assert rules.composite({"direct_report": None}, None, WEIGHTS) is None


def test_rank_by_performance_beside_seniority():
    ranked = rules.rank({1: 4.5, 2: 3.0, 3: 4.5, 4: None}, {1: 2.0, 2: 25.0, 3: 10.0, 4: 30.0})
    assert [(r.subject_id, r.rank, r.seniority_rank) for r in ranked] == [(3, 1, 3), (1, 1, 4), (2, 3, 2),
                                                                          (4, None, 1)]


# --- the cycle's life, reminders, release -------------------------------------------------------

from datetime import date  # noqa: E402

D = date(2027, 3, 10)


@pytest.mark.parametrize("step, status, assignments, criteria, closes, refused", [
    ("open", "draft", 5, 3, D, None),
    ("open", "draft", 0, 3, D, "no assignments"),
    ("open", "draft", 5, 0, D, "no criteria"),
    ("open", "draft", 5, 3, date(2027, 3, 9), "close date has passed"),
    ("open", "open", 5, 3, D, "Only a draft"),
    ("close", "open", 5, 3, D, None),
    ("close", "draft", 5, 3, D, "Only an open"),
    ("close", "published", 5, 3, D, "Only an open"),
    ("publish", "closed", 5, 3, D, None),
    ("publish", "open", 5, 3, D, "Only a closed"),
    ("publish", "published", 5, 3, D, "Only a closed"),
    ("reopen", "closed", 5, 3, D, "Unknown"),
])
def test_each_move_is_refused_when_it_makes_no_sense(step, status, assignments, criteria, closes, refused):
    problem = rules.refuse_move(step, status, assignments=assignments, criteria=criteria, today=D, closes_on=closes)
    assert (problem is None) if refused is None else (refused in problem)


@pytest.mark.parametrize("days_left, lead", [(9, None), (8, None), (7, 7), (6, 7), (4, 7), (3, 3), (2, 3), (1, 1),
                                             (0, 1), (-1, None)])
def test_reminders_7_3_and_1_days_before_close(days_left, lead):
    from datetime import timedelta
    assert rules.reminder_lead(D, D - timedelta(days=days_left)) == lead


@pytest.mark.parametrize("held, threshold, ready", [(0, 3, False), (1, 3, False), (2, 3, False), (3, 3, True),
                                                    (4, 3, True), (4, 5, False), (5, 5, True)])
def test_held_reviews_are_released_only_in_groups_of_at_least_the_threshold(held, threshold, ready):
    assert rules.ready_to_release(held, threshold) is ready


# --- community metrics -------------------------------------------------------------------------

HEADER = ",".join(rules.METRIC_COLUMNS)


def check(*lines, known=("A1", "A2")):
    return rules.check_metrics("\n".join((HEADER,) + lines) + "\n", set(known))


def test_a_good_metrics_file_gives_typed_rows():
    result = check("A1,2027-01-01,2027-03-31,4,2,1,3,1,4.25", "A2,2027-01-01,2027-03-31,0,0,0,0,0,")
    assert result.ok and [r.badge_number for r in result.rows] == ["A1", "A2"]
    assert str(result.rows[0].resident_safety_score) == "4.25" and result.rows[1].resident_safety_score is None


@pytest.mark.parametrize("line, message", [
    ("ZZ,2027-01-01,2027-03-31,1,0,0,0,0,", "ZZ is not on the roster"),
    ("A1,2027-13-01,2027-03-31,1,0,0,0,0,", "period_start '2027-13-01' is not a date"),
    ("A1,2027-04-01,2027-03-31,1,0,0,0,0,", "period_end is before period_start"),
    ("A1,2027-01-01,2027-03-31,-1,0,0,0,0,", "compliments '-1' must be a whole number"),
    ("A1,2027-01-01,2027-03-31,²,0,0,0,0,", "compliments '²' must be a whole number"),
    ("A1,2027-01-01,2027-03-31," + "9" * 5000 + ",0,0,0,0,", "must be a whole number from 0 to 100,000"),
    ("A1,2027-01-01,2027-03-31,1,1,2,0,0,", "complaints_sustained is more than complaints"),
    ("A1,2027-01-01,2027-03-31,1,0,0,0,0,5.5", "resident_safety_score '5.5' must be a number from 1 to 5"),
    ("A1,2027-01-01,2027-03-31,1,0,0,0,0,NaN", "resident_safety_score 'NaN'"),
    ("A1,2027-01-01,2027-03-31,1,0,0,0,0", "expected 9 fields, found 8"),
])
def test_each_metrics_error_is_reported_on_its_line(line, message):
    result = check("A2,2027-01-01,2027-03-31,0,0,0,0,0,", line)
    assert not result.ok and [(e.line, message in e.message) for e in result.errors] == [(3, True)], result.errors


def test_metrics_header_and_duplicates():
    assert "missing column(s): resident_safety_score" in str(
        rules.check_metrics(",".join(rules.METRIC_COLUMNS[:-1]) + "\n", set()).errors[0])
    result = check("A1,2027-01-01,2027-03-31,1,0,0,0,0,", "A1,2027-01-01,2027-03-31,2,0,0,0,0,")
    assert [str(e) for e in result.errors] == ["line 3: badge_number A1 for this period is already on line 2"]
    assert not check().ok


def test_community_score_combines_safety_contact_and_engagement():
    assert rules.community_score(None) is None
    quiet = rules.Community()
    assert rules.community_score(quiet) == 1.0                      # no engagement at all
    good = rules.Community(compliments=6, complaints_sustained=0, community_meetings=6, problem_solving_projects=3,
                           verified_activities=3, resident_safety_score=4.5)
    assert rules.community_score(good) == pytest.approx((5 + 5 + 4.5) / 3, abs=1e-3)
    mixed = rules.Community(compliments=1, complaints_sustained=1, community_meetings=3)
    assert rules.community_score(mixed) == pytest.approx((2 + 3) / 2, abs=1e-3)
