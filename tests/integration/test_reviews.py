"""360-degree reviews through the services and pages: cycles and their states,
assignments, drafts and submission, rubrics, metrics, activities, reminders, reports."""
import csv
import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import User
from evaluations.models import (
    AnonymousReview,
    AssignmentStatus,
    CommunityMetric,
    CycleStatus,
    HeldReview,
    Review,
    ReviewAssignment,
    Rubric,
)
from evaluations.services import cycles, metrics, reports, reviews, rubrics
from core.department import today
from core.services import outbox
from core.models import OutboxMessage
from tests import factories

HR = Actor.system("test-hr")


def assignments(cycle, **where):
    query = select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id)
    for name, value in where.items():
        query = query.where(getattr(ReviewAssignment, name) == value)
    return list(db.session.scalars(query))


def submit(cycle, assignment, score=4, comment="", final=True):
    user = db.session.scalar(select(User).where(User.officer_id == assignment.rater_id))
    scores = {c.id: score for c in factories.criteria_for(cycle, assignment.group.value)}
    return reviews.save(factories.actor_for(user), assignment.id, scores, comment, submit=final)


# --- the cycle's states ------------------------------------------------------------------------

def test_cycle_moves_draft_open_closed_published_and_refuses_the_rest(app):
    factories.team()  # people to assign: a cycle with no assignments cannot open
    cycle = factories.review_cycle(open_it=False)
    for step in ("close", "publish"):
        with pytest.raises(DomainError):
            cycles.move(HR, cycle.id, step)
    cycles.move(HR, cycle.id, "open")
    assert cycle.status == CycleStatus.OPEN
    for step in ("open", "publish"):
        with pytest.raises(DomainError):
            cycles.move(HR, cycle.id, step)
    with pytest.raises(DomainError, match="draft"):
        cycles.generate(HR, cycle.id)
    cycles.move(HR, cycle.id, "close")
    with pytest.raises(DomainError):
        cycles.move(HR, cycle.id, "close")
    cycles.move(HR, cycle.id, "publish", period="none")
    assert cycle.status == CycleStatus.PUBLISHED
    for step in ("open", "close", "publish"):
        with pytest.raises(DomainError):
            cycles.move(HR, cycle.id, step)
    assert cycle.status == CycleStatus.PUBLISHED


def test_a_cycle_with_no_assignments_cannot_open(app):
    cycle = factories.review_cycle(open_it=False)   # nobody on the roster: nothing generated
    assert assignments(cycle) == []
    with pytest.raises(DomainError, match="no assignments"):
        cycles.move(HR, cycle.id, "open")


def test_generation_assigns_self_supervisor_peers_and_direct_reports(app):
    t = factories.team(reports=5)
    cycle = factories.review_cycle(peers=2, open_it=False)
    sergeant_raters = {(a.rater_id, a.group.value) for a in assignments(cycle, subject_id=t.sergeant.id)}
    assert (t.sergeant.id, "self") in sergeant_raters and (t.boss.id, "supervisor") in sergeant_raters
    assert {r for r, g in sergeant_raters if g == "direct_report"} == {m.id for m in t.members}
    for member in t.members:
        mine = assignments(cycle, subject_id=member.id)
        peers = [a for a in mine if a.group.value == "peer"]
        assert len(peers) == 2 and all(a.rater_id != member.id for a in peers)
        assert len({a.rater_id for a in mine}) == len(mine)        # nobody reviews the same subject twice
        # The current supervisor and the next level up (issue 14: several supervisors).
        assert [a.rater_id for a in mine if a.group.value == "supervisor"] == [t.sergeant.id, t.boss.id]


