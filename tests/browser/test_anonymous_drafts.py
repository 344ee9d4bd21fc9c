"""An officer's draft of an upward review stays in their browser (issue 14, part 6).

They rate and write, save the draft, and the server holds no word of it; the page,
reloaded, gives it back from this browser's storage; submitting removes it from the
browser, and the server then holds the review only sealed.
"""
import uuid

import pytest
from sqlalchemy import func, select

from core.db import db
from evaluations.models import HeldReview, ReviewAssignment
from tests import factories
from tests.browser.conftest import looked_at, Person, require_chromium
from tests.integration.test_review_anonymity import _rows_holding

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def scene(live_server):
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        t = factories.team(reports=3, unit_name=f"Draft Unit {tag}")
        cycle = factories.review_cycle(name=f"Drafts {tag}", unit_ids=[t.unit.id], threshold=3, peers=0)
        officer = t.members[0]
        mine = db.session.scalar(select(ReviewAssignment.id).where(
            ReviewAssignment.cycle_id == cycle.id, ReviewAssignment.rater_id == officer.id,
            ReviewAssignment.group == "direct_report"))
        result = dict(cycle_id=cycle.id, assignment_id=mine, tag=tag,
                      officer=Person(t.users[officer.id].email, t.users[officer.id].name),
                      sergeant=t.users[t.sergeant.id].name,
                      criteria=[c.text for c in factories.criteria_for(cycle, "direct_report")])
        db.session.remove()
    return result


def stored_anywhere(live_server, text):
    with live_server.app.app_context():
        try:
            return _rows_holding(text)
        finally:
            db.session.remove()


def held_count(live_server, cycle_id):
    with live_server.app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(HeldReview)
                                     .where(HeldReview.cycle_id == cycle_id))
        finally:
            db.session.remove()


def test_an_anonymous_draft_stays_in_the_browser_comes_back_and_goes_on_submit(scene, sign_in_as, live_server,
                                                                               console):
    marker = f"DRAFT{uuid.uuid4().hex[:12]}"
    words = f"Draft words {marker} about the sergeant"
    key = f"beacon-review-draft-{scene['assignment_id']}"
    page = sign_in_as(scene["officer"])
    page.get_by_role("region", name="Reviews to do").get_by_role(
        "link", name=f"Your supervisor {scene['sergeant']} (anonymous)").click()
    note = page.get_by_role("note")
    expect(note).to_contain_text("in this browser, on this device only")
    expect(note).to_contain_text("Without JavaScript there is no draft: write the review in one sitting.")
    for text in scene["criteria"]:
        page.get_by_role("radiogroup", name=text).get_by_label("4", exact=True).check()
    # Enter in a field does not submit (a submitted review is final): it keeps the draft here.
    page.get_by_role("radiogroup", name=scene["criteria"][0]).get_by_label("4", exact=True).press("Enter")
    expect(page.locator("#draft-status")).to_have_text(
        "Draft saved in this browser only; Beacon's server has not received it.")
    assert '"comment":""' in page.evaluate("k => localStorage.getItem(k)", key)
    assert held_count(live_server, scene["cycle_id"]) == 0
    page.get_by_label("Comments").fill(words)
    page.get_by_role("button", name="Save draft in this browser").click()
    assert words in page.evaluate("k => localStorage.getItem(k)", key)
    assert stored_anywhere(live_server, marker) == []          # no word of it on the server
    assert held_count(live_server, scene["cycle_id"]) == 0

    page.reload()
    expect(page.get_by_label("Comments")).to_have_value(words)
    for text in scene["criteria"]:
        expect(page.get_by_role("radiogroup", name=text).get_by_label("4", exact=True)).to_be_checked()
    expect(page.locator("#draft-status")).to_contain_text("Your draft from this browser is back in the form.")
    looked_at(page, "anonymous-draft")

    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_role("status").filter(has_text="Review submitted")).to_be_visible()
    assert page.evaluate("k => localStorage.getItem(k)", key) is None
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('beacon-review-draft'))") == []
    assert held_count(live_server, scene["cycle_id"]) == 1            # held, sealed: not readable as text
    assert stored_anywhere(live_server, marker) == []
    # Back on the submitted review's page, nothing comes back.
    page.goto(f"/reviews/assignments/{scene['assignment_id']}")
    expect(page.get_by_role("status").filter(has_text="You submitted this review")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(words)
    console.assert_clean()


def test_without_javascript_there_is_no_draft_button_and_the_review_is_written_in_one_sitting(
        scene, browser, live_server, console):
    ctx = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto("/login")
        from tests.browser.conftest import SignIn
        SignIn(page, live_server.app).fill(scene["officer"].email)
        page.goto(f"/reviews/assignments/{scene['assignment_id']}")
        expect(page.get_by_role("note")).to_contain_text("write the review in one sitting")
        expect(page.get_by_role("button", name="Save draft in this browser")).to_be_hidden()
        expect(page.get_by_role("button", name="Submit review")).to_be_visible()
        for text in scene["criteria"]:
            page.get_by_role("radiogroup", name=text).get_by_label("3", exact=True).check()
        page.get_by_label("Comments").fill(f"One sitting {scene['tag']}")
        # Enter in a field asks the server to keep a draft: refused, nothing kept, the form comes back as it was.
        page.get_by_label("Comments").press("Tab")
        page.get_by_role("radiogroup", name=scene["criteria"][0]).get_by_label("3", exact=True).press("Enter")
        expect(page.locator("#review-error")).to_contain_text("kept only in your browser, never on Beacon's server")
        expect(page.get_by_label("Comments")).to_have_value(f"One sitting {scene['tag']}")
        assert held_count(live_server, scene["cycle_id"]) == 0
        page.get_by_role("button", name="Submit review").click()
        expect(page.get_by_role("status").filter(has_text="Review submitted")).to_be_visible()
        assert held_count(live_server, scene["cycle_id"]) == 1
    finally:
        ctx.close()
