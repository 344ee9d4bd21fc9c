"""Fair rater selection through the services and pages (issue 14): the roster keeps the
history of supervisor changes, generation reads it (several supervisors), peers by rank
band and chain of command, HR's reasons and swaps, officers' nominations."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.audit import Actor
from core.db import db
from core.department import today
from core.errors import DomainError, NotFound
from core.models import AuditEntry, Officer, SupervisorSpell
from core.services import roster
from evaluations.models import NominationStatus, PeerNomination, ReviewAssignment, ReviewCycle
from evaluations.services import cycles, nominations
from tests import factories

HR = Actor.system("test-hr")
HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"


def csv_of(*lines):
    return "\n".join([HEADER, *lines]) + "\n"


def spells(badge):
    officer = db.session.scalar(select(Officer).where(Officer.badge_number == badge))
    return [(s.supervisor_id, s.started_on, s.ended_on) for s in db.session.scalars(
        select(SupervisorSpell).where(SupervisorSpell.officer_id == officer.id).order_by(SupervisorSpell.id))]


def ids(*badges):
    return [db.session.scalar(select(Officer.id).where(Officer.badge_number == b)) for b in badges]


def raters(cycle, subject, group=None):
    query = select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id,
                                           ReviewAssignment.subject_id == subject.id)
    if group:
        query = query.where(ReviewAssignment.group == group)
    return {a.rater_id: a.reason for a in db.session.scalars(query)}


def actions(name):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == name)))


# --- the roster's supervisor history -------------------------------------------------------

FIRST = csv_of("100,Ada,Stone,ada@pd.test,North,Lieutenant,,2005-03-01,active",
               "200,Ben,Cruz,ben@pd.test,North,Sergeant,100,2012-07-15,active",
               "210,Bea,Lund,bea@pd.test,North,Sergeant,100,2013-07-15,active",
               "300,Cy,Diaz,cy@pd.test,North,Police Officer,200,2019-09-30,active",
               "400,Di,Eze,di@pd.test,North,Police Officer,200,2021-01-04,active")


def test_the_roster_import_keeps_the_history_of_supervisor_changes(app):
    day = today()
    assert roster.import_roster(HR, FIRST, dry_run=False).ok
    lieutenant, ben, bea = ids("100", "200", "210")
    assert spells("300") == [(ben, day, None)]        # a new officer's supervisor: from today
    assert spells("100") == []                        # nobody supervises the lieutenant
    # The same file again changes nothing.
    assert roster.import_roster(HR, FIRST, dry_run=False).ok
    assert spells("300") == [(ben, day, None)] and spells("200") == [(lieutenant, day, None)]
    # Cy moves to Bea; Di loses her supervisor; the rest stay.
    moved = FIRST.replace("Police Officer,200,2019", "Police Officer,210,2019").replace(
        "Police Officer,200,2021", "Police Officer,,2021")
    assert roster.import_roster(HR, moved, dry_run=False).ok
    assert spells("300") == [(ben, day, day), (bea, day, None)]
    assert spells("400") == [(ben, day, day)]
    assert spells("200") == [(lieutenant, day, None)]
    assert db.session.scalar(select(Officer.supervisor_id).where(Officer.badge_number == "300")) == bea


def test_a_change_for_an_officer_with_no_history_keeps_the_supervisor_before_it(app):
    sergeant = factories.officer(badge="200", rank="Sergeant", unit_name="North")
    officer = factories.officer(badge="300", rank="Police Officer", unit_name="North", supervisor=sergeant)
    db.session.execute(SupervisorSpell.__table__.delete())   # as a roster older than the history
    db.session.commit()
    other = factories.officer(badge="210", rank="Sergeant", unit_name="North")
    text = csv_of(f"200,{sergeant.first_name},{sergeant.last_name},{sergeant.email},North,Sergeant,,2012-07-15,active",
                  f"210,{other.first_name},{other.last_name},{other.email},North,Sergeant,,2012-07-15,active",
                  f"300,{officer.first_name},{officer.last_name},{officer.email},North,Police Officer,210,"
                  "2019-09-30,active")
    assert roster.import_roster(HR, text, dry_run=False).ok
    assert spells("300") == [(sergeant.id, None, today()), (other.id, today(), None)]


# --- generation ----------------------------------------------------------------------------

def test_generation_asks_every_supervisor_of_the_period_each_with_the_reason(app):
    t = factories.team(reports=3)
    former = factories.officer(unit_name="Other unit", rank="Sergeant", first="Former", supervisor=t.boss)
    factories.user(officer_row=former)
    brief = factories.officer(unit_name="Other unit", rank="Sergeant", first="Brief", supervisor=t.boss)
    factories.user(officer_row=brief)
    subject = t.members[0]
    day = today()
    # The year before the cycle opens, to its close (10 days): 375 days. Former: 200 of
    # them (53%); Brief: 20 (5%); then the current sergeant.
    start = day.replace(year=day.year - 1) if not (day.month == 2 and day.day == 29) else day.replace(
        year=day.year - 1, day=28)
    db.session.execute(SupervisorSpell.__table__.delete().where(SupervisorSpell.officer_id == subject.id))
    factories.supervised(subject, former, None, start + timedelta(days=200))
    factories.supervised(subject, brief, start + timedelta(days=200), start + timedelta(days=220))
    factories.supervised(subject, t.sergeant, start + timedelta(days=220))
    cycle = factories.review_cycle(open_it=False, peers=2)
    share = int(100 * 200 / ((day + timedelta(days=10) - start).days + 1))
    assert raters(cycle, subject, "supervisor") == {t.sergeant.id: "current supervisor", t.boss.id: "next level up",
                                                    former.id: f"supervised {share}% of the period"}
    assert raters(cycle, subject, "self") == {subject.id: "self"}
    assert set(raters(cycle, subject, "peer").values()) == {"same unit and rank band"}
    assert set(raters(cycle, t.sergeant, "direct_report").values()) == {"reports to the subject"}
    # A cycle asking for a larger share leaves Former out.
    strict = factories.review_cycle(open_it=False, peers=2, supervisor_share=60)
    assert former.id not in raters(strict, subject, "supervisor")


def test_the_cycle_page_shows_why_each_rater_was_chosen(app, auth):
    t = factories.team(reports=3)
    auth.as_role("hr")
    cycle = factories.review_cycle(open_it=False, peers=2)
    page = auth.client.get(f"/reviews/cycles/{cycle.id}").get_data(as_text=True)
    for reason in ("current supervisor", "next level up", "same unit and rank band", "reports to the subject"):
        assert f"<td>{reason}</td>" in page
    assert page.count("Swap</a>") == 2 * len(t.members)   # peers only


def test_no_officer_is_a_named_peer_of_their_own_lieutenant(app):
    """The finding: in a district cycle, officers were assigned as peers of their lieutenant."""
    t = factories.team(reports=5, unit_name="3rd District")
    other = factories.team(reports=2, unit_name="1st District")
    cycle = factories.review_cycle(open_it=False, peers=3, unit_ids=[t.unit.id])
    assert raters(cycle, t.boss, "peer") == {other.boss.id: "same rank band, another unit"}
    for member in t.members:
        peers = raters(cycle, member, "peer")
        assert len(peers) == 3 and set(peers) <= {m.id for m in t.members}
    assert raters(cycle, t.sergeant, "peer") == {other.sergeant.id: "same rank band, another unit"}


def test_hr_cannot_add_a_superior_as_a_peer_or_a_report_as_a_supervisor(app, auth):
    t = factories.team(reports=2)
    auth.as_role("hr")
    cycle = factories.review_cycle(open_it=False, peers=1)
    page = f"/reviews/cycles/{cycle.id}"
    db.session.execute(ReviewAssignment.__table__.delete())
    db.session.commit()
    response = auth.post(f"{page}/assignments", {"subject_badge": t.members[0].badge_number,
                                                  "rater_badge": t.boss.badge_number, "group": "peer"},
                         form_page=page, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "is above" in text and "only as a supervisor" in text
    with pytest.raises(DomainError, match="reports to"):
        cycles.add_assignment(HR, cycle.id, t.sergeant.badge_number, t.members[0].badge_number, "supervisor")
    with pytest.raises(DomainError, match="rank band"):
        cycles.add_assignment(HR, cycle.id, t.members[0].badge_number, factories.officer(rank="Sergeant")
                              .badge_number, "peer")
    assert db.session.scalar(select(ReviewAssignment.id)) is None
    added = cycles.add_assignment(HR, cycle.id, t.members[0].badge_number, t.boss.badge_number, "supervisor")
    assert added.reason == "added by HR"


def test_hr_swaps_a_peer_for_another_eligible_one(app, auth):
    t = factories.team(reports=4)
    hr = auth.as_role("hr")
    cycle = factories.review_cycle(open_it=False, peers=1)
    subject = t.members[0]
    peer = db.session.scalar(select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id,
                                                            ReviewAssignment.subject_id == subject.id,
                                                            ReviewAssignment.group == "peer"))
    old = peer.rater
    swap = f"/reviews/cycles/{cycle.id}/assignments/{peer.id}/swap"
    page = auth.client.get(swap).get_data(as_text=True)
    eligible = [m for m in t.members if m.id not in (subject.id, old.id)]
    for m in eligible:
        assert m.display_name in page
    for not_listed in (t.boss, t.sergeant, subject):
        assert not_listed.display_name not in page.split('id="candidates"')[1]
    # The server holds the rules even for a hand-made request.
    response = auth.post(swap, {"officer_id": t.sergeant.id}, form_page=swap, follow_redirects=True)
    assert "is above" in response.get_data(as_text=True)
    response = auth.post(swap, {"officer_id": eligible[0].id}, form_page=swap)
    assert response.status_code == 302
    db.session.expire_all()
    assert raters(cycle, subject, "peer") == {eligible[0].id: f"swapped in by HR for {old.full_name} "
                                                              f"(#{old.badge_number})"}
    entry = actions("cycle.assignments.swap")[0]
    assert entry.actor_id == hr.id and old.badge_number in entry.detail
    cycles.move(HR, cycle.id, "open")
    with pytest.raises(DomainError, match="draft"):
        cycles.swap_peer(HR, cycle.id, peer.id, eligible[1].id)


# --- nominations ---------------------------------------------------------------------------

def nominating_team():
    t = factories.team(reports=5)
    cycle = factories.review_cycle(open_it=False, peers=2, nominations=True)
    return t, cycle


def test_an_officer_nominates_a_peer_and_hr_approves(app, auth, client):
    t, cycle = nominating_team()
    subject, nominee = t.members[0], t.members[4]
    before = raters(cycle, subject, "peer")
    if nominee.id in before:
        nominee = next(m for m in t.members[1:] if m.id not in before)
    assert auth.login(t.users[subject.id].email).status_code == 302
    mine = client.get("/reviews/").get_data(as_text=True)
    assert f"/reviews/cycles/{cycle.id}/nominations" in mine
    page = client.get(f"/reviews/cycles/{cycle.id}/nominations").get_data(as_text=True)
    assert nominee.display_name in page and t.boss.display_name not in page
    response = auth.post(f"/reviews/cycles/{cycle.id}/nominations", {"officer_id": nominee.id},
                         form_page=f"/reviews/cycles/{cycle.id}/nominations", follow_redirects=True)
    assert "Nomination sent to HR" in response.get_data(as_text=True)
    nomination = db.session.scalar(select(PeerNomination))
    assert (nomination.subject_id, nomination.nominee_id, nomination.status) == (
        subject.id, nominee.id, NominationStatus.PENDING)
    # Not the lieutenant: above them.
    response = auth.post(f"/reviews/cycles/{cycle.id}/nominations", {"officer_id": t.boss.id},
                         form_page=f"/reviews/cycles/{cycle.id}/nominations", follow_redirects=True)
    assert "only as a supervisor" in response.get_data(as_text=True)
    # An officer cannot approve.
    assert auth.post(f"/reviews/cycles/{cycle.id}/nominations/{nomination.id}/approve",
                     {}).status_code == 403
    auth.logout()

    auth.as_role("hr")
    hr_page = client.get(f"/reviews/cycles/{cycle.id}").get_data(as_text=True)
    assert "Waiting for HR" in hr_page and nominee.display_name in hr_page
    response = auth.post(f"/reviews/cycles/{cycle.id}/nominations/{nomination.id}/approve", {},
                         form_page=f"/reviews/cycles/{cycle.id}", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert f"Approved: {nominee.full_name} will review {subject.full_name} as a peer." in text
    db.session.expire_all()
    peers = raters(cycle, subject, "peer")
    assert peers[nominee.id] == "nominated by the subject, approved by HR" and len(peers) == 2
    replaced = set(before) - set(peers)
    assert len(replaced) == 1 and db.session.get(Officer, replaced.pop()).full_name in text
    assert actions("cycle.nomination.approve") and actions("cycle.nomination.add")
    # Regenerating keeps the approved nominee.
    cycles.generate(HR, cycle.id, seed=99)
    assert raters(cycle, subject, "peer")[nominee.id] == "nominated by the subject, approved by HR"
    auth.logout()
    auth.login(t.users[subject.id].email)
    page = client.get(f"/reviews/cycles/{cycle.id}/nominations").get_data(as_text=True)
    assert "Approved by HR" in page


def test_hr_declines_a_nomination_and_the_officer_sees_why(app, auth, client):
    t, cycle = nominating_team()
    subject = t.members[1]
    nomination = nominations.nominate(factories.actor_for(t.users[subject.id]), cycle.id, t.members[2].id)
    nominations.decline(HR, cycle.id, nomination.id, "Works another shift")
    assert nomination.status == NominationStatus.DECLINED
    assert actions("cycle.nomination.decline")[0].detail.endswith("Works another shift")
    with pytest.raises(DomainError, match="already been decided"):
        nominations.approve(HR, cycle.id, nomination.id)
    auth.login(t.users[subject.id].email)
    assert "declined" in client.get("/reviews/").get_data(as_text=True)
    page = client.get(f"/reviews/cycles/{cycle.id}/nominations").get_data(as_text=True)
    assert "Declined by HR: Works another shift" in page


def test_nominations_are_limited_and_only_for_oneself_in_a_cycle_that_allows_them(app, auth, client):
    t, cycle = nominating_team()
    me = factories.actor_for(t.users[t.members[0].id])
    nominations.nominate(me, cycle.id, t.members[1].id)
    nominations.nominate(me, cycle.id, t.members[2].id)
    with pytest.raises(DomainError, match="at most 2"):
        nominations.nominate(me, cycle.id, t.members[3].id)
    # Only ever for themselves: what is posted names a nominee, never a subject.
    assert {n.subject_id for n in db.session.scalars(select(PeerNomination))} == {t.members[0].id}
    # A cycle without nominations, or that does not review them, does not exist for them.
    plain = factories.review_cycle(open_it=False, peers=2)
    other_unit = factories.team(reports=1)
    elsewhere = factories.review_cycle(open_it=False, peers=2, nominations=True, unit_ids=[other_unit.unit.id])
    auth.login(t.users[t.members[3].id].email)
    for c in (plain, elsewhere):
        assert client.get(f"/reviews/cycles/{c.id}/nominations").status_code == 404
        response = auth.post(f"/reviews/cycles/{c.id}/nominations", {"officer_id": t.members[4].id})
        assert response.status_code == 404
    assert db.session.scalar(select(PeerNomination).where(PeerNomination.cycle_id.in_([plain.id, elsewhere.id]))) \
        is None
    # Once the cycle opens, no more nominations.
    cycles.move(HR, cycle.id, "open")
    with pytest.raises(DomainError, match="no longer takes nominations"):
        nominations.nominate(factories.actor_for(t.users[t.members[3].id]), cycle.id, t.members[4].id)


def test_an_officer_withdraws_a_nomination_waiting_for_hr(app):
    t, cycle = nominating_team()
    me = factories.actor_for(t.users[t.members[0].id])
    nomination = nominations.nominate(me, cycle.id, t.members[1].id)
    with pytest.raises(NotFound):   # not theirs
        nominations.withdraw(factories.actor_for(t.users[t.members[1].id]), cycle.id, nomination.id)
    nominations.withdraw(me, cycle.id, nomination.id)
    assert db.session.scalar(select(PeerNomination)) is None and actions("cycle.nomination.withdraw")


def test_hr_creates_a_cycle_with_nominations_and_a_supervisor_share(app, auth):
    auth.as_role("hr")
    from evaluations.models import Rubric
    rubric = db.session.scalar(select(Rubric))
    day = today()
    data = {"name": "2027 annual", "rubric_id": rubric.id, "opens_on": day.isoformat(),
            "closes_on": (day + timedelta(days=20)).isoformat(), "scope": "all", "peers": 3, "threshold": 3,
            "nominations": "y", "supervisor_share": 150}
    response = auth.post("/reviews/cycles/new", data, form_page="/reviews/cycles/new")
    assert response.status_code == 422 and "between 1 and 100" in response.get_data(as_text=True)
    data["supervisor_share"] = 40
    assert auth.post("/reviews/cycles/new", data, form_page="/reviews/cycles/new").status_code == 302
    cycle = db.session.scalar(select(ReviewCycle).where(ReviewCycle.name == "2027 annual"))
    assert cycle.nominations and cycle.supervisor_share == 40