def test_hr_adjusts_assignments_only_while_draft(app, auth):
    t = factories.team(reports=3)
    auth.as_role("hr")
    cycle = factories.review_cycle(open_it=False)
    page = f"/reviews/cycles/{cycle.id}"
    before = len(assignments(cycle))
    other = factories.officer(unit_name=t.unit.name)
    factories.user(officer_row=other)
    response = auth.post(f"{page}/assignments", {"subject_badge": t.members[0].badge_number,
                                                  "rater_badge": other.badge_number, "group": "peer"}, form_page=page)
    assert response.status_code == 302 and len(assignments(cycle)) == before + 1
    # A direct report who does not report to the subject is refused, with the reason.
    response = auth.post(f"{page}/assignments", {"subject_badge": t.sergeant.badge_number,
                                                  "rater_badge": other.badge_number, "group": "direct_report"},
                         form_page=page, follow_redirects=True)
    assert "does not report to" in response.get_data(as_text=True) and len(assignments(cycle)) == before + 1
    removed = assignments(cycle, rater_id=other.id)[0]
    auth.post(f"{page}/assignments/{removed.id}/delete", form_page=page)
    assert len(assignments(cycle)) == before
    auth.post(f"{page}/open", form_page=page)
    db.session.refresh(cycle)
    assert cycle.status == CycleStatus.OPEN
    response = auth.post(f"{page}/assignments/{assignments(cycle)[0].id}/delete", form_page=page, follow_redirects=True)
    assert "only while the cycle is a draft" in response.get_data(as_text=True)
    assert len(assignments(cycle)) == before


def test_hr_creates_a_cycle_through_the_form_with_errors_beside_fields(app, auth):
    auth.as_role("hr")
    rubric = db.session.scalar(select(Rubric))
    day = today()
    data = {"name": "2027 annual", "rubric_id": rubric.id, "opens_on": day.isoformat(),
            "closes_on": (day - timedelta(days=1)).isoformat(), "scope": "all", "peers": 3, "threshold": 3}
    response = auth.post("/reviews/cycles/new", data, form_page="/reviews/cycles/new")
    assert response.status_code == 422 and "close date is before the open date" in response.get_data(as_text=True)
    data["closes_on"] = (day + timedelta(days=20)).isoformat()
    response = auth.post("/reviews/cycles/new", data, form_page="/reviews/cycles/new")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).where(factories.ReviewCycle.name == "2027 annual")) == 1


# --- raters -------------------------------------------------------------------------------------

def test_rater_saves_a_draft_then_submits_and_cannot_change_it(app, auth):
    t = factories.team(reports=3)
    cycle = factories.review_cycle()
    member = t.members[0]
    auth.login(t.users[member.id].email)
    home = auth.client.get("/").get_data(as_text=True)
    assert "Reviews to do" in home and "Your self review" in home
    own = assignments(cycle, rater_id=member.id, group="self")[0]
    form = f"/reviews/assignments/{own.id}"
    criteria = factories.criteria_for(cycle, "self")
    data = {f"c{c.id}": "4" for c in criteria} | {"comment": "Working on reports.", "save": "1"}
    assert auth.post(form, data, form_page=form).status_code == 302
    db.session.refresh(own)
    assert own.status == AssignmentStatus.DRAFT
    page = auth.client.get(form).get_data(as_text=True)
    assert "Working on reports." in page
    assert len(re.findall(r'<input checked[^>]*value="4"', page)) == len(criteria)     # the draft's scores
    data.pop("save")
    data["submit_review"] = "1"
    assert auth.post(form, data, form_page=form).status_code == 302
    db.session.refresh(own)
    assert own.status == AssignmentStatus.SUBMITTED
    assert "cannot be changed" in auth.client.get(form).get_data(as_text=True)
    response = auth.post(form, data | {"comment": "changed"}, form_page="/reviews/")
    assert db.session.get(Review, own.id).comment == "Working on reports."
    assert response.status_code == 302


def test_a_rater_cannot_open_or_write_someone_elses_review(app, auth):
    t = factories.team(reports=3)
    cycle = factories.review_cycle()
    theirs = assignments(cycle, rater_id=t.members[1].id, group="self")[0]
    auth.login(t.users[t.members[0].id].email)
    assert auth.client.get(f"/reviews/assignments/{theirs.id}").status_code == 404
    assert auth.post(f"/reviews/assignments/{theirs.id}", {"comment": "x", "submit_review": "1"},
                     form_page="/reviews/").status_code == 404


