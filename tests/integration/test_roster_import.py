"""The roster import: all-or-nothing, every error with its line, upsert and separation.
The upload becomes an import job; `imports.work()` is the worker the scheduler runs."""
import html
import io
import re

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import AccountStatus, AuditEntry, LoginSession, Officer, OfficerStatus, User
from core.services import imports
from tests import factories
from tests.conftest import Auth

HEADER = "badge_number,first_name,last_name,email,unit,rank,supervisor_badge,hire_date,status"


def csv_of(*lines):
    return "\n".join([HEADER, *lines]) + "\n"


ROSTER = csv_of(
    "100,Ada,Stone,ada.stone@pd.test,North,Lieutenant,,2005-03-01,active",
    "200,Ben,Cruz,ben.cruz@pd.test,North,Sergeant,100,2012-07-15,active",
    "300,Cy,Diaz,cy.diaz@pd.test,North,Police Officer,200,2019-09-30,active",
    "400,Di,Eze,di.eze@pd.test,South,Police Officer,200,2021-01-04,leave",
)


def officers():
    return {o.badge_number: o for o in db.session.scalars(select(Officer))}


@pytest.fixture
def hr(auth):
    return auth.as_role("hr")


def send(auth, text, preview=False, name="roster.csv"):
    data = {"file": (io.BytesIO(text.encode("utf-8") if isinstance(text, str) else text), name)}
    data["preview" if preview else "submit"] = "1"
    return auth.post("/roster/import", data, form_page="/roster/import", content_type="multipart/form-data")


def upload(auth, text, preview=False, name="roster.csv"):
    """Upload, let the worker run the job, and come back to the job's page."""
    response = send(auth, text, preview, name)
    assert response.status_code == 302, response.status_code
    imports.work()
    return auth.client.get(response.headers["Location"])


def confirm(auth, job_page):
    path = job_page.request.path
    response = auth.post(path + "/confirm", {}, form_page=path)
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    imports.work()
    return auth.client.get(path)


def test_good_file_adds_officers_with_their_chain_of_command(hr, auth, client):
    response = upload(auth, ROSTER)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "4 officer(s) added" in text and "The roster was imported" in text
    found = officers()
    assert found["300"].supervisor_id == found["200"].id and found["200"].supervisor_id == found["100"].id
    assert found["400"].status == OfficerStatus.LEAVE and found["400"].unit.name == "South"
    page = client.get(f"/roster/{found['300'].id}").get_data(as_text=True)
    chain = page.split("Chain of command")[1].split("Direct reports")[0]
    assert chain.index("Ben Cruz") < chain.index("Ada Stone")
    lieutenant = client.get(f"/roster/{found['200'].id}").get_data(as_text=True)
    assert "Direct reports (2)" in lieutenant


def test_preview_writes_nothing_then_confirm_imports_the_same_file(hr, auth):
    response = upload(auth, ROSTER, preview=True)
    text = response.get_data(as_text=True)
    assert "Preview: nothing has been written yet" in text and "4 officer(s) added" in text
    assert officers() == {}
    assert 'name="content"' not in text, "the file stays on the server, it is not carried by the page"
    done = confirm(auth, response)
    assert "The roster was imported" in done.get_data(as_text=True)
    assert "4 officer(s) added" in done.get_data(as_text=True)
    assert len(officers()) == 4


def test_second_import_updates_and_separates_and_disables_the_account(hr, auth, app):
    upload(auth, ROSTER)
    cy = officers()["300"]
    cy_account = factories.user(roles=["officer"], officer_row=cy)
    browser = app.test_client()
    assert Auth(browser).login(cy_account.email).status_code == 302
    changed = ROSTER.replace("South,Police Officer,200,2021-01-04,leave", "South,Detective,200,2021-01-04,active")
    changed = changed.replace("cy.diaz@pd.test,North,Police Officer,200,2019-09-30,active",
                              "cy.diaz@pd.test,North,Police Officer,200,2019-09-30,separated")
    changed += "500,Ed,Fox,ed.fox@pd.test,South,Police Officer,400,2024-02-29,active\n"
    text = upload(auth, changed).get_data(as_text=True)
    assert "1 officer(s) added" in text and "1 updated" in text and "1 separated (1 account(s) disabled)" in text
    assert "2 unchanged" in text
    found = officers()
    assert found["300"].status == OfficerStatus.SEPARATED and found["400"].rank == "Detective"
    account = db.session.get(User, cy_account.id)
    assert account.status == AccountStatus.DISABLED
    assert browser.get("/").status_code == 302  # signed out at once
    assert db.session.scalar(select(func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == account.id, LoginSession.ended_at.is_(None))) == 0


def test_officers_missing_from_the_file_are_left_alone(hr, auth):
    upload(auth, ROSTER)
    text = upload(auth, csv_of("100,Ada,Stone,ada.stone@pd.test,North,Captain,,2005-03-01,active")).get_data(
        as_text=True)
    assert "1 updated" in text
    assert len(officers()) == 4 and officers()["100"].rank == "Captain"


