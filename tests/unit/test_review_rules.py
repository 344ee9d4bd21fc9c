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
        assert groups["supervisor"] == [10]


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
                                                         (2, 3, True, False), (2, 3, False, True), (0, 3, False, False)])
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
