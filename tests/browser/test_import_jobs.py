"""A large roster import in the browser: the job's page shows its progress while no
worker has run yet, follows the worker by itself (polling script, no reload by hand),
shows the preview, and after "Import this file" the result; HR can leave and come
back to it from the list of recent imports."""
import threading
import uuid

from core.db import db
from core.services import imports
from tests.browser.conftest import require_chromium

require_chromium()

from playwright.sync_api import expect  # noqa: E402

HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"
ROWS = 3000


class Worker:
    """The scheduler's `import-jobs` job, started when the test says so."""

    def __init__(self, app):
        self.app, self.stop, self.thread = app, threading.Event(), None

    def start(self):
        def run():
            while not self.stop.wait(0.25):
                with self.app.app_context():
                    imports.work()
                    db.session.remove()
        self.thread = threading.Thread(target=run, name="import-worker", daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        if self.thread:
            self.thread.join(timeout=10)


def test_hr_follows_a_large_import_from_upload_to_result_and_can_come_back(live_server, accounts, sign_in_as,
                                                                             console):
    tag = uuid.uuid4().hex[:8]
    lines = [f"L{tag}-{i},Pat,Large{tag},l{i}-{tag}@pd.test,Big {tag},Police Officer,"
             f"{f'L{tag}-0' if i else ''},2018-04-01,active" for i in range(ROWS)]
    roster = {"name": f"large-{tag}.csv", "mimeType": "text/csv",
              "buffer": ("\n".join([HEADER, *lines]) + "\n").encode()}
    worker = Worker(live_server.app)
    try:
        page = sign_in_as(accounts.make("hr"))
        page.goto("/roster/import")
        page.get_by_label("Roster file (CSV)").set_input_files(roster)
        page.get_by_role("button", name="Preview (nothing is written)").click()

        # No worker yet: the job waits, and its page says so with a progress bar.
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Roster import: large-{tag}.csv")
        expect(page.get_by_role("heading", name="Checking the file…")).to_be_visible()
        expect(page.locator("progress#import-bar")).to_be_visible()
        expect(page.locator("#import-count")).to_contain_text("Waiting for the import worker")
        job_url = page.url

        # HR leaves; the import page lists the job and leads back to it.
        page.goto("/roster/import")
        row = page.locator("#recent-imports tbody tr").filter(has_text=f"large-{tag}.csv")
        expect(row).to_contain_text("checking")
        row.get_by_role("link", name=f"large-{tag}.csv").click()
        expect(page).to_have_url(job_url)

        # The worker starts: the page follows it on its own, to the preview.
        worker.start()
        expect(page.get_by_role("status").filter(has_text="Preview: nothing has been written yet")).to_be_visible()
        expect(page.locator("#import-summary li").first).to_have_text(f"{ROWS} officer(s) added")

        page.get_by_role("button", name="Import this file").click()
        expect(page.get_by_role("status").filter(has_text="The roster was imported:")).to_be_visible()
        expect(page.locator("#import-summary li").first).to_have_text(f"{ROWS} officer(s) added")

        page.goto("/roster/import")
        expect(page.locator("#recent-imports tbody tr").filter(has_text=f"large-{tag}.csv")).to_contain_text("imported")
        console.assert_clean()
    finally:
        worker.close()
