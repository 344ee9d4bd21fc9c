"""Issue 14: a published cycle's results are fixed (later imports, activities and roster
edits change nothing; a correction is a new, audited version with its reason), metrics
periods never overlap for one officer, and small upward groups are pooled by unit at
the close rather than deleted unread."""
import re
from datetime import date

import pytest
from sqlalchemy import delete, func, select

from core import clock
from core.audit import Actor
from core.db import db
from core.errors import DomainError
from core.models import AuditEntry
from evaluations.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    AnonymousReview,
    CommunityMetric,
    HeldReview,
    PooledReview,
    ResultLine,
    ResultVersion,
)
from evaluations.services import cycles, metrics, reports
from tests import factories
from tests.integration.test_reviews import HEADER, assignments, submit

HR = Actor.system("test-hr")
SPRING = ("2026-04-01", "2026-06-30")
SUMMER = ("2026-07-01", "2026-09-30")


def _metrics(officers, period, compliments, replace=False):
    start, end = period
    text = HEADER + "".join(f"{o.badge_number},{start},{end},{compliments(i)},1,{i % 2},{i % 4},1,{3 + i % 2}.5\n"
                            for i, o in enumerate(officers))
    return metrics.import_metrics(HR, text, dry_run=False, replace=replace)


def _published(team_size=3, period=SPRING):
    t = factories.team(reports=team_size)
    everyone = [t.boss, t.sergeant, *t.members]
    assert _metrics(everyone, period, lambda i: i + 1).ok
    cycle = factories.review_cycle(threshold=3)
    for a in assignments(cycle):
        submit(cycle, a, score=3 + (a.group.value == "direct_report"), comment=f"note from {a.group.value}")
    cycles.move(HR, cycle.id, "close", period="/".join(period))
    cycles.move(HR, cycle.id, "publish")
    return t, everyone, cycle


def _community(page: str) -> str:
    return re.search(r'<table class="table table-sm w-auto" id="community">.*?</table>', page, re.S).group(0)


def test_later_imports_activities_and_roster_edits_change_no_published_figure(app, auth):
    t, everyone, cycle = _published()
    auth.as_role("hr")
    matrix_before = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix.csv").get_data(as_text=True)
    report_url = f"/reviews/cycles/{cycle.id}/subjects/{t.members[0].id}"
    report_before = auth.client.get(report_url).get_data(as_text=True)
    assert "2026-04-01 to 2026-06-30" in _community(report_before)

    # After publication: a later period with other figures for everyone, an activity
    # verified inside the cycle's period, a new hire date, another unit.
    assert _metrics(everyone, SUMMER, lambda i: 40 - i).ok
    db.session.add(Activity(officer_id=t.members[0].id, day=date(2026, 5, 5), kind=ActivityKind.MEETING, hours=2,
                            note="late", status=ActivityStatus.VERIFIED, created_at=clock.now(),
                            verified_at=clock.now()))
    t.sergeant.hire_date = date(2024, 1, 1)
    t.members[0].unit = factories.unit("Moved Unit")
    db.session.commit()
    # What the live figures now say differs: the old rule would have picked the summer.
    assert metrics.community_for([t.members[0].id], date(2026, 11, 27))[t.members[0].id].figures.compliments == 38

    matrix_after = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix.csv").get_data(as_text=True)
    report_after = auth.client.get(report_url).get_data(as_text=True)
    assert matrix_after == matrix_before
    assert _community(report_after) == _community(report_before)
    assert "Results version 1 of 1" in report_after
    page = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix").get_data(as_text=True)
    assert "Results version 1 of 1" in page and "01 Apr 2026 to 30 Jun 2026" in page


def test_a_correction_is_a_new_version_with_its_reason_and_the_old_one_stays(app, auth):
    t, everyone, cycle = _published()
    assert _metrics(everyone, SUMMER, lambda i: 40 - i).ok
    with pytest.raises(DomainError, match="Say why"):
        from evaluations.services import results
        results.correct(HR, cycle.id, "oops")
    auth.as_role("hr")
    page = f"/reviews/cycles/{cycle.id}"
    response = auth.post(f"/reviews/cycles/{cycle.id}/results/correct",
                         {"period": "/".join(SUMMER), "reason": "Spring figures were the wrong district's file"},
                         form_page=page)
    assert response.status_code == 302
    numbers = db.session.scalars(select(ResultVersion.number).where(ResultVersion.cycle_id == cycle.id)
                                 .order_by(ResultVersion.number)).all()
    assert numbers == [1, 2]
    report_url = f"/reviews/cycles/{cycle.id}/subjects/{t.members[0].id}"
    latest = auth.client.get(report_url).get_data(as_text=True)
    assert "Results version 2 of 2" in latest and "the wrong district&#39;s file" in latest
    assert "2026-07-01 to 2026-09-30" in _community(latest)
    first = auth.client.get(report_url + "?version=1").get_data(as_text=True)
    assert "Results version 1 of 2" in first and "2026-04-01 to 2026-06-30" in _community(first)
    assert "See the latest version" in first
    csv_text = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix.csv").get_data(as_text=True)
    assert csv_text.splitlines()[1].endswith(",2")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "review.results.correct"))
    assert "version 2" in entry.detail and "wrong district" in entry.detail
    cycle_page = auth.client.get(page).get_data(as_text=True)
    assert 'id="versions"' in cycle_page and "wrong district" in cycle_page


