"""Fair rater selection (issue 14): peers from the same rank band and never in each
other's chain of command; several supervisors (current, next level up, and whoever
supervised the officer for a share of the period); approved nominees; a reason for
every rater."""
from datetime import date

import pytest

from config import DEFAULT_RANK_BANDS, _rank_bands
from evaluations import rules
from evaluations.rules import Member, Spell

BANDS = _rank_bands(DEFAULT_RANK_BANDS)


def by_group(assignments, subject):
    groups = {}
    for a in assignments:
        if a.subject_id == subject:
            groups.setdefault(a.group, []).append(a.rater_id)
    return groups


def reasons(assignments, subject):
    return {a.rater_id: a.reason for a in assignments if a.subject_id == subject}


def district(unit=3, lieutenant=30, captain=1):
    """The 3rd District of the finding: a lieutenant (under a captain of another unit),
    two sergeants, four officers under each."""
    roster = {captain: Member(captain, 9, None, rank="Captain"),
              lieutenant: Member(lieutenant, unit, captain, rank="Lieutenant")}
    for s, sergeant in enumerate((lieutenant + 1, lieutenant + 2)):
        roster[sergeant] = Member(sergeant, unit, lieutenant, rank="Sergeant")
        for i in range(4):
            oid = lieutenant + 10 + 4 * s + i
            roster[oid] = Member(oid, unit, sergeant, rank="Police Officer")
    return roster


def test_the_lieutenant_of_the_finding_gets_no_officer_of_their_own_district_as_a_named_peer():
    roster = district()
    for seed in range(30):
        planned = rules.assign(list(roster), roster, peers=3, seed=seed, bands=BANDS)
        groups = by_group(planned, 30)
        assert "peer" not in groups   # no other lieutenant anywhere
        assert set(groups["direct_report"]) == {31, 32}
        for officer in range(40, 48):
            assert 30 not in by_group(planned, officer).get("peer", [])
            assert set(by_group(planned, officer)["peer"]) <= set(range(40, 48)) - {officer}


def test_a_lieutenant_of_another_district_is_a_peer_when_the_unit_has_none():
    roster = district()
    roster.update(district(unit=4, lieutenant=60))
    planned = rules.assign([30], roster, peers=3, seed=1, bands=BANDS)
    assert by_group(planned, 30)["peer"] == [60]
    assert reasons(planned, 30)[60] == "same rank band, another unit"


def test_peers_share_the_rank_band_not_the_rank_title():
    # A corporal supervises nobody here: an officer, a detective and a corporal are one band.
    roster = {1: Member(1, 5, None, rank="Sergeant"), 2: Member(2, 5, 1, rank="Police Officer"),
              3: Member(3, 5, 1, rank="Detective"), 4: Member(4, 5, 1, rank="corporal "),
              5: Member(5, 5, 1, rank="Sergeant"), 6: Member(6, 5, 1, rank="Parking Warden")}
    planned = rules.assign([2], roster, peers=5, seed=2, bands=BANDS)
    assert sorted(by_group(planned, 2)["peer"]) == [3, 4]
    assert all(reasons(planned, 2)[r] == "same unit and rank band" for r in (3, 4))
    # An unlisted rank is a band of its own.
    assert "peer" not in by_group(rules.assign([6], roster, peers=5, seed=2, bands=BANDS), 6)


def test_no_peer_is_above_or_below_the_subject_even_in_the_same_band():
    # A corporal (band 1) supervises two officers (band 1); officer 4 reports to one of them.
    roster = {1: Member(1, 5, None, rank="Sergeant"), 2: Member(2, 5, 1, rank="Corporal"),
              3: Member(3, 5, 2, rank="Police Officer"), 4: Member(4, 5, 3, rank="Police Officer"),
              5: Member(5, 5, 1, rank="Police Officer"), 6: Member(6, 5, 1, rank="Police Officer")}
    for seed in range(20):
        planned = rules.assign([2, 3, 4], roster, peers=5, seed=seed, bands=BANDS)
        assert sorted(by_group(planned, 2)["peer"]) == [5, 6]          # not 3 or 4: below the corporal
        assert sorted(by_group(planned, 3)["peer"]) == [5, 6]          # not 2 (above) or 4 (below)
        assert sorted(by_group(planned, 4)["peer"]) == [5, 6]          # not 3 or 2: above
        assert by_group(planned, 4)["supervisor"] == [3, 2]


