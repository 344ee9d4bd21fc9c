"""The subject's acknowledgement of their published report and their written response:
who may give them, who sees them, what the audit log keeps, what HR sees, and what a
corrected version of the results asks of the subject."""
import html
import re
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import select

from core.audit import Actor
from core.db import db
from core.errors import DomainError, NotFound
from core.models import AuditEntry
from evaluations.models import ReportResponse
from evaluations.services import cycles, responses, results
from tests import factories

HR = Actor.system("test-hr")


def published(reports_n=3):
    """A lieutenant, a sergeant and `reports_n` officers under the sergeant, all
    reviewed in one cycle that is closed and published (no reviews need be written for
    a report to exist)."""
    t = factories.team(reports=reports_n)
    cycle = factories.review_cycle()
    cycles.move(HR, cycle.id, "close")
    cycles.move(HR, cycle.id, "publish", period="none")
    return t, cycle


def email(t, officer):
    return t.users[officer.id].email


def report_url(cycle, officer):
    return f"/reviews/cycles/{cycle.id}/subjects/{officer.id}"


def page(auth, url):
    response = auth.client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def words(markup: str) -> str:
    """A page's text as a reader sees it: no tags, single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


def audit(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def day(moment) -> str:
    """A moment as the pages write its date: "3 Dec 2026", in the department's zone."""
    return moment.astimezone(ZoneInfo(current_app.config["BEACON_TIMEZONE"])).strftime("%-d %b %Y")


def stored(cycle, officer) -> ReportResponse | None:
    db.session.expire_all()
    return db.session.get(ReportResponse, (cycle.id, officer.id))


def acknowledge(auth, cycle, officer):
    return auth.post(f"/reviews/cycles/{cycle.id}/my-report/acknowledge", form_page=report_url(cycle, officer))


def respond(auth, cycle, officer, text):
    return auth.post(f"/reviews/cycles/{cycle.id}/my-report/response", {"response": text},
                     form_page=report_url(cycle, officer))


# --- acknowledging ---------------------------------------------------------------------------------

def test_subject_acknowledges_their_report_once_and_the_page_says_it_is_not_agreement(app, auth):
    t, cycle = published()
    auth.login(email(t, t.sergeant))
    before = page(auth, report_url(cycle, t.sergeant))
    assert "Not yet acknowledged." in before and "I have read this report" in before
    assert "Acknowledging means you have read the report, not that you agree with it." in before
    mine = page(auth, "/reviews/")
    assert re.search(r"your report</a>\s*<span[^>]*>Not yet acknowledged</span>", mine)

    response = acknowledge(auth, cycle, t.sergeant)
    assert response.status_code == 302 and response.headers["Location"].endswith(report_url(cycle, t.sergeant))
    row = stored(cycle, t.sergeant)
    assert row.version == 1 and row.response == "" and row.responded_at is None
    after = page(auth, report_url(cycle, t.sergeant))
    assert f"Acknowledged on {day(row.acknowledged_at)} (version 1)." in words(after)
    assert "I have read this report" not in after and "Not yet acknowledged" not in after
    assert "Not yet acknowledged" not in page(auth, "/reviews/")

    first = row.acknowledged_at
    assert acknowledge(auth, cycle, t.sergeant).status_code == 302      # a second click changes nothing
    assert stored(cycle, t.sergeant).acknowledged_at == first
    entries = audit("review.report.acknowledge")
    assert [(e.target, e.actor_label) for e in entries] == [(f"cycle:{cycle.id}:officer:{t.sergeant.id}",
                                                             email(t, t.sergeant))]
    assert "version 1" in entries[0].detail


def test_supervisor_and_hr_see_whether_the_subject_acknowledged(app, auth):
    t, cycle = published()
    auth.login(email(t, t.boss))
    text = words(page(auth, report_url(cycle, t.sergeant)))
    assert "Not yet acknowledged." in text and "has not yet said that they have read this report" in text
    assert "I have read this report" not in text and 'name="response"' not in text   # not theirs to give
    # The lieutenant acknowledging (their own report) is not the sergeant acknowledging.
    assert acknowledge(auth, cycle, t.boss).status_code == 302
    assert stored(cycle, t.sergeant) is None and stored(cycle, t.boss).version == 1
    auth.logout()
    responses.acknowledge(factories.actor_for(t.users[t.sergeant.id]), cycle.id)
    when = day(stored(cycle, t.sergeant).acknowledged_at)
    auth.as_role("hr")
    text = words(page(auth, report_url(cycle, t.sergeant)))
    assert f"Acknowledged on {when} (version 1) by {t.sergeant.full_name}." in text
    assert "not that they agree with it" in text and "No written response." in text


