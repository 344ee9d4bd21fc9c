"""Beacon's application factory: `flask --app app run`, `flask --app app <command>`."""
import logging

from flask import Flask
from flask_bootstrap import Bootstrap5
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from core import cli as core_cli
from core import models as core_models  # noqa: F401  (models must be known to Alembic)
from core import web
from core.db import db
from core.converters import BoundedIntConverter
from core.errors import Forbidden, NotFound
from core.models import Role
from core.services import imports
from core.services import roster as roster_services
from core.views import admin, auth, home, roster
from evaluations import cli as evaluations_cli
from evaluations import models as evaluations_models  # noqa: F401
from evaluations import views as evaluations_views
from evaluations.services import demo as evaluations_demo
from evaluations.services import metrics as evaluations_metrics
from evaluations.services import reminders as review_reminders
from evaluations.services import reviews as review_services
from notifications import cli as notifications_cli
from notifications import scheduler
from notifications import services as notifications_services
from notifications import models as notifications_models  # noqa: F401
from notifications import views as notifications_views
from wellness import cli as wellness_cli
from wellness import models as wellness_models  # noqa: F401
from wellness import views as wellness_views
from wellness.services import appointments, evaluations, reminders
from wellness.services import demo as wellness_demo

csrf = CSRFProtect()
migrate = Migrate()
bootstrap = Bootstrap5()


def create_app(config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.from_mapping(settings.load(app.instance_path))
    if config:
        app.config.update(config)
    settings.validate(app.config)
    app.config["PERMANENT_SESSION_LIFETIME"] = app.config["SESSION_MAX_HOURS"] * 3600
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"],
                                x_proto=app.config["PROXY_FIX_X_FOR"])

    db.init_app(app)
    migrate.init_app(app, db, directory="migrations", compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    web.login_manager.init_app(app)

    for blueprint in (auth.bp, home.bp, admin.bp, roster.bp, notifications_views.bp,
                      notifications_views.notices_bp, wellness_views.bp, evaluations_views.bp):
        app.register_blueprint(blueprint)
    app.after_request(web.security_headers)
    # A failed statement is logged without its values, wherever it is logged from.
    for name in (app.logger.name, "beacon.scheduler", "beacon.imports", "wellness.services.evaluations",
                 "evaluations.services.reviews"):
        logging.getLogger(name).addFilter(web.WITHHELD_DETAILS)
    app.register_error_handler(403, web.render_forbidden)
    app.register_error_handler(Forbidden, web.render_forbidden)
    app.register_error_handler(404, web.render_not_found)
    app.register_error_handler(NotFound, web.render_not_found)
    app.register_error_handler(CSRFError, web.render_csrf_error)
    app.register_error_handler(500, web.render_server_error)
    app.register_error_handler(413, web.render_too_large)
    app.request_class = web.BeaconRequest
    app.jinja_env.globals["page_url"] = web.page_url
    app.jinja_env.globals["select_options"] = web.select_options
    app.jinja_env.filters["local"] = web.local_time_filter(app.config["BEACON_TIMEZONE"])

    web.add_home_panel(app, Role.HR, evaluations.hr_todo, "wellness/home_hr.html")
    web.add_home_panel(app, Role.OFFICER, evaluations.officer_todo, "wellness/home_officer.html")
    web.add_home_panel(app, Role.CLINICIAN, appointments.clinician_todo, "wellness/home_clinician.html")
    web.add_home_panel(app, Role.OFFICER, review_services.todo, "reviews/home_officer.html")
    web.add_home_panel(app, Role.ADMIN, notifications_services.delivery_summary, "notifications/home_admin.html")
    app.extensions["beacon.demo"] = [wellness_demo.seed, evaluations_demo.seed]

    # Periodic jobs, declared as data with fixed ids (see notifications.scheduler).
    scheduler.add_job(app, "outbox-deliver", notifications_services.deliver, "interval", checks_leadership=True,
                      seconds=app.config["SCHEDULER_DELIVERY_SECONDS"])
    scheduler.add_reminder_sweep(app, "wellness", reminders.sweep)
    scheduler.add_reminder_sweep(app, "reviews", review_reminders.sweep)
    scheduler.add_job(app, "reminders", lambda: scheduler.run_reminder_sweeps(app, None), "interval",
                      seconds=app.config["SCHEDULER_REMINDER_SECONDS"])
    scheduler.add_job(app, "wellness-sweep", evaluations.sweep, "cron", hour=app.config["WELLNESS_SWEEP_HOUR"])
    scheduler.add_job(app, "hr-digest", reminders.digest, "cron", hour=app.config["HR_DIGEST_HOUR"])
    scheduler.add_job(app, "import-jobs", imports.work, "interval", checks_leadership=True,
                      seconds=app.config["SCHEDULER_IMPORT_SECONDS"])
    imports.add_kind(app, "roster", roster_services.import_roster)
    imports.add_kind(app, "metrics", evaluations_metrics.import_metrics)

    core_cli.register(app)
    notifications_cli.register(app)
    wellness_cli.register(app)
    evaluations_cli.register(app)
    if app.config["SCHEDULER_EMBEDDED"] and not app.config.get("TESTING"):
        scheduler.start_embedded(app)
    return app
