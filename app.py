"""Beacon's application factory: `flask --app app run`, `flask --app app <command>`."""
from flask import Flask
from flask_bootstrap import Bootstrap5
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
import core
import evaluations
import notices
import oversight
import wellness
from core import ratelimit, scheduler, web
from core.db import db

csrf = CSRFProtect()
migrate = Migrate()
bootstrap = Bootstrap5()


def create_app(config=None):
    app = Flask(__name__, instance_relative_config=True)
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
    ratelimit.init_app(app)

    # Each package adds its pages, menu entries, home panels, jobs and commands; the
    # kernel first (its error pages and headers, the jobs that run the domains' sweeps).
    for package in (core, wellness, evaluations, notices, oversight):
        package.init_app(app)

    # Started once every package has declared its jobs.
    if app.config["SCHEDULER_EMBEDDED"] and not app.config.get("TESTING"):
        scheduler.start_embedded(app)
    return app
