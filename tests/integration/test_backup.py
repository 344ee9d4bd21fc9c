"""Backups (issue 13, part 3): a consistent snapshot with a manifest of row counts and
the audit chain's heads, optionally encrypted; verified without restoring; restored
into an empty database with the counts and the chain checked again; a daily job that
keeps the newest few. On SQLite and on PostgreSQL (pg_dump/pg_restore)."""
import os
import tarfile
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from core import audit_chain, backup
from core.db import db
from core.models import AuditEntry
from core.services import demo
from tests.conftest import PG_URL

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def department(app):
    demo.seed()
    return app


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A new, empty database of the same kind, and an engine on it (as its owner)."""
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'restored.db'}")
        yield engine
        engine.dispose()
        return
    server = sa.make_url(PG_URL)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"beacon_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(server.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def owner_engine():
    """The app's database as its owner (the suite may run as a runtime role without
    the rights pg_dump needs on every table)."""
    if db.engine.dialect.name == "sqlite":
        return db.engine
    return sa.create_engine(sa.make_url(PG_URL).set(database=db.engine.url.database))


def test_a_backup_of_the_demo_restores_with_the_same_rows_and_a_chain_that_holds(department, empty_database,
                                                                                tmp_path):
    source = owner_engine()
    made = backup.create(tmp_path / "demo.backup", source)
    assert made.manifest["counts"]["officers"] > 50 and made.manifest["audit_heads"]["general"]["seq"] > 0
    assert backup.verify(tmp_path / "demo.backup")["checked"].startswith("the payload's hash")
    restored = backup.restore(tmp_path / "demo.backup", empty_database)
    with empty_database.connect() as conn:
        assert backup.census(conn)["counts"] == made.manifest["counts"]
        assert audit_chain.verify(conn).ok
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() \
            == restored.manifest["revision"] == made.manifest["revision"]
    if source is not db.engine:
        source.dispose()


def test_an_encrypted_backup_needs_its_passphrase(department, empty_database, tmp_path):
    source = owner_engine()
    path = tmp_path / "secret.backup"
    backup.create(path, source, PASSPHRASE)
    with tarfile.open(path) as tar:  # nothing readable inside but the manifest
        payload = tar.extractfile(backup.read_manifest(path)["payload"]).read()
    assert b"officers" not in payload and b"beacon-pd.example" not in payload
    assert "encrypted" in backup.verify(path)["checked"]
    with pytest.raises(backup.BackupError, match="give its passphrase"):
        backup.restore(path, empty_database)
    with pytest.raises(backup.BackupError, match="passphrase is not right"):
        backup.restore(path, empty_database, "not the passphrase at all")
    backup.restore(path, empty_database, PASSPHRASE)
    with empty_database.connect() as conn:
        assert audit_chain.verify(conn).ok
    if source is not db.engine:
        source.dispose()


def test_a_damaged_backup_is_refused(department, tmp_path):
    source = owner_engine()
    path = tmp_path / "damaged.backup"
    backup.create(path, source)
    with tarfile.open(path) as tar:
        offset = tar.getmember(backup.read_manifest(path)["payload"]).offset_data
    with open(path, "r+b") as f:
        f.seek(offset + 200)
        byte = f.read(1)
        f.seek(offset + 200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(backup.BackupError, match="does not match its manifest"):
        backup.verify(path)
    (tmp_path / "not.backup").write_text("hello")
    with pytest.raises(backup.BackupError, match="is not a Beacon backup"):
        backup.verify(tmp_path / "not.backup")
    if source is not db.engine:
        source.dispose()


def test_restore_refuses_a_database_that_is_not_empty(department, tmp_path):
    source = owner_engine()
    backup.create(tmp_path / "x.backup", source)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(tmp_path / "x.backup", source)
    if source is not db.engine:
        source.dispose()


def test_the_commands_and_the_daily_job(department, runner, tmp_path, app):
    """As the app connects (on PostgreSQL the runtime role: reading every table is all
    a backup needs)."""
    result = runner.invoke(args=["backup", "create", str(tmp_path / "cli.backup")])
    assert result.exit_code == 0, result.output
    assert "rows in" in result.output
    checked = runner.invoke(args=["backup", "verify", str(tmp_path / "cli.backup")])
    assert checked.exit_code == 0 and ("the audit chain: good" in checked.output  # SQLite: read through
                                       or "pg_restore reads the dump: good" in checked.output)
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "backup.created")).one().target \
        == "cli.backup"

    app.config.update(BACKUP_DIR=str(tmp_path / "daily"), BACKUP_KEEP=2)
    made = [backup.daily(app) for _ in range(3)]
    kept = sorted(os.listdir(tmp_path / "daily"))
    assert kept == sorted(p.name for p in made[1:])
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "backup.created")).all()) == 4


def test_a_backup_is_for_its_owner_only_and_its_manifest_cannot_be_swapped(department, tmp_path):
    source = owner_engine()
    plain, secret = tmp_path / "plain.backup", tmp_path / "secret.backup"
    backup.create(plain, source)
    backup.create(secret, source, PASSPHRASE)
    assert oct(plain.stat().st_mode & 0o777) == "0o600" and not list(tmp_path.glob("*.partial"))
    # Someone who can write the folder swaps in a plain backup of their own making:
    # given the passphrase, it is refused rather than restored quietly.
    with pytest.raises(backup.BackupError, match="not encrypted"):
        backup.verify(plain, PASSPHRASE)
    # ... or edits the encrypted one's manifest (a count, here): its HMAC no longer holds.
    import io
    import json
    with tarfile.open(secret) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        payload = tar.extractfile(manifest["payload"]).read()
    manifest["counts"]["officers"] += 1
    edited = tmp_path / "edited.backup"
    with tarfile.open(edited, "w") as tar:
        for name, data in (("manifest.json", json.dumps(manifest).encode()), (manifest["payload"], payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(backup.BackupError, match="manifest was changed"):
        backup.verify(edited, PASSPHRASE)
    if source is not db.engine:
        source.dispose()
