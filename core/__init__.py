"""Beacon's shared kernel: database, clock, audit log, permissions, accounts, roster,
the outbox and the scheduler.

`init_app(app)` plugs the kernel in, first of all packages: its pages, the security
headers and error pages every page shares, its home panels and menu entries, its
periodic jobs (outbox delivery, the reminder sweeps the domains register, import jobs)
and its commands. The domains plug themselves in after it the same way.
"""
import logging

from flask_wtf.csrf import CSRFError

from core import backup, cli, db_roles, models, ratelimit, retention, scheduler, web  # noqa: F401  (models: the tables, for Alembic)
from core.converters import BoundedIntConverter
from core.db import db as database  # not "db": that name is the submodule core.db
from core.errors import Forbidden, NotFound
from core.models import Role
from core.services import audit_log, grants, home, imports, outbox, roster as roster_services
from core.views import admin, auth, email_change, home as home_views, outbox as outbox_views, roster, two_step

STAFF = (Role.HR, Role.ADMIN)


def init_app(app) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = web.BeaconRequest
    for blueprint in (auth.bp, two_step.bp, email_change.bp, home_views.bp, admin.bp, roster.bp, outbox_views.bp):
        app.register_blueprint(blueprint)
    app.after_request(web.security_headers)
    # A failed statement is logged without its values, wherever it is logged from.
    for name in (app.logger.name, "beacon.scheduler", "beacon.imports"):
        logging.getLogger(name).addFilter(web.WITHHELD_DETAILS)
    app.register_error_handler(403, web.render_forbidden)
    app.register_error_handler(Forbidden, web.render_forbidden)
    app.register_error_handler(404, web.render_not_found)
    app.register_error_handler(NotFound, web.render_not_found)
    app.register_error_handler(CSRFError, web.render_csrf_error)
    app.register_error_handler(500, web.render_server_error)
    app.register_error_handler(413, web.render_too_large)
    app.register_error_handler(429, ratelimit.render_too_many)
    app.jinja_env.globals["page_url"] = web.page_url
    app.jinja_env.globals["select_options"] = web.select_options
    app.jinja_env.globals["navigation"] = web.navigation
    app.jinja_env.filters["local"] = web.local_time_filter(app.config["BEACON_TIMEZONE"])
    app.jinja_env.filters["counted"] = web.counted

    web.add_home_panel(app, Role.ADMIN, home.admin_summary, "home/home_admin.html")
    web.add_home_panel(app, Role.HR, home.hr_summary, "home/home_hr.html")
    web.add_home_panel(app, Role.OFFICER, home.officer_summary, "home/home_officer.html")
    web.add_home_panel(app, Role.ADMIN, outbox.delivery_summary, "outbox/home_admin.html")
    web.add_home_panel(app, Role.ADMIN, grants.home_summary, "admin/grants_home.html")

    # The menu: orders 10-19 roster, 40-49 notices, 60-69 administration (domains fill the gaps).
    web.add_nav(app, "Home", "home.index", order=0)
    web.add_nav(app, "Roster", "roster.index", roles=STAFF, group="Roster", order=10)
    web.add_nav(app, "Import roster", "roster.import_file", roles=(Role.HR,), group="Roster", order=11)
    web.add_nav(app, "Accounts", "admin.accounts_list", roles=(Role.ADMIN,), order=60)
    web.add_nav(app, "Role approvals", "admin.grants_pending", roles=(Role.ADMIN,), order=60)
    web.add_nav(app, "Access review", "admin.access_review", roles=(Role.ADMIN,), order=61)
    web.add_nav(app, "Audit log", "admin.audit", roles=(Role.ADMIN,), order=62)
    web.add_nav(app, "Outbox", "outbox.index", roles=(Role.ADMIN,), order=63)

    # Periodic jobs, declared as data with fixed ids (see core.scheduler). "reminders"
    # runs every sweep the domains add with scheduler.add_reminder_sweep.
    scheduler.add_job(app, "outbox-deliver", outbox.deliver, "interval", checks_leadership=True,
                      seconds=app.config["SCHEDULER_DELIVERY_SECONDS"])
    scheduler.add_job(app, "reminders", lambda: scheduler.run_reminder_sweeps(app, None), "interval",
                      seconds=app.config["SCHEDULER_REMINDER_SECONDS"])
    scheduler.add_job(app, "import-jobs", imports.work, "interval", checks_leadership=True,
                      seconds=app.config["SCHEDULER_IMPORT_SECONDS"])
    # Requests for a privileged role lapse after 7 days: once a day (and lazily when looked at).
    scheduler.add_job(app, "grants-expire", grants.sweep, "cron", hour=3, minute=17)
    # The audit log's hash chains are walked once a day; administrators hear of a break.
    scheduler.add_job(app, "audit-verify", audit_log.check_chain, "cron", hour=4, minute=7)
    # A daily backup into BACKUP_DIR, when it is set (core.backup.daily).
    scheduler.add_job(app, "backup", lambda: backup.daily(app), "cron", hour=2, minute=30)
    # The retention schedule (core.retention), after the night's backup.
    scheduler.add_job(app, "retention", lambda: retention.apply(database.engine, app.config), "cron", hour=3, minute=40)
    imports.add_kind(app, "roster", roster_services.import_roster)
    cli.register(app)
    app.cli.add_command(db_roles.db_roles_cli)  # flask db-roles grant ROLE