# --- responding ------------------------------------------------------------------------------------

def test_subject_writes_and_edits_a_response_that_the_supervisor_and_hr_read(app, auth):
    t, cycle = published()
    first = "The peer scores cover the months I was on nights.\nI ask that this be read with them."
    second = "The peer scores cover my months on night shift; please read them with that in mind."
    auth.login(email(t, t.sergeant))
    response = respond(auth, cycle, t.sergeant, first)
    assert response.status_code == 302
    row = stored(cycle, t.sergeant)
    assert row.response == first and row.responded_at is not None and row.version == 1   # also acknowledged
    own = page(auth, report_url(cycle, t.sergeant))
    assert first in own and "Last saved on" in own and "Acknowledged on" in words(own)
    assert respond(auth, cycle, t.sergeant, second).status_code == 302
    assert stored(cycle, t.sergeant).response == second
    auth.logout()

    for reader in (email(t, t.boss), None):
        auth.login(reader) if reader else auth.as_role("hr")
        shown = page(auth, report_url(cycle, t.sergeant))
        assert second in shown and first.splitlines()[0] not in shown     # the earlier text is not kept
        assert f"{t.sergeant.full_name}’s response" in shown and "Last saved on" in shown
        assert 'name="response"' not in shown                             # read, not edited
        auth.logout()

    # Each save is audited by its lengths; the log is not a second copy of the text.
    saves = audit("review.report.respond")
    assert len(saves) == 2 and {e.target for e in saves} == {f"cycle:{cycle.id}:officer:{t.sergeant.id}"}
    assert f"wrote a response of {len(first)} characters" in saves[0].detail
    assert f"changed their response: {len(first)} characters replaced by {len(second)}" in saves[1].detail
    assert not any("night" in e.detail for e in audit("review.report.respond") + audit("review.report.acknowledge"))
    assert len(audit("review.report.acknowledge")) == 1


def test_saving_the_same_text_changes_nothing_and_an_empty_box_withdraws_the_response(app, auth):
    t, cycle = published()
    actor = factories.actor_for(t.users[t.sergeant.id])
    with pytest.raises(DomainError, match="Write your response first"):
        responses.respond(actor, cycle.id, "   ")
    assert stored(cycle, t.sergeant) is None
    responses.respond(actor, cycle.id, "Read with my transfer in mind.")
    responses.respond(actor, cycle.id, "Read with my transfer in mind.\r\n")
    assert len(audit("review.report.respond")) == 1
    responses.respond(actor, cycle.id, "")
    row = stored(cycle, t.sergeant)
    assert row.response == "" and row.responded_at is None and row.version == 1   # still acknowledged
    assert "withdrew their response (it had 30 characters)" in audit("review.report.respond")[-1].detail
    auth.login(email(t, t.boss))
    assert "No written response." in page(auth, report_url(cycle, t.sergeant))


def test_a_response_over_4000_characters_is_refused_beside_the_box_and_4000_are_kept(app, auth):
    t, cycle = published()
    auth.login(email(t, t.sergeant))
    response = respond(auth, cycle, t.sergeant, "x" * 4001)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "A response can be at most 4,000 characters." in text and 'id="response"' in text
    assert "x" * 4001 in text                                            # what was typed is not lost
    assert stored(cycle, t.sergeant) is None
    refused = respond(auth, cycle, t.sergeant, "a\x00b")
    assert refused.status_code == 422 and "contains a control character" in refused.get_data(as_text=True)
    # Line breaks count once, as the box counts them.
    kept = ("y" * 99 + "\r\n") * 39 + "z" * 100
    assert respond(auth, cycle, t.sergeant, kept).status_code == 302
    assert len(stored(cycle, t.sergeant).response) == 4000
    with pytest.raises(DomainError, match="longer than 4,000"):
        responses.respond(factories.actor_for(t.users[t.sergeant.id]), cycle.id, "x" * 4001)


# --- who may ---------------------------------------------------------------------------------------