def test_publishing_needs_the_metrics_period_chosen(app, auth):
    factories.team(reports=1)
    cycle = factories.review_cycle(threshold=2)
    cycles.move(HR, cycle.id, "close")
    with pytest.raises(DomainError, match="Choose the community-metrics period"):
        cycles.move(HR, cycle.id, "publish")
    db.session.refresh(cycle)
    assert cycle.status.value == "closed"
    auth.as_role("hr")
    assert "Not chosen yet" in auth.client.get(f"/reviews/cycles/{cycle.id}").get_data(as_text=True)
    bad = auth.post(f"/reviews/cycles/{cycle.id}/metrics-period", {"period": "2020-01-01/2020-02-01"},
                    form_page=f"/reviews/cycles/{cycle.id}", follow_redirects=True)
    assert "No community metrics were imported" in bad.get_data(as_text=True)
    auth.post(f"/reviews/cycles/{cycle.id}/metrics-period", {"period": "none"}, form_page=f"/reviews/cycles/{cycle.id}")
    auth.post(f"/reviews/cycles/{cycle.id}/publish", form_page=f"/reviews/cycles/{cycle.id}")
    db.session.refresh(cycle)
    assert cycle.status.value == "published"
    version = db.session.scalar(select(ResultVersion).where(ResultVersion.cycle_id == cycle.id))
    assert version.number == 1 and version.metrics_start is None


def test_a_cycle_published_before_results_were_kept_gets_version_1_when_first_read(app, auth):
    t, everyone, cycle = _published()
    versions = select(ResultVersion.id).where(ResultVersion.cycle_id == cycle.id).scalar_subquery()
    db.session.execute(delete(ResultLine).where(ResultLine.version_id.in_(versions)))
    db.session.execute(delete(ResultVersion).where(ResultVersion.cycle_id == cycle.id))
    db.session.commit()
    auth.as_role("hr")
    page = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{t.sergeant.id}").get_data(as_text=True)
    assert "Results version 1 of 1" in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "review.results.record"))
    assert entry is not None and entry.actor_label == "results"


# --- metrics periods never overlap ------------------------------------------------------------------

def test_an_overlapping_period_is_refused_line_by_line_unless_replace_is_asked(app):
    a, b = factories.officer(badge="OV1"), factories.officer(badge="OV2")
    assert metrics.import_metrics(HR, HEADER + "OV1,2026-06-01,2026-09-15,1,0,0,0,0,\n"
                                  "OV1,2026-09-16,2026-11-20,1,0,0,0,0,\n", dry_run=False).ok
    over = HEADER + "OV2,2026-09-01,2026-11-20,5,0,0,0,0,\nOV1,2026-09-01,2026-11-20,5,0,0,0,0,\n"
    refused = metrics.import_metrics(HR, over, dry_run=True)
    assert [str(e) for e in refused.errors] == [
        "line 3: the period overlaps 2026-06-01 to 2026-09-15, already imported for this officer: one officer's "
        "periods never overlap (to overwrite them, import again with \"Replace figures already imported\")"]
    inside = HEADER + "OV2,2026-01-01,2026-03-31,1,0,0,0,0,\nOV2,2026-03-01,2026-05-31,1,0,0,0,0,\n"
    assert [str(e) for e in metrics.import_metrics(HR, inside, dry_run=True).errors] == [
        "line 3: badge_number OV2: the period overlaps 2026-01-01 to 2026-03-31 on line 2 (one officer's periods "
        "never overlap)"]
    preview = metrics.import_metrics(HR, over, dry_run=True, replace=True)
    assert preview.ok and (preview.created, preview.replaced) == (1, 1)
    assert db.session.scalar(select(func.count()).select_from(CommunityMetric)) == 2
    done = metrics.import_metrics(HR, over, dry_run=False, replace=True)
    assert done.ok
    assert db.session.execute(select(CommunityMetric.period_start, CommunityMetric.period_end)
                              .where(CommunityMetric.officer_id == a.id)).all() == [
        (date(2026, 9, 1), date(2026, 11, 20))]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "metrics.import")
                              .order_by(AuditEntry.id.desc()))
    assert "(replace asked for)" in entry.detail
    assert b.id


