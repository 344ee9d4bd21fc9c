"""HR's daily lists (issue 15, parts 5 and 6): search and sort on the wellness dashboard
and the roster, the dashboard's appointment column, its CSV following the page, one
label per evaluation state on every page and in the CSV, and the help text beside the
figures that need explaining."""
import csv
import io
import re
from urllib.parse import quote
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.db import db
from tests import factories
from wellness.models import IncidentType
from wellness.services import evaluations, incidents

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)        # 09:00 in Chicago (CST)
APPOINTMENT = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)   # 10:00 CDT, after the change to summer time


@pytest.fixture
def now():
    with clock.frozen(MONDAY):
        yield MONDAY


@pytest.fixture
def people(app, now):
    """Four officers with an evaluation in progress: Brown is booked (awaiting the
    clinician), Adams is overdue, Carter due soon, Diaz open and not yet due."""
    clinician = factories.clinician()
    brown = factories.officer(badge="77120", first="Nicole", last="Brown", unit_name="North")
    adams = factories.officer(badge="55001", first="Alan", last="Adams", unit_name="North")
    carter = factories.officer(badge="55002", first="Cara", last="Carter", unit_name="South")
    diaz = factories.officer(badge="=cmd|1", first="Dan", last="Diaz", unit_name="South")
    booked = factories.evaluation(brown, due_on=date(2026, 3, 25), status="scheduled")
    factories.appointment(booked, clinician, starts_at=APPOINTMENT)
    factories.evaluation(adams, due_on=date(2026, 2, 20))
    factories.evaluation(carter, due_on=date(2026, 3, 20))
    factories.evaluation(diaz, due_on=date(2026, 6, 1))
    return {"brown": brown, "adams": adams, "carter": carter, "diaz": diaz, "booked": booked}


def listed(page: str) -> list[str]:
    """The last names in the dashboard's list, in order."""
    table = page.split('id="evaluations"')[1].split("</table>")[0]
    return re.findall(r'officers/\d+">([^,<]+),', table)