def test_nobody_else_sees_or_gives_the_acknowledgement_or_response(app, auth):
    t, cycle = published()
    responses.respond(factories.actor_for(t.users[t.sergeant.id]), cycle.id, "Private to my chain and HR.")
    outsider = factories.user()
    auth.login(outsider.email)       # an officer outside the cycle: no report of theirs to acknowledge
    assert auth.client.get(report_url(cycle, t.sergeant)).status_code == 404
    assert acknowledge(auth, cycle, t.sergeant).status_code == 404
    assert auth.post(f"/reviews/cycles/{cycle.id}/my-report/response", {"response": "mine"}).status_code == 404
    assert auth.client.get(f"/reviews/cycles/{cycle.id}/acknowledgements").status_code == 403
    auth.logout()
    auth.login(email(t, t.members[0]))   # reports to the subject: not a reader of their report
    assert auth.client.get(report_url(cycle, t.sergeant)).status_code == 404
    own = page(auth, report_url(cycle, t.members[0]))
    assert "Private to my chain and HR." not in own
    auth.logout()
    auth.as_role("hr")                   # HR reads; it does not acknowledge for anyone
    assert auth.post(f"/reviews/cycles/{cycle.id}/my-report/acknowledge").status_code == 403
    for role in ("admin", "clinician"):
        auth.logout()
        auth.as_role(role)
        assert auth.client.get(report_url(cycle, t.sergeant)).status_code == 403
    assert stored(cycle, t.members[0]) is None and stored(cycle, t.sergeant).version == 1
    with pytest.raises(NotFound):
        responses.acknowledge(factories.actor_for(outsider), cycle.id)


@pytest.mark.parametrize("state", ["open", "closed"])
def test_before_publication_there_is_nothing_to_acknowledge(app, auth, state):
    t = factories.team(reports=2)
    cycle = factories.review_cycle()
    if state == "closed":
        cycles.move(HR, cycle.id, "close")
    actor = factories.actor_for(t.users[t.sergeant.id])
    with pytest.raises(NotFound):
        responses.acknowledge(actor, cycle.id)
    with pytest.raises(NotFound):
        responses.respond(actor, cycle.id, "Too early.")
    auth.login(email(t, t.sergeant))
    assert auth.post(f"/reviews/cycles/{cycle.id}/my-report/acknowledge").status_code == 404
    assert auth.post(f"/reviews/cycles/{cycle.id}/my-report/response", {"response": "Early"}).status_code == 404
    assert db.session.scalars(select(ReportResponse)).all() == []
    assert audit("review.report.acknowledge") == [] and audit("review.report.respond") == []
    with pytest.raises(NotFound):
        responses.counts(HR, cycle.id)


# --- a corrected version -----------------------------------------------------------------------------

def test_a_correction_asks_for_the_new_version_and_keeps_the_response(app, auth):
    t, cycle = published()
    actor = factories.actor_for(t.users[t.sergeant.id])
    responses.respond(actor, cycle.id, "Written against version 1.")
    first = stored(cycle, t.sergeant).acknowledged_at
    results.correct(HR, cycle.id, "A peer review was entered against the wrong officer")
    auth.login(email(t, t.sergeant))
    text = words(page(auth, report_url(cycle, t.sergeant)))
    assert "Version 2 not yet acknowledged." in text
    assert f"You acknowledged version 1 on {day(first)}; the results were corrected afterwards" in text
    assert "I have read version 2" in text and "Written against version 1." in text
    assert "Version 2 not yet acknowledged" in page(auth, "/reviews/")
    assert responses.counts(HR, cycle.id) == responses.Counts(subjects=5, acknowledged=0, earlier=1, responded=1)

    assert acknowledge(auth, cycle, t.sergeant).status_code == 302
    row = stored(cycle, t.sergeant)
    assert row.version == 2 and row.response == "Written against version 1."
    assert "Acknowledged on" in words(page(auth, report_url(cycle, t.sergeant)))
    assert "not yet acknowledged" not in page(auth, "/reviews/").lower()
    assert "version 2; version 1 on" in audit("review.report.acknowledge")[-1].detail
    assert responses.counts(HR, cycle.id) == responses.Counts(subjects=5, acknowledged=1, earlier=0, responded=1)


# --- HR ----------------------------------------------------------------------------------------------

