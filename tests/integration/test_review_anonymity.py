"""Who wrote an upward review cannot be found out: not from the schema, the stored
rows, the database file, the pages, exports, the audit log, the application log or
the emails. Each rater writes a comment with a unique marker; the tests look for a
link between a marker and its author everywhere a person (or an attacker with the
database) could look."""
import logging
import re

import sqlalchemy as sa
from sqlalchemy import func, select

from core.db import db
from core.models import AuditEntry
from evaluations.models import AnonymousReview, HeldReview
from evaluations.services import cycles, reports
from evaluations.services.common import seed_of
from core.models import OutboxMessage
from tests import factories
from tests.integration.test_reviews import HR, assignments, submit

PERSON_OR_TIME = re.compile(r"(rater|user|account|author|officer_id|ip|_at$|time|seq|created|updated|submitted)")


def test_the_anonymous_table_has_no_column_for_a_person_or_a_time(app):
    for table in (AnonymousReview.__table__, HeldReview.__table__):
        inspected = sa.inspect(db.engine).get_columns(table.name)
        names = {c["name"] for c in inspected}
        # rater_group is which group (self, peer, direct report...), not who.
        assert not [n for n in names - {"rater_group"} if PERSON_OR_TIME.search(n)], table.name
        assert names == ({"id", "cycle_id", "subject_id", "rater_group", "scores", "comment", "score_total",
                          "score_count"} if table.name == "anonymous_reviews" else
                         {"id", "cycle_id", "subject_id", "rater_group", "sealed"})
        for column in inspected:
            assert not isinstance(column["type"], (sa.DateTime, sa.Date, sa.Time)), column["name"]
        foreign = sa.inspect(db.engine).get_foreign_keys(table.name)
        # The only person it names is the subject, the person reviewed.
        assert {(fk["referred_table"], tuple(fk["constrained_columns"])) for fk in foreign} == {
            ("review_cycles", ("cycle_id",)), ("officers", ("subject_id",))}
        pk = sa.inspect(db.engine).get_pk_constraint(table.name)["constrained_columns"]
        assert pk == ["id"] and isinstance(table.c.id.type, sa.Uuid)   # random, not a sequence
    if db.engine.dialect.name == "sqlite":
        sql = db.session.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'anonymous_reviews'")).scalar()
        assert sql.rstrip().endswith("WITHOUT ROWID")                  # no hidden arrival order either


def _upward_scene(n=3, threshold=3):
    t = factories.team(reports=n)
    cycle = factories.review_cycle(threshold=threshold)
    markers = {}
    for i, member in enumerate(t.members):
        marker = f"MARKER{i}X{member.id}"
        markers[member.id] = marker
        submit(cycle, assignments(cycle, rater_id=member.id, group="direct_report")[0], score=1 + i, comment=marker)
    return t, cycle, markers


def test_nothing_readable_is_stored_until_the_threshold_and_then_rows_carry_no_order(app):
    t = factories.team(reports=3)
    cycle = factories.review_cycle(threshold=3)
    for i, member in enumerate(t.members[:2]):
        submit(cycle, assignments(cycle, rater_id=member.id, group="direct_report")[0], comment=f"SECRET{i}")
    held = db.session.scalars(select(HeldReview.sealed)).all()
    assert len(held) == 2 and len({len(h) for h in held}) == 1            # same size whatever the comment
    assert all(b"SECRET" not in h for h in held)
    assert db.session.scalar(select(func.count()).select_from(AnonymousReview)) == 0
    if db.engine.dialect.name == "sqlite":
        db.session.commit()
        path = db.engine.url.database
        raw = open(path, "rb").read()
        for suffix in ("-wal", "-journal"):
            try:
                raw += open(path + suffix, "rb").read()
            except FileNotFoundError:
                pass
        assert b"SECRET0" not in raw and b"SECRET1" not in raw           # not even in the file's free pages
    submit(cycle, assignments(cycle, rater_id=t.members[2].id, group="direct_report")[0], comment="SECRET2")
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 0
    assert db.session.scalar(select(func.count()).select_from(AnonymousReview)) == 3
    if db.engine.dialect.name == "postgresql":
        # All three rows were written by one transaction, not the submitters' own.
        review_tx = set(db.session.execute(sa.text("SELECT xmin::text FROM anonymous_reviews")).scalars())
        rater_tx = set(db.session.execute(sa.text("SELECT xmin::text FROM review_assignments WHERE rater_group = "
                                                  "'direct_report' AND status = 'submitted'")).scalars())
        audit_tx = set(db.session.execute(sa.text("SELECT xmin::text FROM audit_entries")).scalars())
        assert len(review_tx) == 1 and not review_tx & (rater_tx | audit_tx)