def test_submitting_needs_a_score_and_keeps_what_was_typed(app, auth):
    t = factories.team(reports=3)
    cycle = factories.review_cycle()
    own = assignments(cycle, rater_id=t.members[0].id, group="self")[0]
    auth.login(t.users[t.members[0].id].email)
    form = f"/reviews/assignments/{own.id}"
    response = auth.post(form, {"comment": "My words", "submit_review": "1"}, form_page=form)
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Rate at least one criterion" in text and "My words" in text
    db.session.refresh(own)
    assert own.status == AssignmentStatus.PENDING


def test_threshold_can_rise_but_not_fall_once_reviews_exist(app):
    t = factories.team(reports=3)
    cycle = factories.review_cycle(threshold=4)
    cycles.update_cycle(HR, cycle.id, opens_on=cycle.opens_on, closes_on=cycle.closes_on, threshold=3)  # no reviews yet
    submit(cycle, assignments(cycle, rater_id=t.members[0].id, group="direct_report")[0])
    with pytest.raises(DomainError, match="cannot be lowered"):
        cycles.update_cycle(HR, cycle.id, opens_on=cycle.opens_on, closes_on=cycle.closes_on, threshold=2)
    cycles.update_cycle(HR, cycle.id, opens_on=cycle.opens_on, closes_on=cycle.closes_on, threshold=5)
    assert cycle.threshold == 5


def test_a_rubric_in_use_is_frozen_and_a_copy_can_change(app, auth):
    factories.team()
    cycle = factories.review_cycle()
    criterion = cycle.rubric.criteria[0]
    with pytest.raises(DomainError, match="in use"):
        rubrics.update_criterion(HR, criterion.id, **{f: getattr(criterion, f) for f in rubrics.FIELDS} | {"text": "x"})
    copy = rubrics.create_rubric(HR, "Copy", copy_from=cycle.rubric_id)
    assert len(copy.criteria) == len(cycle.rubric.criteria)
    auth.as_role("hr")
    values = {f: getattr(copy.criteria[0], f) for f in rubrics.FIELDS}
    data = {k: ("y" if v is True else v) for k, v in values.items() if v is not False} | {"text": "Knows the beat"}
    page = f"/reviews/criteria/{copy.criteria[0].id}"
    assert auth.post(page, data, form_page=page).status_code == 302
    db.session.refresh(copy.criteria[0])
    assert copy.criteria[0].text == "Knows the beat" and criterion.text != "Knows the beat"
    frozen = auth.client.get(f"/reviews/rubrics/{cycle.rubric_id}").get_data(as_text=True)
    assert "frozen" in frozen and "Add a criterion" not in frozen


def test_closing_deletes_a_group_under_the_threshold_unread_and_drops_pending_reminders(app):
    t = factories.team(reports=2)
    cycle = factories.review_cycle(threshold=3)
    for member in t.members:
        submit(cycle, assignments(cycle, rater_id=member.id, group="direct_report")[0])
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 2
    outbox.enqueue(kind="reminder_review", recipient="x@pd.test", subject="s", body="b",
                   dedup_key=f"review:{cycle.id}:rater:1:3d")
    db.session.commit()
    cycles.move(HR, cycle.id, "close")
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 0
    assert db.session.scalar(select(func.count()).select_from(AnonymousReview)) == 0
    assert db.session.scalar(select(OutboxMessage.status)).value == "dropped"
    entry = db.session.scalar(select(factories.AuditEntry).where(factories.AuditEntry.action == "cycle.close"))
    assert "0 anonymous review(s) released, 0 pooled into unit results, 2 deleted unread" in entry.detail


