"""Imports of any size: the upload is stored once as a job, checked and written by the
worker in chunks (progress visible meanwhile, nothing written until the end), and HR
can leave the job's page and come back to it."""
import io
import re

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import ImportJob, ImportState, Officer
from core.services import imports
from core.services import roster as roster_services
from evaluations.models import CommunityMetric
from tests import factories

HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"
METRICS_HEADER = ("badge_number,period_start,period_end,compliments,complaints,complaints_sustained,"
                  "community_meetings,problem_solving_projects,resident_safety_score")


def roster(rows: int, last_line: str | None = None) -> str:
    lines = [HEADER] + [f"B{i},First{i},Last{i},o{i}@pd.test,Unit {i % 7},Police Officer,"
                        f"{'B%d' % (i // 10) if i >= 10 else ''},2015-06-01,active" for i in range(rows)]
    if last_line:
        lines.append(last_line)
    return "\n".join(lines) + "\n"


def send(auth, text, preview=True, path="/roster/import", name="roster.csv"):
    data = {"file": (io.BytesIO(text.encode("utf-8")), name), ("preview" if preview else "submit"): "1"}
    return auth.post(path, data, form_page=path, content_type="multipart/form-data")


def officer_count():
    return db.session.scalar(select(func.count()).select_from(Officer))


@pytest.fixture
def hr(auth):
    return auth.as_role("hr")


def test_upload_is_stored_once_and_its_page_shows_progress_until_the_worker_checks_it(hr, auth, client):
    response = send(auth, roster(3))
    assert response.status_code == 302
    job_page = response.headers["Location"]
    job = db.session.scalar(select(ImportJob))
    assert job.state == ImportState.CHECKING and job.content.startswith(HEADER.encode())
    waiting = client.get(job_page).get_data(as_text=True)
    assert "Checking the file" in waiting and "<progress" in waiting
    assert 'http-equiv="refresh"' in waiting and ">Refresh</a>" in waiting, "works without JavaScript"
    assert "js/import-job.js" in waiting and "<script>" not in waiting, "no inline script (CSP)"
    status = client.get(job_page + "/status").get_json()
    assert status["state"] == "checking" and status["running"] is True

    assert imports.work() == 1
    status = client.get(job_page + "/status").get_json()
    assert status == {**status, "state": "ready", "running": False}
    ready = client.get(job_page).get_data(as_text=True)
    assert "Preview: nothing has been written yet" in ready and "3 officer(s) added" in ready
    assert officer_count() == 0


def test_a_scheduler_that_no_longer_leads_takes_no_import_job(hr, auth):
    send(auth, roster(3))
    assert imports.work(keep_going=lambda: False) == 0  # the lock was lost: the job waits
    assert db.session.scalar(select(ImportJob.state)) == ImportState.CHECKING
    assert imports.work(keep_going=lambda: True) == 1   # the next leader takes it
    db.session.expire_all()
    assert db.session.scalar(select(ImportJob.state)) == ImportState.READY


def test_hr_leaves_and_comes_back_to_the_job_from_the_list_of_recent_imports(hr, auth, client):
    send(auth, roster(2), name="march-roster.csv")
    imports.work()
    listing = client.get("/roster/import").get_data(as_text=True)
    link = re.search(r'<a href="(/roster/import/\d+)">march-roster.csv</a>', listing)
    assert link and "ready to import" in listing
    back = client.get(link.group(1)).get_data(as_text=True)
    assert "2 officer(s) added" in back and "Import this file" in back


def test_a_large_file_is_checked_and_written_in_chunks_and_nothing_shows_until_the_end(hr, auth, app, monkeypatch):
    rows = 20_000
    seen = []   # what another connection (another web worker) sees at each progress report
    publisher = imports._publisher
    sqlite = db.engine.dialect.name == "sqlite"

    def watching(job_id):
        publish = publisher(job_id)

        def report(phase, done, total):
            publish(phase, done, total)
            if sqlite and phase == "writing" and done:
                return   # SQLite locks readers out while a large write spills to the file
            with db.engine.connect() as other:
                job = other.execute(select(ImportJob.phase, ImportJob.rows_done, ImportJob.rows_total)
                                    .where(ImportJob.id == job_id)).one()
                officers = other.scalar(select(func.count()).select_from(Officer))
            seen.append((tuple(job), officers))
        return report
    monkeypatch.setattr(imports, "_publisher", watching)

    response = send(auth, roster(rows), preview=False)
    imports.work()
    done = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The roster was imported" in done and f"{rows} officer(s) added" in done
    assert officer_count() == rows

    checking = [done for (phase, done, _), _ in seen if phase == "checking"]
    assert len(checking) >= 4 and checking == sorted(checking), "the check reports each chunk"
    assert all(officers == 0 for _, officers in seen), "nothing is visible before the one commit"
    writing = [done for (phase, done, total), _ in seen if phase == "writing"]
    if not sqlite:
        assert len(writing) >= 4 and writing == sorted(writing) and writing[-1] >= rows
    else:
        assert writing == [0]   # SQLite: one writer at a time, only the start of the write is shown
    job = db.session.scalar(select(ImportJob))
    assert job.state == ImportState.DONE and job.content is None, "the file is dropped once imported"


def test_one_bad_line_at_the_end_of_a_large_file_writes_nothing(hr, auth):
    bad = "B-LAST,Late,Line,late@pd.test,Unit 1,Police Officer,,9999-12-31,active"
    response = send(auth, roster(20_000, last_line=bad), preview=False)
    imports.work()
    page = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing was written" in page
    assert "<td>20002</td><td>hire_date 9999-12-31 cannot be more than a year in the future</td>" in page
    assert officer_count() == 0