def test_pages_exports_audit_log_emails_and_logs_do_not_link_a_review_to_its_author(app, auth, caplog):
    caplog.set_level(logging.DEBUG)
    t, cycle, markers = _upward_scene()
    cycles.move(HR, cycle.id, "close")
    cycles.move(HR, cycle.id, "publish", period="none")
    # The audit log says that each submitted an upward review in the cycle, and nothing else.
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.submit")).all()
    upward = [e for e in entries if "upward" in e.detail]
    assert len(upward) == 3
    for e in upward:
        assert e.detail == f"submitted an upward review in cycle {cycle.name}" and e.target == f"cycle:{cycle.id}"
        assert t.sergeant.badge_number not in e.detail + e.target
    everything = " ".join(f"{e.action} {e.target} {e.detail}" for e in db.session.scalars(select(AuditEntry)))
    assert not any(m in everything for m in markers.values())
    # Emails: no marker, no score.
    bodies = " ".join(f"{m.subject} {m.body}" for m in db.session.scalars(select(OutboxMessage)))
    assert not any(m in bodies for m in markers.values())
    # The application's log.
    assert not any(m in caplog.text for m in markers.values())
    # HR's cycle page lists no per-person state for the anonymous group.
    hr = auth.as_role("hr")
    page = auth.client.get(f"/reviews/cycles/{cycle.id}?group=direct_report").get_data(as_text=True)
    # The last cell of each row is the status (a column for why the rater was chosen may come before it).
    rows = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>Direct reports</td>(?:<td>[^<]*</td>)*<td>([^<]*)</td>\s",
                      page)
    assert rows and set(rows) == {"—"}
    for url in (f"/reviews/cycles/{cycle.id}/matrix.csv", f"/reviews/cycles/{cycle.id}/matrix", "/wellness/audit"):
        text = auth.client.get(url).get_data(as_text=True)
        assert not any(m in text for m in markers.values()), url
    # The report shows the comments, in an order that has nothing to do with submission.
    report = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{t.sergeant.id}").get_data(as_text=True)
    shown = re.findall(r"MARKER\dX\d+", report)
    assert sorted(shown) == sorted(markers.values())
    auth.logout()
    admin = auth.as_role("admin")
    for url in ("/admin/audit", "/admin/outbox/", "/admin/outbox/export.csv"):
        text = auth.client.get(url).get_data(as_text=True)
        assert not any(m in text for m in markers.values()), url
    assert hr and admin


def test_comment_order_does_not_follow_submission_order(app):
    from evaluations import rules
    for reverse in (False, True):
        t = factories.team(reports=4)
        cycle = factories.review_cycle(threshold=4)
        members = list(reversed(t.members)) if reverse else t.members
        texts = ["alpha view", "bravo view", "charlie view", "delta view"]
        for member, text in zip(members, texts):
            submit(cycle, assignments(cycle, rater_id=member.id, group="direct_report")[0], comment=text)
        cycles.move(HR, cycle.id, "close")
        cycles.move(HR, cycle.id, "publish", period="none")
        result = reports.subject_report(HR, cycle.id, t.sergeant.id)
        [upward] = [r for r in result.results if r.group == "direct_report"]
        assert sorted(upward.comments) == sorted(texts)
        # The order shown depends on the words and the report alone: sent in any other
        # order, the same comments come out the same way.
        seed = seed_of(cycle.id, t.sergeant.id, "direct_report")
        for sent in (texts, list(reversed(texts)), texts[2:] + texts[:2]):
            again = rules.group_result("direct_report", [{"1": 3}] * 4, sent, anonymous=True, threshold=4, seed=seed)
            assert list(again.comments) == list(upward.comments)


