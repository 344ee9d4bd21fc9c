"""HR imports the roster file through the browser: preview, import, see the officers;
a file with mistakes is refused whole, every problem listed by line. The upload is an
import job: a worker thread stands in for the scheduler, and the job's page follows it
(its script polls the progress and shows the outcome)."""
import re
import threading
import uuid

import pytest

from core.db import db
from core.services import imports
from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402

HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"


def csv_file(name, *lines):
    return {"name": name, "mimeType": "text/csv", "buffer": ("\n".join((HEADER, *lines)) + "\n").encode()}


@pytest.fixture
def import_worker(live_server):
    """What the scheduler's `import-jobs` job does, every quarter second, in a thread."""
    stop = threading.Event()

    def run():
        while not stop.wait(0.25):
            with live_server.app.app_context():
                imports.work()
                db.session.remove()
    thread = threading.Thread(target=run, name="import-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def open_import_page(page):
    nav = page.get_by_role("navigation", name="Main")
    page.wait_for_load_state("load")  # the dropdown works once Bootstrap's script has run
    nav.get_by_role("button", name="Roster").click()  # HR's roster pages are a dropdown
    nav.get_by_role("link", name="Import roster").click()
    expect(page.get_by_role("heading", name="Import the roster")).to_be_visible()


def roster_search(page, text):
    """The roster page filtered by `text`, as HR would search it."""
    page.goto("/roster/")
    page.get_by_placeholder("Name or badge number").fill(text)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/roster/\?q="))


def roster_row(page, badge):
    """The roster line whose Badge cell is `badge` (not one naming it as supervisor)."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=badge, exact=True))


def test_hr_previews_then_imports_a_roster_file_and_sees_the_officers(page, context, console, accounts,
                                                                       sign_in, import_worker):
    tag = uuid.uuid4().hex[:10]
    sergeant, patrol = f"S-{tag}", f"P-{tag}"
    roster_csv = csv_file(
        f"roster-{tag}.csv",
        f"{sergeant},Morgan,Sergeant{tag},s-{tag}@pd.test,Unit {tag},Sergeant,,2015-03-01,active",
        f"{patrol},Jamie,Patrol{tag},p-{tag}@pd.test,Unit {tag},Police Officer,{sergeant},2021-07-15,active",
    )
    sign_in(accounts.make("hr"))
    open_import_page(page)

    page.get_by_label("Roster file (CSV)").set_input_files(roster_csv)
    page.get_by_role("button", name="Preview (nothing is written)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Roster import: roster-{tag}.csv")
    expect(page.get_by_role("status")).to_contain_text("Preview: nothing has been written yet.")
    expect(page.locator("#import-summary li").first).to_have_text("2 officer(s) added")

    # The preview wrote nothing: the roster, seen in another tab, does not know them yet.
    other_tab = context.new_page()
    roster_search(other_tab, tag)
    expect(other_tab.get_by_role("cell", name="No officers match.")).to_be_visible()
    other_tab.close()

    page.get_by_role("button", name="Import this file").click()
    expect(page.get_by_role("status").filter(has_text="The roster was imported:")).to_be_visible()
    expect(page.locator("#import-summary li").first).to_have_text("2 officer(s) added")
    page.get_by_role("link", name="Go to the roster").click()
    expect(page.get_by_role("heading", name="Roster", exact=True)).to_be_visible()

    roster_search(page, tag)
    expect(page.get_by_text("2 officers", exact=True)).to_be_visible()
    expect(page.get_by_role("rowheader", name=f"Unit {tag}")).to_be_visible()
    expect(roster_row(page, sergeant).get_by_role("cell")).to_have_text(
        [sergeant, f"Sergeant{tag}, Morgan", f"Unit {tag}", "Sergeant", "—", "2015-03-01", "active", "no"])
    expect(roster_row(page, patrol).get_by_role("cell")).to_have_text(
        [patrol, f"Patrol{tag}, Jamie", f"Unit {tag}", "Police Officer", f"Morgan Sergeant{tag} ({sergeant})",
         "2021-07-15", "active", "no"])
    console.assert_clean()


def test_a_roster_file_with_mistakes_lists_every_error_by_line_and_writes_nothing(page, console, accounts,
                                                                                   sign_in, import_worker):
    tag = uuid.uuid4().hex[:10]
    bad_csv = csv_file(
        "bad-roster.csv",
        f"G-{tag},Good,Row{tag},g-{tag}@pd.test,Unit {tag},Police Officer,,2020-01-01,active",
        f"D-{tag},Bad,Date{tag},d-{tag}@pd.test,Unit {tag},Police Officer,,01/02/2020,active",
        f"T-{tag},Bad,Status{tag},t-{tag}@pd.test,Unit {tag},Police Officer,,2020-01-01,retired",
        f"B-{tag},Bad,Boss{tag},b-{tag}@pd.test,Unit {tag},Police Officer,NOBODY-{tag},2020-01-01,active",
    )
    sign_in(accounts.make("hr"))
    open_import_page(page)

    page.get_by_label("Roster file (CSV)").set_input_files(bad_csv)
    page.get_by_role("button", name="Preview (nothing is written)").click()

    expect(page.get_by_role("alert")).to_contain_text("The file was not imported; nothing was written.")
    errors = page.locator("#import-errors")
    expect(errors).to_be_visible()
    expect(errors.locator("thead th")).to_have_text(["Line", "Problem"])
    expect(errors.locator("tbody tr td:first-child")).to_have_text(["3", "4", "5"])
    expect(errors.locator("tbody tr td:nth-child(2)")).to_have_text([
        re.compile(r"hire_date '01/02/2020' is not a date in the form YYYY-MM-DD"),
        re.compile(r"status 'retired' must be one of: active, leave, separated"),
        re.compile(rf"supervisor_badge NOBODY-{tag} is neither in this file nor on the roster"),
    ])

    # Nothing was written, not even the good line.
    page.get_by_role("link", name="Upload a corrected file").click()
    expect(page.get_by_role("heading", name="Import the roster")).to_be_visible()
    roster_search(page, tag)
    expect(page.get_by_role("cell", name="No officers match.")).to_be_visible()
    console.assert_clean()
