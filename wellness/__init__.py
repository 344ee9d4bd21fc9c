"""Wellness evaluations: clinicians, critical incidents, appointments (issue 3).

`init_app(app)` plugs the package in after core: its pages, its menu entries and home
panels, its daily sweep, HR digest and reminder sweep, its commands and demo data.
"""
import logging

from core import scheduler, web
from core.models import Role
from core.services import accounts
from wellness import channel, cli, feeds, support, views
from wellness.services import appointments, demo, evaluations, private_address, reminders
from wellness.services import feeds as feed_service
from wellness.services import support as support_service


def init_app(app) -> None:
    app.register_blueprint(views.bp)
    # Refusals on wellness pages (appointments, evaluations, incidents, clinicians) are health-related.
    web.audit_refusals_privately(app, views.bp.name)
    # Calendar feeds: the page (clinician, officer) and the feed itself; disabling an account ends its feed.
    feeds.init_app(app)
    web.audit_refusals_privately(app, feeds.bp.name)
    # Support after an incident: any officer's page (nothing recorded on opening it), HR's list.
    support.init_app(app)
    web.audit_refusals_privately(app, support.bp.name)
    app.extensions.setdefault(accounts.ON_DISABLE, []).append(feed_service.revoke_on_disable)
    # The private channel: an officer's personal address for wellness mail; disabling the account removes it.
    channel.init_app(app)
    web.audit_refusals_privately(app, channel.bp.name)
    app.extensions.setdefault(accounts.ON_DISABLE, []).append(private_address.remove_on_disable)
    # A failed statement is logged without its values (see core.web.WithheldDetails).
    logging.getLogger(evaluations.__name__).addFilter(web.WITHHELD_DETAILS)

    web.add_home_panel(app, Role.HR, evaluations.hr_todo, "wellness/home_hr.html")
    web.add_home_panel(app, Role.OFFICER, evaluations.officer_todo, "wellness/home_officer.html")
    web.add_home_panel(app, Role.OFFICER, support_service.panel, "wellness/_support_panel.html")
    web.add_home_panel(app, Role.CLINICIAN, appointments.clinician_todo, "wellness/home_clinician.html")

    hr = (Role.HR,)
    web.add_nav(app, "Dashboard", "wellness.dashboard", roles=hr, group="Wellness", order=20)
    web.add_nav(app, "Needs attention", "wellness.attention_list", roles=hr, group="Wellness", order=21)
    web.add_nav(app, "Incidents", "wellness.incident_list", roles=hr, group="Wellness", order=22)
    web.add_nav(app, "Clinicians", "wellness.clinician_list", roles=hr, group="Wellness", order=23)
    web.add_nav(app, "Reminders", "wellness.reminders", roles=hr, group="Wellness", order=24)
    web.add_nav(app, "Wellness audit", "wellness.audit", roles=hr, group="Wellness", order=25)
    web.add_nav(app, "Support resources", "support.resource_list", roles=hr, group="Wellness", order=26)
    web.add_nav(app, "My appointments", "wellness.mine", roles=(Role.OFFICER,), order=30)
    web.add_nav(app, "Appointments", "wellness.clinic", roles=(Role.CLINICIAN,), order=32)
    web.add_nav(app, "My hours", "wellness.clinic_hours", roles=(Role.CLINICIAN,), order=33)

    scheduler.add_reminder_sweep(app, "wellness", reminders.sweep)
    scheduler.add_reminder_sweep(app, "wellness exceptions", appointments.sweep_exceptions)
    scheduler.add_job(app, "wellness-sweep", evaluations.sweep, "cron", hour=app.config["WELLNESS_SWEEP_HOUR"])
    scheduler.add_job(app, "hr-digest", reminders.digest, "cron", hour=app.config["HR_DIGEST_HOUR"])
    app.extensions.setdefault("beacon.demo", []).append(demo.seed)
    app.extensions.setdefault("beacon.demo", []).append(support_service.seed_demo)
    app.extensions.setdefault("beacon.demo", []).append(private_address.seed_demo)
    cli.register(app)
