"""The daily wellness sweep on a freshly imported department (everyone due at once), and
with officers it cannot process: they are reported, and every other officer is processed."""
import logging
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, insert, select, text

from core import clock
from core.db import db
from core.models import Officer, OfficerStatus
from tests import factories
from wellness import rules
from wellness.models import EvaluationStatus, JobProblem, WellnessEvaluation
from wellness.services import evaluations

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def now():
    with clock.frozen(NOW):
        yield NOW


def new_roster(count, hire_date=date(2020, 5, 1)):
    """`count` active officers, written in one statement as a roster import leaves them
    (nothing in their history)."""
    unit_id = factories.unit("Patrol").id
    db.session.execute(insert(Officer), [
        {"badge_number": f"N{i:06d}", "first_name": "Pat", "last_name": f"Newhire{i}", "email": f"n{i}@pd.test",
         "unit_id": unit_id, "rank": "Police Officer", "hire_date": hire_date, "status": OfficerStatus.ACTIVE,
         "created_at": NOW, "updated_at": NOW} for i in range(count)])
    db.session.commit()


def open_evaluations():
    return db.session.scalar(select(func.count()).select_from(WellnessEvaluation)
                             .where(WellnessEvaluation.status == EvaluationStatus.OPEN))


def test_first_sweep_opens_every_due_officer_even_when_postgresql_plans_the_insert_generically(app, now):
    # Three batches of the same INSERT; forcing the generic plan that PostgreSQL switches
    # to by itself after a few executions made the partial-index ON CONFLICT fail
    # ("no unique or exclusion constraint matching the ON CONFLICT specification").
    new_roster(2_100)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET plan_cache_mode = force_generic_plan"))
    report = evaluations.sweep()
    assert report.opened == 2_100 and not report.problems
    assert open_evaluations() == 2_100
    again = evaluations.sweep()
    assert again.opened == 0 and open_evaluations() == 2_100


def test_the_sweep_command_reports_an_officer_with_an_impossible_hire_date_and_processes_everyone_else(
        app, runner, now, caplog):
    new_roster(30)
    far = factories.officer(badge="F1", last="Farfuture", hire_date=date(9999, 12, 31))
    ancient = factories.officer(badge="A1", last="Ancient", hire_date=date(1, 1, 1))
    with caplog.at_level(logging.WARNING, logger="wellness.services.evaluations"):
        result = runner.invoke(args=["wellness", "sweep"])
    assert result.exit_code == 3, result.output
    assert "opened 30 annual evaluation(s)" in result.output
    assert "could not process 2 officer(s)" in result.output
    assert f"could not process officer {far.id}: hire date out of range" in result.output
    assert f"could not process officer {ancient.id}: hire date out of range" in result.output
    assert open_evaluations() == 30
    logged = " ".join(r.getMessage() for r in caplog.records)
    # The server log says how many; which officers (who may have wellness records) is HR's.
    assert "2 officer(s) not processed" in logged
    assert f"officer {far.id}" not in logged and "Farfuture" not in logged and "Ancient" not in logged
    # Fixed on the roster: the next sweep takes the officer in and the list empties.
    db.session.get(Officer, far.id).hire_date = date(2025, 4, 1)
    db.session.get(Officer, ancient.id).hire_date = date(2025, 4, 1)
    db.session.commit()
    fixed = runner.invoke(args=["wellness", "sweep"])
    assert fixed.exit_code == 0 and "opened 2 annual evaluation(s)" in fixed.output
    assert db.session.scalar(select(func.count()).select_from(JobProblem)) == 0


def test_an_error_for_one_officer_is_isolated_and_reported_by_its_class(app, now, monkeypatch):
    new_roster(5)
    broken = factories.officer(badge="X1", hire_date=date(2020, 5, 2))
    real = rules.annual_due

    def failing(last, hire_date, *args):
        if hire_date == date(2020, 5, 2):
            raise ValueError("something about Pat")
        return real(last, hire_date, *args)

    monkeypatch.setattr(rules, "annual_due", failing)
    report = evaluations.sweep()
    assert report.opened == 5
    assert report.problems == {broken.id: "error: ValueError"}


def test_hr_sees_the_officers_the_sweep_could_not_process_with_a_link_to_their_record(app, auth, client, now):
    far = factories.officer(badge="F1", first="Fay", last="Farfuture", hire_date=date(9999, 12, 31))
    factories.officer(badge="OK1", hire_date=date(2020, 5, 1))
    evaluations.sweep()
    auth.as_role("hr")
    page = client.get("/wellness/").get_data(as_text=True)
    assert "The daily sweep could not process 1 officer(s)" in page
    listed = " ".join(page.split())
    assert f'<a href="/roster/{far.id}">Farfuture, Fay</a> (F1): hire date out of range, since 2026-03-02' in listed
    # The officer's own wellness record opens (no month arithmetic past year 9999).
    record = client.get(f"/wellness/officers/{far.id}")
    assert record.status_code == 200
    assert "31 December 9999" in record.get_data(as_text=True)


def test_the_problem_list_is_hidden_once_nothing_is_wrong(app, auth, client, now):
    factories.officer(hire_date=date(2020, 5, 1))
    evaluations.sweep()
    auth.as_role("hr")
    assert "The daily sweep could not process" not in client.get("/wellness/").get_data(as_text=True)