BAD_FILES = [
    ("missing column", "badge_number,first_name,last_name,email,unit,rank,hire_date,status\n"
     "1,A,B,a@pd.test,N,R,2020-01-01,active\n", 1, "missing column(s): supervisor_badge"),
    ("unknown column", HEADER + ",shift\n1,A,B,a@pd.test,N,R,,2020-01-01,active,day\n", 1, "unknown column(s): shift"),
    ("empty required", csv_of("1,,B,a@pd.test,N,R,,2020-01-01,active"), 2, "first_name is required"),
    ("bad email", csv_of("1,A,B,a-at-pd.test,N,R,,2020-01-01,active"), 2, "is not a valid address"),
    ("bad date", csv_of("1,A,B,a@pd.test,N,R,,01/02/2020,active"), 2, "not a date in the form YYYY-MM-DD"),
    ("bad status", csv_of("1,A,B,a@pd.test,N,R,,2020-01-01,fired"), 2, "must be one of"),
    ("duplicate badge", csv_of("1,A,B,a@pd.test,N,R,,2020-01-01,active", "1,C,D,c@pd.test,N,R,,2020-01-01,active"),
     3, "badge_number 1 is already on line 2"),
    ("duplicate email", csv_of("1,A,B,a@pd.test,N,R,,2020-01-01,active", "2,C,D,A@pd.test,N,R,,2020-01-01,active"),
     3, "email a@pd.test is already on line 2"),
    ("unknown supervisor", csv_of("1,A,B,a@pd.test,N,R,9,2020-01-01,active"), 2, "supervisor_badge 9 is neither"),
    ("supervisor loop", csv_of("1,A,B,a@pd.test,N,R,2,2020-01-01,active", "2,C,D,c@pd.test,N,R,1,2020-01-01,active"),
     2, "supervisor loop: 1 → 2 → 1"),
]


@pytest.mark.parametrize("kind, text, line, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_each_error_kind_is_shown_with_its_line_and_nothing_is_written(hr, auth, kind, text, line, message):
    before = ROSTER  # a good roster already in place must stay exactly as it was
    upload(auth, before)
    snapshot = {b: (o.first_name, o.email, o.status, o.supervisor_id) for b, o in officers().items()}
    # A good line too: it must not be written either.
    text += "600,Gil,Ho,gil.ho@pd.test,North,Police Officer,,2020-01-01,active\n"
    response = upload(auth, text)
    page = response.get_data(as_text=True)
    assert "nothing was written" in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", page.split('id="import-errors"')[1])
    assert any(int(n) == line and message in html.unescape(msg) for n, msg in rows), rows
    assert {b: (o.first_name, o.email, o.status, o.supervisor_id) for b, o in officers().items()} == snapshot
    rejected = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "roster.import",
                                                           AuditEntry.outcome == "rejected")).all()
    assert len(rejected) == 1


def test_non_csv_upload_is_refused_beside_the_field(hr, auth):
    response = send(auth, ROSTER, name="roster.xlsx")
    assert response.status_code == 422
    assert "The roster must be a .csv file." in response.get_data(as_text=True)
    assert officers() == {}


def test_cli_import_exit_codes_and_line_errors(app, runner, tmp_path):
    good_file = tmp_path / "roster.csv"
    good_file.write_text(ROSTER, encoding="utf-8-sig")
    dry = runner.invoke(args=["roster", "import", str(good_file), "--dry-run"])
    assert dry.exit_code == 0 and "would have added 4" in dry.output
    assert officers() == {}
    done = runner.invoke(args=["roster", "import", str(good_file)])
    assert done.exit_code == 0 and "added 4, updated 0, separated 0, unchanged 0" in done.output
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_of("700,A,B,bad-email,N,R,,2020-01-01,active", "701,C,D,c@pd.test,N,R,,2020-13-01,active"))
    result = runner.invoke(args=["roster", "import", str(bad)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("line ")]
    assert lines == ["line 2: email 'bad-email' is not a valid address",
                     "line 3: hire_date '2020-13-01' is not a date in the form YYYY-MM-DD"]
    assert len(officers()) == 4


def test_roster_search_by_name_and_badge(hr, auth, client):
    upload(auth, ROSTER)
    by_name = client.get("/roster/?q=cruz").get_data(as_text=True)
    assert "Cruz, Ben" in by_name and "Stone, Ada" not in by_name
    by_badge = client.get("/roster/?q=400").get_data(as_text=True)
    assert "Eze, Di" in by_badge and "Cruz, Ben" not in by_badge
    by_unit = client.get("/roster/").get_data(as_text=True)
    assert by_unit.index(">North<") < by_unit.index(">South<")


def test_hr_creates_accounts_from_the_roster_and_invitations_are_queued(hr, auth, client):
    from core.models import OutboxMessage
    upload(auth, ROSTER.replace("2021-01-04,leave", "2021-01-04,separated"))
    response = auth.post("/roster/accounts", {}, form_page="/roster/")
    assert response.status_code == 302
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert {"ada.stone@pd.test", "ben.cruz@pd.test", "cy.diaz@pd.test"} <= set(users)
    assert "di.eze@pd.test" not in users  # separated: no account
    assert all(users[e].password_hash is None and users[e].roles == {"officer"}
               for e in ("ada.stone@pd.test", "cy.diaz@pd.test"))
    invites = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invite")).all()
    assert {m.recipient for m in invites} == {"ada.stone@pd.test", "ben.cruz@pd.test", "cy.diaz@pd.test"}
    again = auth.post("/roster/accounts", {}, form_page="/roster/")
    assert again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