def test_hr_sees_who_acknowledged_and_responded_searchable_and_paged(app, auth):
    t, cycle = published(reports_n=3)          # five subjects: lieutenant, sergeant, three officers
    responses.acknowledge(factories.actor_for(t.users[t.sergeant.id]), cycle.id)
    responses.respond(factories.actor_for(t.users[t.members[1].id]), cycle.id, "Noted, with thanks.")
    auth.as_role("hr")
    detail = words(page(auth, f"/reviews/cycles/{cycle.id}"))
    assert "Acknowledged: 2 of 5" in detail and "1 with a written response" in detail
    listing = page(auth, f"/reviews/cycles/{cycle.id}/acknowledgements")
    assert "Acknowledged: 2 of 5" in listing and "Noted, with thanks." not in listing   # whether, not what
    rows = re.findall(r"<tr>\s*<td><a href=\"[^\"]+/subjects/(\d+)\">.*?</tr>", listing, re.S)
    assert len(rows) == 5
    line = re.search(rf"/subjects/{t.sergeant.id}\">.*?</tr>", listing, re.S).group(0)
    assert "Yes, on" in line and "(version 1)" in line and "<td>No</td>" in line
    line = re.search(rf"/subjects/{t.members[0].id}\">.*?</tr>", listing, re.S).group(0)
    assert "Not yet" in line and "<td>No</td>" in line
    line = re.search(rf"/subjects/{t.members[1].id}\">.*?</tr>", listing, re.S).group(0)
    assert "Yes, on" in line and re.search(r"<td>Yes, \d", line)

    found = page(auth, f"/reviews/cycles/{cycle.id}/acknowledgements?q={t.members[2].badge_number.lower()}")
    assert re.findall(r"/subjects/(\d+)\"", found) == [str(t.members[2].id)]
    found = page(auth, f"/reviews/cycles/{cycle.id}/acknowledgements?q={t.sergeant.last_name.upper()}")
    assert re.findall(r"/subjects/(\d+)\"", found) == [str(t.sergeant.id)]
    assert "Nobody matches." in page(auth, f"/reviews/cycles/{cycle.id}/acknowledgements?q=%25_")
    waiting = page(auth, f"/reviews/cycles/{cycle.id}/acknowledgements?state=waiting")
    assert sorted(map(int, re.findall(r"/subjects/(\d+)\"", waiting))) == sorted(
        [t.boss.id, t.members[0].id, t.members[2].id])
    assert re.findall(r"/subjects/(\d+)\"", page(auth, f"/reviews/cycles/{cycle.id}/acknowledgements"
                                                     "?state=responded")) == [str(t.members[1].id)]

    first = responses.acknowledgements(HR, cycle.id, per_page=2)
    third = responses.acknowledgements(HR, cycle.id, per_page=2, page=3)
    assert (first.page.total, first.page.pages, len(first.page.items), len(third.page.items)) == (5, 3, 2, 1)
    assert len(audit("review.acknowledgements.view")) == 8

    auth.logout()
    auth.login(email(t, t.boss))
    assert auth.client.get(f"/reviews/cycles/{cycle.id}/acknowledgements").status_code == 403


def test_an_unpublished_cycle_has_no_acknowledgement_list(app, auth):
    factories.team(reports=1)
    cycle = factories.review_cycle()
    auth.as_role("hr")
    assert auth.client.get(f"/reviews/cycles/{cycle.id}/acknowledgements").status_code == 404
    assert "Acknowledged:" not in page(auth, f"/reviews/cycles/{cycle.id}")


def test_the_pdf_carries_the_acknowledgement_and_the_response(app, auth):
    from io import BytesIO

    from pypdf import PdfReader
    t, cycle = published()
    sergeant = t.sergeant
    auth.login(email(t, sergeant))
    before = auth.client.get(report_url(cycle, sergeant) + ".pdf").data
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(before)).pages)
    assert "Not yet acknowledged by the officer." in text
    auth.post(f"/reviews/cycles/{cycle.id}/my-report/response",
              {"response": "The night shift months are missing.\r\nPlease note it."},
              form_page=report_url(cycle, sergeant))
    auth.logout()
    auth.login(email(t, t.boss))          # the supervisor downloads it
    after = auth.client.get(report_url(cycle, sergeant) + ".pdf").data
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(BytesIO(after)).pages))
    assert "Acknowledged by the officer on" in text and "(version 1)" in text
    assert "The officer's response (last saved" in text
    assert "The night shift months are missing. Please note it." in text