def test_a_late_review_cannot_be_recovered_by_comparing_before_and_after_the_close(app):
    t = factories.team(reports=4)
    cycle = factories.review_cycle(threshold=3)
    for score, member in zip((5, 5, 5), t.members):
        submit(cycle, assignments(cycle, rater_id=member.id, group="direct_report")[0], score=score)
    before = reports.upward_report(HR, cycle.id, t.sergeant.id).result
    assert before.shown and before.responses == 3
    submit(cycle, assignments(cycle, rater_id=t.members[3].id, group="direct_report")[0], score=1, comment="late")
    assert reports.upward_report(HR, cycle.id, t.sergeant.id).result == before   # held: the view does not move
    cycles.move(HR, cycle.id, "close")
    cycles.move(HR, cycle.id, "publish", period="none")
    after = reports.upward_report(HR, cycle.id, t.sergeant.id).result
    assert after == before and "late" not in after.comments   # the lone late review was deleted unread


def test_submitting_twice_counts_once(app):
    t = factories.team(reports=3)
    cycle = factories.review_cycle(threshold=3)
    mine = assignments(cycle, rater_id=t.members[0].id, group="direct_report")[0]
    submit(cycle, mine)
    with pytest.raises(DomainError, match="already been submitted|cannot be changed"):
        submit(cycle, mine)
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 1


def test_the_sweep_closes_a_cycle_after_its_close_date(app):
    factories.team()
    cycle = factories.review_cycle(days=1)
    from evaluations.services import reminders
    reminders.sweep(clock.now() + timedelta(days=1))
    assert cycle.status == CycleStatus.OPEN
    reminders.sweep(clock.now() + timedelta(days=3))
    db.session.refresh(cycle)
    assert cycle.status == CycleStatus.CLOSED


# --- community metrics ----------------------------------------------------------------------------

HEADER = ("badge_number,period_start,period_end,compliments,complaints,complaints_sustained,community_meetings,"
          "problem_solving_projects,resident_safety_score\n")


def test_metrics_import_is_all_or_nothing_with_every_error_on_its_line(app, auth):
    a, b = factories.officer(badge="M1"), factories.officer(badge="M2")
    auth.as_role("hr")
    bad = HEADER + ("M1,2026-01-01,2026-03-31,3,1,0,2,1,4.2\n"
                    "NOPE,2026-01-01,2026-03-31,1,0,0,0,0,\n"
                    "M2,2026-03-31,2026-01-01,1,1,2,x,0,6\n")
    from io import BytesIO
    from core.services import imports
    response = auth.post("/reviews/metrics", {"file": (BytesIO(bad.encode()), "q1.csv"), "submit": "1"},
                         form_page="/reviews/metrics", content_type="multipart/form-data")
    assert response.status_code == 302  # to the import's page; the worker checks it
    imports.work()
    text = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing was written" in text
    for expected in ("<td>3</td><td>badge_number NOPE is not on the roster", "period_end is before period_start",
                     "complaints_sustained is more than complaints", "community_meetings &#39;x&#39;",
                     "resident_safety_score &#39;6&#39;"):
        assert expected in text, expected
    assert db.session.scalar(select(func.count()).select_from(CommunityMetric)) == 0
    good = HEADER + "M1,2026-01-01,2026-03-31,3,1,0,2,1,4.2\nM2,2026-01-01,2026-03-31,0,2,1,0,0,\n"
    response = auth.post("/reviews/metrics", {"file": (BytesIO(good.encode()), "q1.csv"), "preview": "1"},
                         form_page="/reviews/metrics", content_type="multipart/form-data")
    imports.work()
    assert "2 row(s): 2 new" in auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CommunityMetric)) == 0
    report = metrics.import_metrics(HR, good, dry_run=False)
    assert report.created == 2
    corrected = good.replace(",3,1,0,2,1,4.2", ",5,1,0,2,1,4.2")
    refused = metrics.import_metrics(HR, corrected, dry_run=False)
    assert [e.line for e in refused.errors] == [2, 3] and "already imported" in refused.errors[0].message
    again = metrics.import_metrics(HR, corrected, dry_run=False, replace=True)
    assert again.replaced == 2 and db.session.scalar(select(CommunityMetric.compliments)
                                                     .where(CommunityMetric.officer_id == a.id)) == 5
    assert b


