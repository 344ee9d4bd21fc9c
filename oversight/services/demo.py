"""The demo's kept report: the last full quarter's, as the oversight body would have it."""
from core import department
from core.audit import Actor
from oversight.services import reports


def seed(rng) -> None:
    start, _ = reports.default_quarter(department.today())
    reports.make(Actor.system("seed-demo"), start)