def test_a_period_a_published_cycle_used_is_never_replaced(app):
    t, everyone, cycle = _published()
    again = HEADER + f"{t.members[0].badge_number},2026-06-01,2026-07-15,9,0,0,0,0,\n"
    report = metrics.import_metrics(HR, again, dry_run=False, replace=True)
    assert [str(e) for e in report.errors] == [
        f"line 2: the period 2026-04-01 to 2026-06-30 of this officer was used by the published cycle "
        f"{cycle.name!r}; its figures are kept as they are"]
    assert db.session.scalar(select(CommunityMetric.compliments).where(
        CommunityMetric.officer_id == t.members[0].id)) == 3


def test_the_import_page_offers_replace_and_carries_it_to_the_job(app, auth):
    from io import BytesIO

    from core.services import imports
    factories.officer(badge="PG1")
    metrics.import_metrics(HR, HEADER + "PG1,2026-01-01,2026-03-31,1,0,0,0,0,\n", dry_run=False)
    auth.as_role("hr")
    assert "Replace figures already imported" in auth.client.get("/reviews/metrics").get_data(as_text=True)
    again = HEADER + "PG1,2026-01-01,2026-03-31,7,0,0,0,0,\n"
    response = auth.post("/reviews/metrics", {"file": (BytesIO(again.encode()), "q1.csv"), "preview": "1"},
                         form_page="/reviews/metrics", content_type="multipart/form-data")
    imports.work()
    assert "already imported" in auth.client.get(response.headers["Location"]).get_data(as_text=True)
    response = auth.post("/reviews/metrics", {"file": (BytesIO(again.encode()), "q1.csv"), "preview": "1",
                                              "replace": "y"},
                         form_page="/reviews/metrics", content_type="multipart/form-data")
    imports.work()
    assert "1 row(s)" in auth.client.get(response.headers["Location"]).get_data(as_text=True)


# --- small upward groups pooled by unit ---------------------------------------------------------------

def _unit_of_small_teams():
    """One unit: sergeants with 2, 2, 4 and 1 direct reports (threshold 3)."""
    boss = factories.officer(unit_name="Pool Unit", rank="Lieutenant", first="Lou")
    sergeants = [factories.officer(unit_name="Pool Unit", rank="Sergeant", first=f"Sgt{i}", supervisor=boss)
                 for i in range(4)]
    members = {s.id: [factories.officer(unit_name="Pool Unit", first=f"R{i}{j}", supervisor=s) for j in range(n)]
               for i, (s, n) in enumerate(zip(sergeants, (2, 2, 4, 1)))}
    users = {o.id: factories.user(officer_row=o) for o in [boss, *sergeants, *sum(members.values(), [])]}
    return boss, sergeants, members, users