@pytest.mark.parametrize("cell, message", [
    ("Ann\x00e", "first_name contains a control character (such as NUL)"),
    ("Ann\u202ee", "first_name contains an invisible text-direction character"),
])
def test_control_and_direction_characters_in_a_cell_are_refused_on_their_line(hr, auth, cell, message):
    text = roster(2) + f"X1,{cell},Doe,x1@pd.test,Unit 1,Police Officer,,2015-06-01,active\n"
    response = send(auth, text, preview=False)
    imports.work()
    page = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(rf"<td>4</td><td>{re.escape(message)}", page), page
    assert officer_count() == 0


def test_zero_width_spaces_are_stripped_from_cells(hr, auth):
    send(auth, roster(0) + "Z1,Zo\u200be,Doe,z1@pd.test,Unit 1,Police Officer,,2015-06-01,active\n", preview=False)
    imports.work()
    assert db.session.scalar(select(Officer.first_name)) == "Zoe"


def test_metrics_with_nul_or_dates_out_of_range_are_refused_by_line(app, auth):
    factories.officer(badge="M1")
    auth.as_role("hr")
    text = "\n".join([METRICS_HEADER, "M1,2025-01-01,2025-03-31,1\x00,0,0,0,0,",
                      "M1,1899-01-01,1899-03-31,1,0,0,0,0,", "M1,2099-01-01,2099-03-31,1,0,0,0,0,"]) + "\n"
    response = send(auth, text, preview=False, path="/reviews/metrics", name="m.csv")
    imports.work()
    page = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<td>2</td><td>compliments contains a control character" in page
    assert "<td>3</td><td>period_start 1899-01-01 cannot be before 1900" in page
    assert "<td>4</td><td>period_start 2099-01-01 cannot be in the future" in page
    assert db.session.scalar(select(func.count()).select_from(CommunityMetric)) == 0


def test_a_write_that_fails_leaves_nothing_and_the_job_says_so(hr, auth, monkeypatch):
    def broken(*args):
        raise RuntimeError("disk full")
    monkeypatch.setattr(roster_services.email_changes, "request_from_roster", broken)
    response = send(auth, roster(3), preview=False)
    imports.work()
    page = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The import failed." in page and "Nothing was written" in page and "disk full" not in page
    assert officer_count() == 0
    assert db.session.scalar(select(ImportJob.state)) == ImportState.FAILED


def test_only_hr_sees_a_job_and_a_job_is_seen_only_under_its_own_kind(app, auth, client):
    hr = auth.as_role("hr")
    job_page = send(auth, roster(2)).headers["Location"]
    job_id = int(job_page.rsplit("/", 1)[1])
    assert client.get(f"/reviews/metrics/imports/{job_id}").status_code == 404
    assert client.get("/roster/import/999999").status_code == 404
    for role in ("officer", "admin", "clinician"):
        auth.logout()
        auth.as_role(role)
        assert client.get(job_page).status_code == 403
        assert client.get(job_page + "/status").status_code == 403
    assert hr


def test_a_file_over_the_limit_is_refused_beside_the_field(hr, auth, app):
    app.config["IMPORT_MAX_BYTES"] = 4096
    response = send(auth, roster(200))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Import the roster" in page
    assert re.search(r'invalid-feedback[^>]*>\s*The file is larger than', page), page
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_an_oversized_upload_by_someone_not_hr_is_refused_like_the_page_itself(app, auth, client):
    from core.models import AuditEntry
    from tests.conftest import csrf_token
    app.config["IMPORT_MAX_BYTES"] = 4096
    body = {"file": (io.BytesIO(roster(200).encode()), "roster.csv"), "submit": "1"}
    signed_out = client.post("/roster/import", data=body, content_type="multipart/form-data")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    auth.as_role("officer")
    body = {"file": (io.BytesIO(roster(200).encode()), "roster.csv"), "submit": "1",
            "csrf_token": csrf_token(client, "/account/password")}
    refused = client.post("/roster/import", data=body, content_type="multipart/form-data")
    assert refused.status_code == 403
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "access.denied")) is not None
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_the_roster_page_accepts_more_than_the_site_wide_limit(hr, auth, app):
    app.config["MAX_CONTENT_LENGTH"] = 4096   # every other form
    response = send(auth, roster(200))
    assert response.status_code == 302


def test_cli_uses_the_same_job_and_prints_every_error(app, runner, tmp_path):
    path = tmp_path / "roster.csv"
    lines = roster(1500).splitlines()
    bad = [line.replace("2015-06-01", "1850-01-01") if i % 500 == 1 else line for i, line in enumerate(lines)]
    path.write_text("\n".join(bad) + "\n")
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.startswith("line ")] == [
        f"line {n}: hire_date 1850-01-01 cannot be before 1900" for n in (2, 502, 1002)]
    path.write_text(roster(1500))
    result = runner.invoke(args=["roster", "import", str(path), "--dry-run"])
    assert result.exit_code == 0 and "would have added 1500" in result.output and officer_count() == 0
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0 and officer_count() == 1500
    states = db.session.scalars(select(ImportJob.state).order_by(ImportJob.id)).all()
    assert states == [ImportState.REJECTED, ImportState.CANCELLED, ImportState.DONE]
