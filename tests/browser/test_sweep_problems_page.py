"""HR's wellness dashboard when the daily sweep could not process an officer: the box
names the officer and links to them, and the page fits a phone (390 px) without
sideways scrolling, as it does a desktop."""
from datetime import date

import pytest

from core.db import db
from tests import factories
from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.mark.parametrize("width", [390, 1280])
def test_hr_sees_the_officer_the_sweep_could_not_process_and_the_dashboard_fits(
        width, live_server, accounts, sign_in_as, console):
    from core import clock
    from wellness.models import JobProblem
    from wellness.services.evaluations import SWEEP_JOB
    hr = accounts.make("hr")
    with live_server.app.app_context():
        # What the sweep leaves for an officer it could not process (the integration
        # tests run the sweep itself; here the page is what matters, and the shared live
        # server's other officers must not get evaluations opened by a sweep).
        odd = factories.officer(first="Yara", last=f"Outofrange{width}", unit_name="Night Watch",
                                hire_date=date(9999, 12, 31))
        badge, officer_id = odd.badge_number, odd.id
        db.session.add(JobProblem(job=SWEEP_JOB, officer_id=officer_id, reason="hire date out of range",
                                  first_seen=clock.now(), last_seen=clock.now()))
        db.session.commit()
        db.session.remove()
    try:
        check_page(sign_in_as(hr), width, badge, console)
    finally:
        with live_server.app.app_context():
            db.session.query(JobProblem).filter_by(officer_id=officer_id).delete()
            db.session.commit()
            db.session.remove()


def check_page(page, width, badge, console):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/wellness/")
    box = page.get_by_role("heading", name="The daily sweep could not process")
    expect(box).to_be_visible()
    link = page.get_by_role("link", name=f"Outofrange{width}, Yara")
    expect(link).to_be_visible()
    assert badge in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Outofrange")
    console.assert_clean()