def test_metrics_cli_dry_run_and_errors(app, runner, tmp_path):
    factories.officer(badge="C1")
    path = tmp_path / "m.csv"
    path.write_text(HEADER + "C1,2026-01-01,2026-03-31,3,1,0,2,1,\nC1,2026-01-01,2026-03-31,3,1,0,2,1,\n")
    result = runner.invoke(args=["metrics", "import", str(path)])
    assert result.exit_code == 1 and "line 3: badge_number C1 for this period is already on line 2" in result.output
    path.write_text(HEADER + "C1,2026-01-01,2026-03-31,3,1,0,2,1,\n")
    result = runner.invoke(args=["metrics", "import", "--dry-run", str(path)])
    assert result.exit_code == 0 and "would write 1 row" in result.output
    assert db.session.scalar(select(func.count()).select_from(CommunityMetric)) == 0
    result = runner.invoke(args=["metrics", "import", str(path)])
    assert result.exit_code == 0 and db.session.scalar(select(func.count()).select_from(CommunityMetric)) == 1


def test_verified_activities_count_toward_the_metrics(app, auth):
    t = factories.team(reports=1)
    member = t.members[0]
    metrics.import_metrics(HR, HEADER + f"{member.badge_number},2026-01-01,2026-12-31,1,0,0,2,0,\n", dry_run=False)
    auth.login(t.users[member.id].email)
    day = min(today(), __import__("datetime").date(2026, 12, 31))
    for kind in ("meeting", "meeting"):
        assert auth.post("/reviews/activities", {"day": day.isoformat(), "kind": kind, "hours": "2"},
                         form_page="/reviews/activities").status_code == 302
    assert metrics.community_for([member.id], day)[member.id].figures.community_meetings == 2
    auth.logout()
    auth.login(t.users[t.sergeant.id].email)
    page = auth.client.get("/reviews/activities").get_data(as_text=True)
    ids = re.findall(r"/reviews/activities/(\d+)/verify", page)
    assert len(ids) == 2
    auth.post(f"/reviews/activities/{ids[0]}/verify", form_page="/reviews/activities")
    auth.post(f"/reviews/activities/{ids[1]}/reject", form_page="/reviews/activities")
    figures = metrics.community_for([member.id], day)[member.id].figures
    assert figures.community_meetings == 3 and figures.verified_activities == 1
    auth.logout()
    auth.login(t.users[t.members[0].id].email)   # nobody verifies their own
    assert auth.post(f"/reviews/activities/{ids[0]}/verify", form_page="/reviews/activities").status_code == 404


def test_activity_hours_must_be_a_real_number(app, auth):
    auth.as_role("officer")
    for hours in ("sNaN", "NaN", "Infinity", "0", "25"):
        response = auth.post("/reviews/activities", {"day": "2026-01-05", "kind": "meeting", "hours": hours},
                             form_page="/reviews/activities")
        assert response.status_code == 422, hours


# --- reminders --------------------------------------------------------------------------------

# --- reports ------------------------------------------------------------------------------------

def published_team_cycle(reports_n=3, threshold=3, before_publish=None):
    t = factories.team(reports=reports_n)
    cycle = factories.review_cycle(threshold=threshold)
    for a in assignments(cycle):
        submit(cycle, a, score=3 + (a.group.value == "direct_report"), comment=f"note from {a.group.value}")
    cycles.move(HR, cycle.id, "close")
    if before_publish:
        before_publish(t)
    cycles.move(HR, cycle.id, "publish", period="none")
    return t, cycle


