"""Consequential admin and HR actions go through a confirmation page that says what
will happen (issue 15), clicked through in Chromium: HR creates accounts for all
officers without one, an administrator disables an account, HR regenerates a draft
cycle's assignments; the roster import offers only its preview."""
import re
import uuid

import pytest
from sqlalchemy import select

from core.db import db
from core.models import AccountStatus, User
from tests import factories
from tests.browser.conftest import Person, looked_at, require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def tag():
    return uuid.uuid4().hex[:8]


def test_hr_creates_accounts_for_all_after_seeing_who(live_server, sign_in_as, console, tag):
    with live_server.app.app_context():
        # Badges that sort first, so both are among the names the page lists.
        officers = [factories.officer(badge=f"000-{tag}-{i}", first=f"Conf{i}", last=f"Irm{tag}",
                                      email=f"conf{i}-{tag}@pd.test") for i in range(2)]
        names = [o.full_name for o in officers]
        emails = [o.email for o in officers]
        hr = factories.user(roles=["hr"], email=f"hr-confirm-{tag}@pd.test", name=f"Hal HR {tag}")
        person = Person(hr.email, hr.name)
        db.session.remove()
    page = sign_in_as(person)
    page.goto("/roster/")
    page.get_by_role("link", name="Create accounts for all officers without one…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create accounts for all officers without one?")
    said = page.locator("#confirm-consequences")
    expect(said).to_contain_text(re.compile(r"Creates \d+ officer accounts? and sends \d+ invitations?"))
    for name in names:
        expect(page.locator("#accounts-to-create")).to_contain_text(name)
    looked_at(page, "confirm-create-accounts")
    n = int(re.search(r"Creates ([\d,]+)", said.inner_text()).group(1).replace(",", ""))
    with live_server.app.app_context():
        assert db.session.scalars(select(User).where(User.email.in_(emails))).all() == []  # nothing yet
        db.session.remove()
    page.get_by_role("button", name=re.compile(r"^Create [\d,]+ accounts? and send the invitations$")).click()
    expect(page).to_have_url(re.compile(r"/roster/$"))
    expect(page.get_by_text(f"{n} account(s) created and invited.")).to_be_visible()
    with live_server.app.app_context():
        assert set(db.session.scalars(select(User.email).where(User.email.in_(emails)))) == set(emails)
        db.session.remove()
    console.assert_clean()


def test_admin_disables_an_account_after_seeing_what_it_does(live_server, sign_in_as, console, tag):
    with live_server.app.app_context():
        admin = factories.user(roles=["admin"], email=f"admin-confirm-{tag}@pd.test", name=f"Ada Admin {tag}")
        target = factories.user(roles=["hr"], email=f"dana-{tag}@pd.test", name=f"Dana Reyes {tag}")
        person, target_id = Person(admin.email, admin.name), target.id
        db.session.remove()
    page = sign_in_as(person)
    page.goto(f"/admin/accounts/{target_id}")
    looked_at(page, "account-detail")
    page.get_by_role("link", name="Disable account…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Disable Dana Reyes {tag}'s account?")
    said = page.locator("#confirm-consequences")
    expect(said).to_contain_text(f"Dana Reyes {tag} (dana-{tag}@pd.test) is not signed in anywhere now")
    expect(said).to_contain_text("Signing in is refused")
    page.get_by_label("Reason (kept in the audit log)").fill("Left the department")
    looked_at(page, "confirm-disable-account")
    with live_server.app.app_context():
        assert db.session.get(User, target_id).status == AccountStatus.ACTIVE
        db.session.remove()
    page.get_by_role("button", name="Disable account", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/admin/accounts/{target_id}$"))
    expect(page.get_by_text("Account disabled; its sessions have ended.")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.get(User, target_id).status == AccountStatus.DISABLED
        db.session.remove()
    console.assert_clean()


def test_hr_regenerates_a_draft_cycle_after_seeing_the_counts(live_server, sign_in_as, console, tag):
    with live_server.app.app_context():
        team = factories.team(reports=2, unit_name=f"Regen Unit {tag}")
        cycle = factories.review_cycle(name=f"Regen {tag}", open_it=False, unit_ids=[team.unit.id], peers=0)
        hr = factories.user(roles=["hr"], email=f"hr-regen-{tag}@pd.test", name=f"Hugo HR {tag}")
        person, cycle_id = Person(hr.email, hr.name), cycle.id
        db.session.remove()
    page = sign_in_as(person)
    page.goto(f"/reviews/cycles/{cycle_id}")
    page.get_by_role("link", name="Regenerate assignments (replaces these)…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Regenerate the assignments of Regen {tag}?")
    said = page.locator("#confirm-consequences")
    expect(said).to_contain_text(re.compile(r"Removes all \d+ current assignments"))
    expect(said).to_contain_text("No review has been started")
    looked_at(page, "confirm-regenerate")
    page.get_by_role("button", name=re.compile(r"^Replace \d+ assignments with \d+$")).click()
    expect(page).to_have_url(re.compile(rf"/reviews/cycles/{cycle_id}$"))
    expect(page.get_by_text("Assignments generated from the roster.")).to_be_visible()
    console.assert_clean()


def test_the_roster_import_offers_only_its_preview(live_server, sign_in_as, console, tag):
    with live_server.app.app_context():
        hr = factories.user(roles=["hr"], email=f"hr-import-{tag}@pd.test", name=f"Ines HR {tag}")
        person = Person(hr.email, hr.name)
        db.session.remove()
    page = sign_in_as(person)
    page.goto("/roster/import")
    expect(page.get_by_role("button", name="Preview (nothing is written)")).to_be_visible()
    expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)
    looked_at(page, "roster-import")
    page.goto("/roster/")
    looked_at(page, "roster-index")
    console.assert_clean()