def test_small_upward_groups_of_a_unit_are_pooled_and_the_rest_discarded_never_whose(app, auth):
    boss, (s1, s2, s3, s4), members, users = _unit_of_small_teams()
    lone = factories.team(reports=2, unit_name="Lone Unit")     # a unit whose pool cannot reach 3
    cycle = factories.review_cycle(threshold=3)
    upward = lambda sergeant: assignments(cycle, subject_id=sergeant.id, group="direct_report")  # noqa: E731
    third = upward(s3)
    for a in upward(s1) + upward(s2) + third[:3] + upward(s4) + upward(lone.sergeant):
        submit(cycle, a, score=2, comment=f"upward {a.rater_id}")
    assert reports.upward_report(HR, cycle.id, s3.id).result.shown           # released while open
    submit(cycle, third[3], score=5, comment="late for s3")                   # held: 1, never pooled

    auth.as_role("hr")
    close_page = auth.client.get(f"/reviews/cycles/{cycle.id}/close").get_data(as_text=True)
    forecast = re.search(r'<ul id="close-forecast">.*?</ul>', close_page, re.S).group(0)
    assert "4 upward reviews from groups of 2 to 2 are pooled into 1 unit result" in forecast
    # s3's late review, s4's lone one, and the lone unit's two (a pool of 2 < 3)
    assert "4 held reviews are deleted unread" in forecast
    under = re.search(r'id="under-threshold">.*?</table>', close_page, re.S).group(0)
    for s in (s1, s2, s4, lone.sergeant):
        assert s.last_name in under
    assert s3.last_name not in under
    response = auth.post(f"/reviews/cycles/{cycle.id}/close", {"period": "none"},
                         form_page=f"/reviews/cycles/{cycle.id}/close", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "4 upward review(s) pooled into unit results, 4 deleted unread" in text
    assert "4 upward reviews from groups under the threshold pooled into unit results; 4 deleted unread" in text
    db.session.refresh(cycle)
    assert (cycle.status.value, cycle.pooled_count, cycle.discarded_count) == ("closed", 4, 4)
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 0
    assert db.session.scalar(select(func.count()).select_from(PooledReview)) == 4
    assert db.session.scalar(select(func.count()).select_from(AnonymousReview)
                             .where(AnonymousReview.subject_id.in_([s1.id, s2.id, s4.id]))) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "cycle.close"))
    assert "4 pooled into unit results, 4 deleted unread" in entry.detail
    for name in (s1.last_name, s2.last_name, s3.last_name, s4.last_name):
        assert name not in entry.detail
    pool_url = f"/reviews/cycles/{cycle.id}/units/{s1.unit_id}/upward"
    as_hr = auth.client.get(pool_url).get_data(as_text=True)
    pooled_words = {f"upward {m.id}" for m in members[s1.id] + members[s2.id]}
    assert pooled_words == set(re.findall(r"upward \d+", as_hr))        # HR reads the comments
    assert f"upward {members[s4.id][0].id}" not in as_hr and "late for s3" not in as_hr
    auth.logout()

    auth.login(users[s1.id].email)       # a sergeant whose group was pooled
    mine = auth.client.get(f"/reviews/cycles/{cycle.id}/upward").get_data(as_text=True)
    assert "Not enough responses" in mine and pool_url in mine
    pooled = auth.client.get(pool_url).get_data(as_text=True)
    assert "4 responses, pooled" in pooled and "2.00" in pooled
    assert "shown to HR only" in pooled and not re.findall(r"upward \d+", pooled)   # scores, not words
    auth.logout()
    auth.login(users[members[s1.id][0].id].email)    # an officer of the unit, not reviewed upward
    assert auth.client.get(pool_url).status_code == 404
    auth.logout()
    auth.login(lone.users[lone.sergeant.id].email)   # a supervisor of another unit
    assert auth.client.get(pool_url).status_code == 404
    assert "Not enough responses" in auth.client.get(f"/reviews/cycles/{cycle.id}/upward").get_data(as_text=True)


def test_the_command_line_publishes_and_imports_with_replace(app, runner, tmp_path):
    t = factories.team(reports=1)
    path = tmp_path / "m.csv"
    path.write_text(HEADER + f"{t.sergeant.badge_number},2026-01-01,2026-03-31,1,0,0,0,0,\n")
    assert runner.invoke(args=["metrics", "import", str(path)]).exit_code == 0
    path.write_text(HEADER + f"{t.sergeant.badge_number},2026-01-01,2026-03-31,4,0,0,0,0,\n")
    refused = runner.invoke(args=["metrics", "import", str(path)])
    assert refused.exit_code == 1 and "line 2: figures for this officer and period are already imported" in \
        refused.output
    replaced = runner.invoke(args=["metrics", "import", "--replace", str(path)])
    assert replaced.exit_code == 0 and "1 replaced" in replaced.output
    cycle = factories.review_cycle(threshold=2)
    cycles.move(HR, cycle.id, "close")
    refused = runner.invoke(args=["reviews", "publish", str(cycle.id)])
    assert refused.exit_code == 1 and "Choose the community-metrics period" in refused.output
    done = runner.invoke(args=["reviews", "publish", str(cycle.id), "--period", "2026-01-01/2026-03-31"])
    assert done.exit_code == 0 and "results fixed as version 1" in done.output
    line = db.session.scalar(select(ResultLine).where(ResultLine.officer_id == t.sergeant.id))
    assert line.community["current"]["compliments"] == 4