def csv_rows(client, query=""):
    response = client.get(f"/wellness/dashboard.csv{query}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# --- the dashboard: search, sort, appointment column -------------------------------------

def test_hr_finds_an_officer_on_the_dashboard_by_name_or_badge(people, auth, client):
    auth.as_role("hr")
    for q in ("Brown", "brown", "Nicole", "nicole br", "Brown, Nic", "77120", "771"):
        assert listed(client.get("/wellness/", query_string={"q": q}).get_data(as_text=True)) == ["Brown"], q
    page = client.get("/wellness/?q=zzz").get_data(as_text=True)
    assert listed(page) == [] and "begins with “zzz”" in page
    # A LIKE wildcard is searched for as itself, not as "anything".
    assert listed(client.get("/wellness/?q=%25").get_data(as_text=True)) == []
    assert listed(client.get("/wellness/?q=_").get_data(as_text=True)) == []
    # The counts stay the whole department's; the list's heading counts the matches.
    page = client.get("/wellness/?q=Brown").get_data(as_text=True)
    assert 'id="count-overdue">1<' in page and "Evaluations in progress (1 matching “Brown”)" in page
    # With a status filter too.
    assert listed(client.get("/wellness/?q=Adams&state=overdue").get_data(as_text=True)) == ["Adams"]
    assert listed(client.get("/wellness/?q=Brown&state=overdue").get_data(as_text=True)) == []


@pytest.mark.parametrize("sort, ascending", [
    ("name", ["Adams", "Brown", "Carter", "Diaz"]),
    ("due", ["Adams", "Carter", "Brown", "Diaz"]),
    ("status", ["Adams", "Carter", "Brown", "Diaz"]),  # most pressing first
])
def test_the_dashboard_sorts_both_ways(people, auth, client, sort, ascending):
    auth.as_role("hr")
    assert listed(client.get(f"/wellness/?sort={sort}").get_data(as_text=True)) == ascending
    assert listed(client.get(f"/wellness/?sort={sort}&dir=desc").get_data(as_text=True)) == ascending[::-1]


def test_sorting_by_appointment_puts_those_without_one_last_either_way(people, auth, client, now):
    auth.as_role("hr")
    other = factories.evaluation(factories.officer(last="Early"), due_on=date(2026, 4, 1), status="scheduled")
    factories.appointment(other, factories.clinician(name="Dr. Other"), starts_at=MONDAY + timedelta(days=2))
    up = listed(client.get("/wellness/?sort=appointment").get_data(as_text=True))
    down = listed(client.get("/wellness/?sort=appointment&dir=desc").get_data(as_text=True))
    assert up[:2] == ["Early", "Brown"] and down[:2] == ["Brown", "Early"]
    assert set(up[2:]) == set(down[2:]) == {"Adams", "Carter", "Diaz"}


def test_a_bad_sort_key_or_direction_is_the_default_order(people, auth, client):
    auth.as_role("hr")
    default = listed(client.get("/wellness/").get_data(as_text=True))
    assert default == ["Adams", "Carter", "Brown", "Diaz"]  # by due date
    for query in ("sort=password", "sort=due_on;drop", "sort=", "dir=sideways", "sort=name&dir=up",
                  "sort[]=name", "sort=%00"):
        response = client.get(f"/wellness/?{query}")
        assert response.status_code == 200, query
        if "name" not in query:
            assert listed(response.get_data(as_text=True)) == default, query
    assert listed(client.get("/wellness/?sort=name&dir=up").get_data(as_text=True)) == \
        ["Adams", "Brown", "Carter", "Diaz"]  # an unknown direction is ascending


def test_sort_links_keep_the_filters_and_the_search(people, auth, client):
    auth.as_role("hr")
    unit = people["brown"].unit_id
    page = client.get(f"/wellness/?q=Br&state=awaiting_confirmation&unit={unit}&sort=name").get_data(as_text=True)
    link = re.search(r'id="sort-name" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "q=Br" in link and "state=awaiting_confirmation" in link and f"unit={unit}" in link
    assert "sort=name" in link and "dir=desc" in link  # the sorted column reverses
    other = re.search(r'id="sort-due" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "sort=due" in other and "dir=" not in other and "q=Br" in other
    assert 'aria-sort="ascending"' in page
    csv_link = re.search(r'id="dashboard-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "q=Br" in csv_link and "sort=name" in csv_link and "state=awaiting_confirmation" in csv_link


def test_the_appointment_column_shows_the_active_appointments_local_date(people, auth, client):
    auth.as_role("hr")
    page = client.get("/wellness/?q=Brown").get_data(as_text=True)
    row = page.split('id="evaluations"')[1].split("</tbody>")[0]
    assert "Appointment</a></th>" in page.split('id="evaluations"')[1].split("</thead>")[0]
    assert "2026-03-10 10:00 CDT" in row  # |local: Chicago time with its zone


# --- the dashboard CSV ----------------------------------------------------------------------

def test_the_csv_follows_the_search_filters_and_order_with_the_pages_columns(people, auth, client):
    auth.as_role("hr")
    rows = csv_rows(client, "?q=Brown")
    assert [(r["last_name"], r["status"], r["state"], r["appointment"]) for r in rows] == \
        [("Brown", "Booked, awaiting confirmation", "awaiting_confirmation", "2026-03-10 10:00 CDT")]
    assert list(rows[0]) == evaluations.CSV_HEADER
    assert [r["last_name"] for r in csv_rows(client, "?sort=name&dir=desc")] == ["Diaz", "Carter", "Brown", "Adams"]
    assert [r["last_name"] for r in csv_rows(client, "?state=overdue")] == ["Adams"]
    assert [r["last_name"] for r in csv_rows(client, f"?unit={people['carter'].unit_id}")] == ["Carter", "Diaz"]
    assert [r["last_name"] for r in csv_rows(client, "?sort=bogus")] == ["Adams", "Carter", "Brown", "Diaz"]


def test_the_csv_stays_formula_safe(people, auth, client):
    auth.as_role("hr")
    text = client.get("/wellness/dashboard.csv?q=%3Dcmd").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["badge_number"] for r in rows] == ["'=cmd|1"]
    assert "\n=" not in text and ",=" not in text


# --- one vocabulary --------------------------------------------------------------------------

def test_an_evaluation_has_the_same_label_on_the_incident_page_the_dashboard_the_record_and_the_csv(
        people, auth, client, now):
    hr = Actor.for_user(auth.as_role("hr"))
    kind = db.session.scalar(select(IncidentType).where(IncidentType.window_days == 14))
    incident = incidents.record_incident(hr, type_id=kind.id, occurred_on=date(2026, 3, 1), description="Test.",
                                         officer_ids=[people["brown"].id, people["diaz"].id], unit_ids=[]).incident
    label = "Booked, awaiting confirmation"
    incident_page = client.get(f"/wellness/incidents/{incident.id}").get_data(as_text=True)
    dashboard = client.get("/wellness/?q=Brown").get_data(as_text=True)
    record = client.get(f"/wellness/officers/{people['brown'].id}").get_data(as_text=True)
    rows = csv_rows(client, "?q=Brown")
    for page in (incident_page, dashboard, record):
        assert f'data-state="awaiting_confirmation">{label}</span>' in page
    assert rows[0]["status"] == label
    # The old spellings are gone from these pages.
    for page in (incident_page, dashboard):
        assert ">scheduled<" not in page and "awaiting clinician" not in page and ">open<" not in page
    # Diaz's evaluation, brought forward by the incident, reads the same on both pages.
    diaz_state = evaluations.states_of([(db.session.get(type(people["booked"]), e_id), people["diaz"])
                                        for e_id in [r for r in db.session.scalars(
                                            select(type(people["booked"]).id).where(
                                                type(people["booked"]).officer_id == people["diaz"].id))]])
    (state,) = diaz_state.values()
    diaz_label = evaluations.state_label(state)
    assert f">{diaz_label}</span>" in incident_page
    assert csv_rows(client, "?q=Diaz")[0]["status"] == diaz_label
    # The appointment's own status on the record uses the appointment vocabulary.
    assert 'data-status="booked">Booked, awaiting confirmation</span>' in record


def test_every_state_has_one_label():
    for state in (*evaluations.STATES, "closed"):
        assert evaluations.state_label(state) == evaluations.STATE_LABELS[state]
        assert "_" not in evaluations.state_label(state)
    assert set(evaluations.STATE_ORDER) == set(evaluations.STATES) | {"closed"}
    assert evaluations.appointment_label("no_show") == evaluations.STATE_LABELS["no_show"]


def test_the_officers_own_page_uses_the_same_labels_without_hrs_attention_items(people, auth, client):
    from wellness.models import AttentionItem
    user = factories.user(officer_row=people["brown"])
    people["booked"].attention = "unconfirmed"
    db.session.add(AttentionItem(evaluation_id=people["booked"].id, kind="unconfirmed", opened_at=MONDAY))
    db.session.commit()
    auth.login(user.email)
    mine = client.get("/wellness/me").get_data(as_text=True)
    assert 'data-state="awaiting_confirmation">Booked, awaiting confirmation</span>' in mine
    assert "after 48 hours" not in mine


# --- the roster -------------------------------------------------------------------------------

def roster_names(page: str) -> list[str]:
    table = page.split('id="roster"')[1].split("</table>")[0]
    return re.findall(r'roster/\d+">([^,<]+),', table)


def test_hr_searches_and_sorts_the_roster(people, auth, client):
    auth.as_role("hr")
    assert roster_names(client.get("/roster/?q=brown").get_data(as_text=True)) == ["Brown"]
    assert roster_names(client.get("/roster/?q=77120").get_data(as_text=True)) == ["Brown"]
    for wildcard in ("%", "_", "b_own"):  # searched as themselves, never as patterns
        assert roster_names(client.get(f"/roster/?q={quote(wildcard)}").get_data(as_text=True)) == []
    assert roster_names(client.get("/roster/?sort=name").get_data(as_text=True)) == \
        ["Adams", "Brown", "Carter", "Diaz"]
    assert roster_names(client.get("/roster/?sort=name&dir=desc").get_data(as_text=True)) == \
        ["Diaz", "Carter", "Brown", "Adams"]
    assert roster_names(client.get("/roster/?sort=badge").get_data(as_text=True))[0] == "Adams"
    # An unknown key is the default order (by unit, then name).
    page = client.get("/roster/?sort=;drop").get_data(as_text=True)
    assert roster_names(page) == ["Adams", "Brown", "Carter", "Diaz"]
    page = client.get("/roster/?q=a&sort=name&dir=desc").get_data(as_text=True)
    link = re.search(r'id="sort-name" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "q=a" in link and "dir=asc" in link
    download = re.search(r'href="(/roster/export.csv[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "sort=name" in download and "dir=desc" in download and "q=a" in download


def test_the_roster_csv_follows_the_search_and_the_order(people, auth, client):
    auth.as_role("hr")
    rows = list(csv.DictReader(io.StringIO(
        client.get("/roster/export.csv?sort=name&dir=desc").get_data(as_text=True))))
    assert [r["last_name"] for r in rows] == ["Diaz", "Carter", "Brown", "Adams"]
    assert rows[0]["badge_number"] == "'=cmd|1"
    rows = list(csv.DictReader(io.StringIO(client.get("/roster/export.csv?q=Nicole").get_data(as_text=True))))
    assert [r["last_name"] for r in rows] == ["Brown"]


# --- help text --------------------------------------------------------------------------------

def test_the_dashboard_explains_compliance(people, auth, client):
    auth.as_role("hr")
    page = client.get("/wellness/").get_data(as_text=True)
    help_text = " ".join(page.split('id="compliance-help"')[1].split("</details>")[0].split())
    assert "What counts as compliant" in help_text
    assert "completed within the last 12 months" in help_text and "02 March 2025" in help_text
    assert "not separated" in help_text and "never completed" in help_text


def test_queries_stay_flat_with_a_search_and_a_sort(people, count_queries, auth, client, now):
    auth.as_role("hr")
    counts = []
    for n in (5, 40):
        while len(db.session.scalars(select(type(people["booked"]))).all()) < n:
            factories.evaluation(factories.officer(last=f"Zed{n:02d}{len(counts)}"))
        for path in ("/wellness/?q=Zed&sort=name", "/wellness/?sort=appointment&dir=desc"):
            client.get(path)
        with count_queries() as counted:
            assert client.get("/wellness/?q=Zed&sort=name").status_code == 200
            assert client.get("/wellness/?sort=appointment&dir=desc").status_code == 200
        counts.append(len(counted))
    assert counts[0] == counts[1] > 0


def test_the_matrix_and_the_report_explain_the_composite_and_the_community_score(app, auth):
    from tests.integration.test_fixed_results import _published
    t, _, cycle = _published()
    auth.as_role("hr")
    matrix = auth.client.get(f"/reviews/cycles/{cycle.id}/matrix").get_data(as_text=True)
    matrix_help = " ".join(matrix.split('id="score-help"')[1].split("</details>")[0].split())
    for words in ("weighted mean", "supervisor, peers, direct reports", "scaled up",
                  "01 Apr 2026 to 30 Jun 2026", "residents' sense of safety",
                  "3 + 2 × (compliments − sustained complaints) ÷ (compliments + sustained complaints)",
                  "1 + (community meetings + problem-solving projects + verified activities) ÷ 3, at most 5",
                  "years of service on the cycle's closing day"):
        assert words in matrix_help.replace("&#39;", "'"), words
    report = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{t.members[0].id}").get_data(as_text=True)
    report_help = " ".join(report.split('id="community-help"')[1].split("</details>")[0].split())
    assert "How the community score is worked out" in report.replace("\n", " ")
    assert "(community meetings + problem-solving projects + verified activities) ÷ 3" in report_help


def test_every_sort_works_on_the_completed_list_too(people, auth, client):
    from wellness.models import EvaluationStatus
    done = factories.evaluation(factories.officer(last="Finished"), due_on=date(2026, 1, 10))
    done.status, done.completed_on = EvaluationStatus.COMPLETED, date(2026, 1, 5)
    db.session.commit()
    auth.as_role("hr")
    for sort in (*evaluations.SORTS, ""):
        for direction in ("asc", "desc"):
            response = client.get(f"/wellness/?state=completed&sort={sort}&dir={direction}&q=Fin")
            assert response.status_code == 200 and listed(response.get_data(as_text=True)) == ["Finished"]
            rows = csv_rows(client, f"?state=completed&sort={sort}&dir={direction}")
            assert [(r["last_name"], r["status"], r["appointment"]) for r in rows] == [("Finished", "Completed", "")]