def test_several_supervisors_each_with_the_reason():
    roster = district()
    roster[20] = Member(20, 7, 1, rank="Sergeant")        # supervised officer 40 for most of the year
    roster[21] = Member(21, 7, 1, rank="Sergeant")        # for a few weeks
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    spells = [Spell(40, 20, None, date(2025, 6, 1)), Spell(40, 21, date(2025, 6, 1), date(2025, 6, 20)),
              Spell(40, 31, date(2025, 6, 20), None)]
    shares = rules.supervision_shares(spells, start, end)
    assert round(shares[40][20]) == 41 and round(shares[40][21]) == 5 and round(shares[40][31]) == 53
    planned = rules.assign([40], roster, peers=0, seed=1, bands=BANDS, past_supervisors=shares, supervisor_share=25)
    assert by_group(planned, 40)["supervisor"] == [31, 30, 20]
    assert reasons(planned, 40) == {40: "self", 31: "current supervisor", 30: "next level up",
                                    20: "supervised 41% of the period"}
    # A higher share asked for: the past supervisor no longer qualifies.
    planned = rules.assign([40], roster, peers=0, seed=1, bands=BANDS, past_supervisors=shares, supervisor_share=50)
    assert by_group(planned, 40)["supervisor"] == [31, 30]


def test_a_past_supervisor_who_now_reports_to_the_subject_is_not_a_supervisor_rater():
    roster = district()
    shares = {31: {40: 80.0}}     # officer 40 once supervised sergeant 31, now their report
    planned = rules.assign([31], roster, peers=0, seed=1, bands=BANDS, past_supervisors=shares)
    assert by_group(planned, 31)["supervisor"] == [30, 1]
    assert 40 in by_group(planned, 31)["direct_report"]


def test_supervision_shares_clip_to_the_period_and_count_overlaps_once():
    start, end = date(2025, 1, 1), date(2025, 1, 10)
    shares = rules.supervision_shares([Spell(1, 2, date(2024, 1, 1), date(2025, 1, 3)),   # 2 days in
                                       Spell(1, 2, date(2025, 1, 2), date(2025, 1, 4)),   # 1 more day
                                       Spell(1, 3, date(2025, 1, 9), None),               # 2 days
                                       Spell(1, 4, date(2025, 2, 1), None)], start, end)  # after: nothing
    assert shares == {1: {2: 30.0, 3: 20.0}}


def test_approved_nominees_come_first_and_keep_their_reason():
    roster = district()
    nominated = {40: [41, 30, 47]}   # 30 is their lieutenant: never a peer
    planned = rules.assign([40], roster, peers=3, seed=4, bands=BANDS, nominated=nominated)
    peers = by_group(planned, 40)["peer"]
    assert peers[:2] == [41, 47] and len(peers) == 3 and 30 not in peers
    assert reasons(planned, 40)[41] == "nominated by the subject, approved by HR"
    assert reasons(planned, 40)[peers[2]] == "same unit and rank band"


def test_every_assignment_has_a_reason():
    roster = district()
    roster.update(district(unit=4, lieutenant=60, captain=1))
    planned = rules.assign(list(roster), roster, peers=3, seed=8, bands=BANDS)
    assert planned and all(a.reason for a in planned)
    assert {a.reason for a in planned if a.group == "direct_report"} == {"reports to the subject"}


@pytest.mark.parametrize("group, rater, expected", [
    ("peer", 30, "above"),                   # the lieutenant, as a peer of their officer
    ("direct_report", 30, "above"),
    ("supervisor", 30, None),
    ("supervisor", 1, None),                 # the captain: further up
    ("peer", 41, None),
    ("peer", 31, "not in the rank band"),    # a sergeant, not above officer 44
    ("supervisor", 41, None),                # HR may name anyone not below as a supervisor
])
def test_hr_adding_a_rater_by_hand_is_held_to_the_same_rules(group, rater, expected):
    roster = district()
    subject = roster[44]   # an officer under sergeant 31 and lieutenant 30
    problem = rules.rater_problem(group, subject, roster[rater], rules.chain_above(44, roster),
                                  rules.chain_above(rater, roster), BANDS)
    assert (problem is None) if expected is None else (expected in problem)


def test_someone_below_the_subject_is_never_their_peer_or_supervisor():
    roster = district()
    for group in ("peer", "supervisor"):
        problem = rules.rater_problem(group, roster[30], roster[40], [1], rules.chain_above(40, roster), BANDS)
        assert "reports to" in problem


def test_rank_bands_setting():
    assert rules.rank_band("Police  officer", BANDS) == rules.rank_band("Detective", BANDS)
    assert rules.rank_band("Sergeant", BANDS) != rules.rank_band("Corporal", BANDS)
    assert rules.rank_band("Harbour Master", BANDS) == ("rank", "harbour master")
    with pytest.raises(RuntimeError, match="whole number"):
        _rank_bands("Sergeant=two")
    with pytest.raises(RuntimeError, match="rank=band"):
        _rank_bands("Sergeant")
