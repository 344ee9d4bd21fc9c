"""Notices in Chromium (issue 15): an HR member writes one; a second HR member sees on
their home page that it waits for them, follows the count, and approves through the
confirmation that says how many people it goes to; an author edits, withdraws and
undoes the withdrawal. Every page fits a phone and a desk."""
import re
import uuid
from pathlib import Path

import pytest

from core.db import db
from tests import factories
from tests.browser.conftest import Person, looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def tag():
    return uuid.uuid4().hex[:8]


@pytest.fixture
def people(live_server, tag):
    """Two HR members and a unit of two officers, under names no other test uses."""
    with live_server.app.app_context():
        officers = [factories.officer(badge=f"NT-{tag}-{i}", unit_name=f"Patrol North {tag}", first=f"Nota{i}",
                                      last=f"Bene{tag}", email=f"nota{i}-{tag}@pd.test") for i in range(2)]
        for officer in officers:
            factories.user(roles=["officer"], officer_row=officer)
        author = factories.user(roles=["hr"], email=f"hr-author-{tag}@pd.test", name=f"Hana Author {tag}")
        second = factories.user(roles=["hr"], email=f"hr-second-{tag}@pd.test", name=f"Sam Second {tag}")
        people = {"author": Person(author.email, author.name), "second": Person(second.email, second.name)}
        db.session.remove()
    return people


@pytest.fixture(scope="module")
def axe_source():
    axe_package = pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    return (Path(axe_package.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def checked(page, name, axe):
    """`looked_at` (no sideways scrolling at 390 and 1280 px), and axe-core finds no
    serious or critical violation."""
    looked_at(page, name)
    page.evaluate(axe)  # by the driver: the page's CSP does not apply
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [f"{v['id']}: {v['help']}" for v in result["violations"] if v.get("impact") in ("serious", "critical")]
    assert serious == [], f"{name}: {serious}"


def write(page, subject, unit=None):
    page.goto("/notices/new")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Text").fill("The range is closed on Friday for maintenance.")
    if unit:
        page.get_by_label("To").select_option("unit")
        page.get_by_label("Unit").select_option(label=unit)
    page.get_by_role("button", name="Send for approval").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    expect(page.locator("#notice-status")).to_contain_text("waiting for approval")


def test_a_second_hr_member_follows_the_home_count_and_approves_after_the_confirmation(
        sign_in_as, people, console, tag, axe_source):
    subject = f"Range closed {tag}"
    author = sign_in_as(people["author"])
    write(author, subject, unit=f"Patrol North {tag}")
    expect(author.get_by_text("You cannot approve your own notice")).to_be_visible()
    checked(author, "notice-written", axe_source)

    second = sign_in_as(people["second"])
    count = second.get_by_role("link", name=re.compile(r"^\d+ notices? waits? for your approval$"))
    expect(count).to_be_visible()
    checked(second, "home-notices-waiting", axe_source)
    count.click()
    expect(second).to_have_url(re.compile(r"/notices/\?status=to_approve$"))
    expect(second.locator("#notice-filters .active")).to_have_text("Waiting for your approval")
    checked(second, "notices-to-approve", axe_source)
    second.get_by_role("link", name=subject).click()
    second.get_by_role("link", name="Approve and send…").click()
    expect(second.get_by_role("heading", level=1)).to_have_text(f"Send “{subject}” to 2 people?")
    expect(second.locator("#approve-summary")).to_contain_text(f"everyone in unit Patrol North {tag}")
    expect(second.get_by_text("Counted as of")).to_be_visible()
    checked(second, "notice-approve-confirm", axe_source)
    second.get_by_role("button", name="Approve and send to 2 people").click()
    expect(second.get_by_text("Sent to 2 people")).to_be_visible()
    expect(second.locator("#notice-status")).to_contain_text("sent")
    second.goto("/notices/?status=to_approve")
    expect(second.get_by_role("link", name=subject)).to_have_count(0)
    console.assert_clean()


def test_the_author_edits_withdraws_and_undoes(sign_in_as, people, console, tag, axe_source):
    subject = f"Parking lot {tag}"
    author = sign_in_as(people["author"])
    write(author, subject)
    author.get_by_role("link", name="Edit").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Edit the notice")
    checked(author, "notice-edit", axe_source)
    author.get_by_label("Subject").fill(subject + " resurfacing")
    author.get_by_role("button", name="Save").click()
    expect(author.get_by_text("Saved (subject changed)")).to_be_visible()
    expect(author.get_by_role("heading", level=1)).to_have_text(subject + " resurfacing")

    author.get_by_role("button", name="Withdraw").click()
    expect(author.locator("#notice-status")).to_contain_text("withdrawn")
    undo = author.locator("#undo")
    expect(undo).to_contain_text("You can undo that until")
    checked(author, "notice-withdrawn", axe_source)
    undo.get_by_role("button", name="Undo").click()
    expect(author.get_by_text("Withdrawal undone")).to_be_visible()
    expect(author.locator("#notice-status")).to_contain_text("waiting for approval")
    expect(author.locator("#undo")).to_have_count(0)
    author.goto("/notices/")
    checked(author, "notices-list", axe_source)
    console.assert_clean()