def test_below_the_threshold_nothing_shows_and_nothing_counts(app, auth):
    t, cycle, markers = _upward_scene(n=2, threshold=3)
    cycles.move(HR, cycle.id, "close")
    cycles.move(HR, cycle.id, "publish", period="none")
    auth.login(t.users[t.sergeant.id].email)
    page = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{t.sergeant.id}").get_data(as_text=True)
    assert "Direct reports: <em>not enough responses to keep reviewers anonymous</em>" in page
    assert not any(m in page for m in markers.values())
    upward = auth.client.get(f"/reviews/cycles/{cycle.id}/upward").get_data(as_text=True)
    assert "Not enough responses to keep reviewers anonymous." in upward
    # The subtraction attack: the matrix's composite is the same as with no upward reviews at all.
    matrix = reports.matrix(HR, cycle.id)
    [line] = [m for m in matrix.page.items if m.officer_id == t.sergeant.id]
    assert line.group_means["direct_report"] is None
    from evaluations import rules
    without = rules.composite({g: v for g, v in line.group_means.items() if g != "direct_report"},
                              line.community, matrix.weights)
    assert line.composite == without


def _rows_holding(text):
    """Every stored row, in every table, whose values contain `text`."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            if any(text in (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for v in row):
                found.append(table.name)
    return found


def test_a_draft_of_an_upward_review_never_reaches_the_server(app, auth):
    t = factories.team(reports=3)
    cycle = factories.review_cycle()
    mine = assignments(cycle, rater_id=t.members[0].id, group="direct_report")[0]
    auth.login(t.users[t.members[0].id].email)
    url = f"/reviews/assignments/{mine.id}"
    page = auth.client.get(url).get_data(as_text=True)
    assert "How your anonymity is protected" in page
    assert "in this browser, on this device only" in page and "write the review in one sitting" in page
    assert 'value="Save draft"' not in page           # no button that sends a draft to the server
    assert "js/review-draft.js" in page and f'data-local-draft="beacon-review-draft-{mine.id}"' in page
    # A POST that asks the server to keep a draft anyway is refused, and nothing is stored.
    response = auth.post(url, {"comment": "DRAFTWORDS", "save": "1"}, form_page=url)
    assert response.status_code == 422
    refused = response.get_data(as_text=True)
    assert "kept only in your browser, never on Beacon&#39;s server: nothing was saved" in refused
    db.session.refresh(mine)
    assert mine.status.value == "pending"
    assert _rows_holding("DRAFTWORDS") == []
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.draft")).all()
    assert "DRAFTWORDS" not in auth.client.get(url).get_data(as_text=True)


def test_a_named_review_keeps_its_draft_on_the_server(app, auth):
    t = factories.team(reports=3)
    cycle = factories.review_cycle()
    theirs = assignments(cycle, rater_id=t.sergeant.id, group="supervisor")[0]
    auth.login(t.users[t.sergeant.id].email)
    url = f"/reviews/assignments/{theirs.id}"
    page = auth.client.get(url).get_data(as_text=True)
    assert 'value="Save draft"' in page and "review-draft.js" not in page
    response = auth.post(url, {"comment": "NAMEDDRAFT", "save": "1"}, form_page=url)
    assert response.status_code == 302
    assert "NAMEDDRAFT" in auth.client.get(url).get_data(as_text=True)
    assert _rows_holding("NAMEDDRAFT") == ["reviews"]
