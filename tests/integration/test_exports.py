"""CSV downloads of the roster and of both audit logs: the page's rows with the page's
filters, cells safe from spreadsheet formulas, the roster importable back unchanged,
each log only to who may read it, and every download itself in the log."""
import csv
import html
import io
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor, record
from core.db import db
from core.models import AuditEntry, OfficerStatus
from core.services import roster
from tests import factories

ROSTER_HEADER = ["badge_number", "first_name", "last_name", "email", "unit", "rank", "supervisor_badge", "hire_date",
                 "status"]
AUDIT_HEADER = ["when_local", "when_utc", "who", "action", "target", "outcome", "source_ip", "detail"]


def download(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv" and response.mimetype_params.get("charset") == "utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8"))))
    assert all(len(row) == len(rows[0]) for row in rows), "every row is as wide as the header"
    return rows


def body_rows(page_html):
    """The cells of each row of the page's table body, as the reader sees them."""
    body = page_html.split("<tbody>")[1].split("</tbody>")[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def as_shown(text):
    """A cell as the page shows it: without the quote that keeps a spreadsheet from running it."""
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text


def exports_of(action, private):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                       AuditEntry.private.is_(private))
                              .order_by(AuditEntry.id)).all()


# --- the roster ----------------------------------------------------------------------------

@pytest.fixture
def department():
    chief = factories.officer(badge="100", first="Ada", last="Stone", unit_name="North", rank="Lieutenant")
    sergeant = factories.officer(badge="200", first="Ben", last="Cruz", unit_name="North", rank="Sergeant",
                                 supervisor=chief)
    factories.officer(badge="300", first="Cy", last="Diaz", unit_name="North", supervisor=sergeant)
    factories.officer(badge="400", first="Di", last="Eze", unit_name="South", supervisor=sergeant,
                      status=OfficerStatus.LEAVE)
    factories.officer(badge="500", first="Eve", last="Diaz-Ford", unit_name="South", status=OfficerStatus.SEPARATED)
    return chief


@pytest.mark.parametrize("role", ["hr", "admin"])
def test_roster_csv_has_the_pages_officers_for_the_same_filters(auth, client, department, role):
    auth.as_role(role)
    south = factories.unit("South")
    for query in ("", "?q=diaz", f"?unit={south.id}", "?status=leave", f"?q=diaz&unit={south.id}&status=separated"):
        page = client.get("/roster/" + query).get_data(as_text=True)
        assert "Download CSV" in page
        link = html.unescape(re.search(r'href="(/roster/export\.csv[^"]*)"', page).group(1))
        shown = [row[0] for row in body_rows(page)]
        rows = download(client, link)
        assert rows[0] == ROSTER_HEADER, "the import's columns, nothing health-related"
        assert sorted(row[0] for row in rows[1:]) == sorted(shown), query
    rows = {row[0]: row for row in download(client, "/roster/export.csv")[1:]}
    assert rows["400"] == ["400", "Di", "Eze", "400@pd.test", "South", "Police Officer",
                           "200", "2020-05-01", "leave"]
    assert rows["100"][6] == "" and rows["300"][6] == "200"
    details = [e.detail for e in exports_of("roster.exported", private=False)]
    assert "CSV of the whole roster" in details and f"CSV of search diaz, unit {south.id}, status separated" in details


def test_roster_csv_imports_back_unchanged(auth, client, department):
    hr = auth.as_role("hr")
    text = client.get("/roster/export.csv").get_data().decode("utf-8")
    report = roster.import_roster(Actor.for_user(hr), text, dry_run=True)
    assert report.ok
    assert (report.added, report.updated, report.separated, report.email_changes) == ([], [], [], [])
    assert report.unchanged == 5


def test_roster_csv_neutralises_formulas(auth, client):
    auth.as_role("hr")
    for n, start in enumerate("=+-@"):
        factories.officer(badge=f"9{n}", first=f"{start}SUM(A1)", last="Cell", rank=f"{start}cmd|' /C calc'!A0")
    rows = download(client, "/roster/export.csv?q=cell")[1:]
    assert len(rows) == 4
    for row in rows:
        assert row[1].startswith("'") and row[1][1] in "=+-@" and row[5].startswith("'")


@pytest.mark.parametrize("role", ["officer", "clinician"])
def test_roster_csv_is_not_for_officers_or_clinicians(auth, client, role):
    auth.as_role(role)
    assert client.get("/roster/export.csv").status_code == 403
    assert exports_of("roster.exported", private=False) == []


# --- the audit logs ------------------------------------------------------------------------

CHICAGO = ZoneInfo("America/Chicago")  # the test department's zone


@pytest.fixture
def entries():
    """A general and a wellness entry whose cells would start formulas, and ordinary ones."""
    with clock.frozen(datetime(2026, 7, 1, 15, 30, tzinfo=timezone.utc)):
        record(Actor.system("=cmd"), "test.general", target="+1 555", detail="-2+3")
        record(Actor.system("nightly"), "test.other", target="officer 1", detail="plain")
        record(Actor.system("@clinic"), "test.health", target="=HYPERLINK(\"x\")", detail="@SUM(A1)", private=True)
    with clock.frozen(datetime(2026, 7, 3, 9, 0, tzinfo=timezone.utc)):
        record(Actor.system("nightly"), "test.general", target="officer 2", detail="later")
    db.session.commit()


