import logging
from logging.config import fileConfig

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.pool import NullPool

from alembic import context
from core import db_roles

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# Keep the application's own loggers working after a migration run in-process.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


_migrations_engine = None


def get_engine():
    """The owner's engine: MIGRATIONS_DATABASE_URL when set (the app itself connects as
    a runtime role that cannot change the schema: core.db_roles), else the app's."""
    global _migrations_engine
    url = current_app.config.get('MIGRATIONS_DATABASE_URL')
    if not url:
        return current_app.extensions['migrate'].db.engine
    if _migrations_engine is None:
        _migrations_engine = sa.create_engine(url, poolclass=NullPool)
    return _migrations_engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    # Note each revision applied, so that the runtime role's grants are reapplied after
    # a migration (not after `db current` and the like).
    applied = []
    on_version_apply = conf_args.get("on_version_apply")

    def note_applied(**kw):
        applied.append(kw["step"])
        if on_version_apply is not None:
            on_version_apply(**kw)

    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **{**conf_args, "on_version_apply": note_applied}
        )

        with context.begin_transaction():
            context.run_migrations()
            # The migrations may have made tables the runtime role has no grants on:
            # reapply them, in the same transaction (core.db_roles).
            role = db_roles.runtime_role(current_app.config)
            if role and applied:
                done, message = db_roles.after_migrations(connection, role)
                (logger.info if done else logger.warning)(message)


if context.is_offline_mode():
    run_migrations_offline()
else:
    try:
        run_migrations_online()
    finally:
        if _migrations_engine is not None:
            _migrations_engine.dispose()
            _migrations_engine = None