def test_hr_adds_a_rater_to_an_open_cycle_for_a_group_under_the_threshold(app, auth):
    t = factories.team(reports=2)
    cycle = factories.review_cycle(threshold=3)
    extra = factories.officer(unit_name=t.sergeant.unit.name, first="New", supervisor=t.sergeant)
    factories.user(officer_row=extra)
    auth.as_role("hr")
    page = auth.client.get(f"/reviews/cycles/{cycle.id}").get_data(as_text=True)
    assert "Add a rater" in page and t.sergeant.last_name in re.search(
        r'id="small-groups">.*?</details>', page, re.S).group(0)
    response = auth.post(f"/reviews/cycles/{cycle.id}/assignments",
                         {"subject_badge": t.sergeant.badge_number, "rater_badge": extra.badge_number,
                          "group": "direct_report"}, form_page=f"/reviews/cycles/{cycle.id}")
    assert response.status_code == 302
    added = assignments(cycle, subject_id=t.sergeant.id, rater_id=extra.id)
    assert [a.group.value for a in added] == ["direct_report"] and added[0].reason == "added by HR"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "cycle.assignments.add"))
    assert "(added while the cycle is open)" in entry.detail
    cycles.move(HR, cycle.id, "close")
    with pytest.raises(DomainError, match="draft or open"):
        cycles.add_assignment(HR, cycle.id, t.sergeant.badge_number, t.members[0].badge_number, "peer")


def _as_legacy(cycle):
    """The cycle as a release before result versions left it: published, with none."""
    versions = select(ResultVersion.id).where(ResultVersion.cycle_id == cycle.id).scalar_subquery()
    db.session.execute(delete(ResultLine).where(ResultLine.version_id.in_(versions)))
    db.session.execute(delete(ResultVersion).where(ResultVersion.cycle_id == cycle.id))
    cycle.metrics_start = cycle.metrics_end = None
    cycle.metrics_chosen = False
    db.session.commit()


def test_a_legacy_cycle_is_fixed_before_any_import_and_its_periods_are_kept(app, auth):
    t, everyone, cycle = _published()
    _as_legacy(cycle)
    later = HEADER + "".join(f"{o.badge_number},2026-10-01,2026-11-27,77,0,0,0,0,\n" for o in everyone)
    assert metrics.import_metrics(HR, later, dry_run=False).ok          # records version 1 first
    version = db.session.scalar(select(ResultVersion).where(ResultVersion.cycle_id == cycle.id))
    line = db.session.get(ResultLine, (version.id, t.members[0].id))
    assert version.number == 1 and line.community["current"]["start"] == "2026-04-01"
    auth.as_role("hr")
    page = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{t.members[0].id}").get_data(as_text=True)
    assert "2026-04-01 to 2026-06-30" in _community(page)
    matrix = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix").get_data(as_text=True)
    assert "latest period by the close date" in matrix
    again = HEADER + f"{t.members[0].badge_number},2026-04-01,2026-06-30,9,0,0,0,0,\n"
    refused = metrics.import_metrics(HR, again, dry_run=False, replace=True)
    assert refused.errors and "was used by the published cycle" in refused.errors[0].message


def test_a_replace_lists_what_it_deleted_and_publish_refuses_a_period_gone_since(app):
    t = factories.team(reports=1)
    assert _metrics([t.sergeant], SPRING, lambda i: 1).ok
    cycle = factories.review_cycle(threshold=2)
    cycles.move(HR, cycle.id, "close", period="/".join(SPRING))
    other = HEADER + f"{t.sergeant.badge_number},2026-05-01,2026-07-31,2,0,0,0,0,\n"
    assert metrics.import_metrics(HR, other, dry_run=False, replace=True).ok
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "metrics.import")
                              .order_by(AuditEntry.id.desc()))
    assert f"deleted 1 period(s) of officers: {t.sergeant.badge_number} 2026-04-01 to 2026-06-30" in entry.detail
    with pytest.raises(DomainError, match="No community metrics were imported for 01 Apr 2026 to 30 Jun 2026"):
        cycles.move(HR, cycle.id, "publish")


def test_overlaps_are_found_in_a_file_of_many_periods(app):
    factories.officer(badge="MP1")
    lines = [f"MP1,2026-01-{d:02d},2026-01-{d:02d},1,0,0,0,0," for d in range(1, 21)]
    lines.append("MP1,2026-01-15,2026-01-16,1,0,0,0,0,")
    report = metrics.import_metrics(HR, HEADER + "\n".join(lines) + "\n", dry_run=True)
    assert [str(e) for e in report.errors] == [
        "line 22: badge_number MP1: the period overlaps 2026-01-15 to 2026-01-15 on line 16 (one officer's periods "
        "never overlap)"]


def test_record_results_fixes_every_legacy_cycle_from_the_command_line(app, runner):
    t, everyone, cycle = _published()
    _as_legacy(cycle)
    result = runner.invoke(args=["reviews", "record-results"])
    assert result.exit_code == 0 and "recorded version 1 of 1 published cycle(s)" in result.output
    assert runner.invoke(args=["reviews", "record-results"]).output.startswith("recorded version 1 of 0")
    version = db.session.scalar(select(ResultVersion).where(ResultVersion.cycle_id == cycle.id))
    assert version.reason.startswith("Recorded when Beacon began keeping")