def test_admin_audit_csv_matches_the_page_newest_first_with_both_clocks(auth, client, entries):
    auth.as_role("admin")
    for query in ("?action=test.general", "?date_from=2026-07-01&date_to=2026-07-01", "?person=nightly",
                  "?action=test.general&date_from=2026-07-02"):
        page = client.get("/admin/audit" + query).get_data(as_text=True)
        link = html.unescape(re.search(r'href="(/admin/audit\.csv[^"]*)"', page).group(1))
        rows = download(client, link)
        assert rows[0] == AUDIT_HEADER
        shown = [[when, who, action, target] for when, who, action, target, *_ in body_rows(page)]
        exported = [[datetime.fromisoformat(row[0]).astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M:%S %Z"),
                     *map(as_shown, row[2:5])]
                    for row in rows[1:]]
        assert exported == shown, query
    rows = download(client, "/admin/audit.csv?action=test.general")[1:]
    assert [row[1] for row in rows] == ["2026-07-03T09:00:00+00:00", "2026-07-01T15:30:00+00:00"], "newest first"
    # America/Chicago, the test department's zone, is UTC-5 in July.
    assert [row[0] for row in rows] == ["2026-07-03T04:00:00-05:00", "2026-07-01T10:30:00-05:00"]
    assert rows[1][2:5] == ["'=cmd", "test.general", "'+1 555"] and rows[1][7] == "'-2+3"
    everything = download(client, "/admin/audit.csv")
    assert not any(row[3] == "test.health" for row in everything), "no wellness entry in the general log"
    [exported] = [e for e in exports_of("audit.exported", private=False) if e.detail == "CSV of everything"]
    assert exported.actor_label and exports_of("audit.exported", private=True) == []


def test_wellness_audit_csv_is_hrs_and_holds_only_wellness_entries(auth, client, entries):
    auth.as_role("hr")
    page = client.get("/wellness/audit?action=test.health").get_data(as_text=True)
    link = html.unescape(re.search(r'href="(/wellness/audit\.csv[^"]*)"', page).group(1))
    assert link == "/wellness/audit.csv?action=test.health"
    rows = download(client, link)
    assert rows[0] == AUDIT_HEADER and len(rows) == 2
    assert rows[1][2:5] == ["'@clinic", "test.health", "'=HYPERLINK(\"x\")"] and rows[1][7] == "'@SUM(A1)"
    everything = download(client, "/wellness/audit.csv")
    assert not any(row[3].startswith("test.general") or row[3] == "test.other" for row in everything)
    details = [e.detail for e in exports_of("audit.exported", private=True)]
    assert details == ["CSV of action test.health", "CSV of everything"]
    assert not any(e.detail.startswith("CSV of action test.health") for e in exports_of("audit.exported", False))
    assert client.get("/admin/audit.csv").status_code == 403, "HR does not read the general log"


def test_an_administrator_never_gets_the_wellness_log(auth, client, entries):
    auth.as_role("admin")
    assert client.get("/wellness/audit.csv").status_code == 403
    assert client.get("/wellness/audit.csv?action=test.health").status_code == 403
    assert exports_of("audit.exported", private=True) == []


def test_a_bad_filter_downloads_nothing(auth, client, entries):
    auth.as_role("admin")
    response = client.get("/admin/audit.csv?date_from=not-a-date")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/audit?")
    assert exports_of("audit.exported", private=False) == []


# --- in a spreadsheet program ------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def spreadsheet_cells(tmp_path, name, data: bytes) -> list[str]:
    """The cells LibreOffice Calc shows for a CSV file (opened headless, saved as HTML)."""
    source = tmp_path / name
    source.write_bytes(data)
    subprocess.run([SOFFICE, "--headless", "--convert-to", "html", "--outdir", str(tmp_path / "out"), str(source)],
                   env={**os.environ, "HOME": str(tmp_path)}, capture_output=True, timeout=120, check=True)
    page = (tmp_path / "out" / source.with_suffix(".html").name).read_text("utf-8")
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)]


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_roster_and_wellness_csv_without_running_a_formula(auth, client, tmp_path, entries):
    # The reader does run formulas: a raw "=1+1" comes out as 2.
    assert "2" in spreadsheet_cells(tmp_path, "control.csv", b"a,b\n=1+1,x\n")
    factories.officer(badge="77", first="=1+1", last="Formula", unit_name="North")
    auth.as_role("hr")
    roster_cells = spreadsheet_cells(tmp_path, "roster.csv", client.get("/roster/export.csv").get_data())
    assert roster_cells[:9] == ROSTER_HEADER and "'=1+1" in roster_cells and "Formula" in roster_cells
    assert "2" not in roster_cells
    wellness = spreadsheet_cells(tmp_path, "wellness.csv", client.get("/wellness/audit.csv").get_data())
    assert "'=HYPERLINK(\"x\")" in wellness and "'@SUM(A1)" in wellness and "'@clinic" in wellness


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_general_audit_csv_without_running_a_formula(auth, client, tmp_path, entries):
    auth.as_role("admin")
    general = spreadsheet_cells(tmp_path, "general.csv", client.get("/admin/audit.csv").get_data())
    assert "'=cmd" in general and "'+1 555" in general and "'-2+3" in general
    assert "-1" not in general and "556" not in general, "no cell was computed"