def test_report_is_for_the_subject_their_supervisor_and_hr_only(app, auth):
    t, cycle = published_team_cycle()
    url = f"/reviews/cycles/{cycle.id}/subjects/{t.sergeant.id}"
    allowed = [t.users[t.sergeant.id].email, t.users[t.boss.id].email]
    for email in allowed:
        auth.login(email)
        assert auth.client.get(url).status_code == 200, email
        assert auth.client.get(url + ".pdf").status_code == 200
        auth.logout()
    auth.login(t.users[t.members[0].id].email)        # someone who reports to the subject
    assert auth.client.get(url).status_code == 404
    assert auth.client.get(url + ".pdf").status_code == 404
    auth.logout()
    auth.as_role("hr")
    assert auth.client.get(url).status_code == 200
    auth.logout()
    for role in ("admin", "clinician"):
        auth.as_role(role)
        assert auth.client.get(url).status_code == 403
        auth.logout()
    views = db.session.execute(select(factories.AuditEntry.actor_label).where(
        factories.AuditEntry.action == "review.report.view")).scalars().all()
    assert len(views) == 5


def test_report_shows_groups_gap_metrics_comments_and_a_chart(app, auth):
    t, cycle = published_team_cycle()
    auth.as_role("hr")
    page = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{t.sergeant.id}").get_data(as_text=True)
    assert "Direct reports: 3 responses" in page and "Supervisor: 1 response" in page
    assert "note from direct_report" in page and "note from self" in page and "note from supervisor" in page
    member = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{t.members[0].id}").get_data(as_text=True)
    assert "Peers: 2 responses" in member and "note from peer" in member and "Direct reports" not in member
    assert "Self − others" in page and 'class="progress-bar bar-' in page
    assert "Not enough responses" not in page


def test_pdf_holds_the_report(app):
    t, cycle = published_team_cycle()
    from evaluations import pdf
    report = reports.subject_report(HR, cycle.id, t.sergeant.id, fmt="pdf")
    data = pdf.subject_report_pdf(report)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)  # glyph ids, not Latin-1
    for expected in ("Performance review", "Supervision", "Direct reports", "note from direct_report"):
        assert expected in text, expected


def test_matrix_ranks_by_composite_beside_seniority_and_exports_csv(app, auth):
    def newest(t):
        t.sergeant.hire_date = t.members[0].hire_date + timedelta(days=3 * 365)
        db.session.commit()
    # The best-rated (the sergeant: direct reports rate 4, everyone else 3) is the newest hire.
    t, cycle = published_team_cycle(before_publish=newest)
    auth.as_role("hr")
    page = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix").get_data(as_text=True)
    assert "Composite weights" in page and "supervisor 0.35" in page
    csv_text = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix.csv").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("rank,composite,badge_number") and len(lines) == 1 + 5
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    composites = [float(r["composite"]) for r in rows if r["composite"]]
    assert composites == sorted(composites, reverse=True) and composites[0] > composites[1]
    assert rows[0]["badge_number"] == t.sergeant.badge_number
    # Equal composites share a rank; the lieutenant, with no supervisor and no peer of
    # their rank band, has only a self review (weight 0): no composite, no rank, last.
    assert [r["rank"] for r in rows] == ["1", "2", "2", "2", ""] and rows[-1]["composite"] == ""
    # Ranked first by performance although last by seniority.
    assert int(rows[0]["seniority_rank"]) == max(int(r["seniority_rank"]) for r in rows) > 1
    # Rectangular, as a spreadsheet reads it, with the page's "Difference" (seniority
    # rank minus performance rank) and the weights on every row.
    table = list(csv.reader(io.StringIO(csv_text)))
    assert {len(r) for r in table} == {len(table[0])} and table[0][-3:] == ["difference", "weights", "version"]
    assert all(int(r["difference"]) == int(r["seniority_rank"]) - int(r["rank"]) for r in rows if r["rank"])
    assert {r["version"] for r in rows} == {"1"}
    assert "supervisor=0.35" in rows[0]["weights"]
    unit_only = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix.csv?rank=Sergeant").get_data(as_text=True)
    assert len(unit_only.strip().splitlines()) == 2
