"""The one SQLAlchemy handle and the column types every model shares."""
from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from core.errors import NotFound

# Stable constraint names, so Alembic revisions can name what they change.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so the value is stored
    as naive UTC and given back as aware UTC. Naive datetimes are refused: a time
    without a zone is a bug waiting for a daylight-saving change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def get_or_404(model, ident, message: str = "Not found.", **options):
    """The row of `model` with primary key `ident`, or NotFound (the 404 page) with
    `message`. `options` go to Session.get (e.g. `options=[defer(...)]`)."""
    row = db.session.get(model, ident, **options) if ident is not None else None
    if row is None:
        raise NotFound(message)
    return row


def utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def enum_of(cls, name: str) -> Enum:
    """A column type for a Python enum, stored by value ("active", not "ACTIVE")."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True)


def upsert_insert(model):
    """An INSERT for the current database that supports ON CONFLICT DO NOTHING
    (PostgreSQL and SQLite spell it the same through SQLAlchemy)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
