"""Backups that can be checked and restored: `flask --app app backup create|verify|restore`.

A backup is one file, a tar archive of two members:
- `manifest.json`: when and from what it was taken (database kind, Alembic revision),
  the row count of every table and the audit chain's heads at that moment, and the
  SHA-256 of the payload as stored (so a damaged or altered file is found without the
  passphrase);
- the payload: a consistent snapshot of the database. SQLite: a copy made with SQLite's
  online backup API (the app may go on writing meanwhile). PostgreSQL: `pg_dump` in
  custom format, taken in the same snapshot as the counts and heads (`--snapshot`).
  With a passphrase the payload is encrypted (AES-256-GCM in 1 MiB chunks, the key
  derived with scrypt); the manifest stays readable.

Restoring needs an empty database. It loads the payload (SQLite: the file;
PostgreSQL: `pg_restore`, which creates the tables, loads the rows, then adds the
indexes and the audit log's triggers, so rows load without firing them), counts the
rows again against the manifest and walks the audit chain, whose head must be the one
the manifest holds. What a backup does not hold is REVIEW_SEAL_KEY, which seals the
anonymous reviews held back until a cycle closes (and SECRET_KEY, which signs
sessions): keep them with the backups, apart from them.
"""
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core import audit_chain
from core.db import db
from core.errors import DomainError

FORMAT = 1
MANIFEST = "manifest.json"
MAGIC = b"BEACONENC1"
CHUNK = 1 << 20


class BackupError(DomainError):
    pass


@dataclass
class Result:
    path: Path
    manifest: dict
    seconds: float = 0.0


# --- encryption -------------------------------------------------------------------------

def _key(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def encrypt_file(source: Path, target: Path, passphrase: str) -> None:
    """AES-256-GCM, chunk by chunk (a large dump never sits in memory whole); each
    chunk's nonce and associated data carry its number and whether it is the last, so
    chunks cannot be dropped, reordered or cut off unnoticed."""
    salt, prefix = secrets.token_bytes(16), secrets.token_bytes(4)
    aes = AESGCM(_key(passphrase, salt))
    with open(source, "rb") as src, open(target, "wb") as out:
        out.write(MAGIC + salt + prefix)
        index, chunk = 0, src.read(CHUNK)
        while True:
            following = src.read(CHUNK)
            last = not following
            sealed = aes.encrypt(prefix + struct.pack(">Q", index), chunk, struct.pack(">Q?", index, last))
            out.write(struct.pack(">I", len(sealed)) + sealed)
            if last:
                break
            index, chunk = index + 1, following


def decrypt_file(source: Path, target: Path, passphrase: str) -> None:
    with open(source, "rb") as src, open(target, "wb") as out:
        head = src.read(len(MAGIC) + 20)
        if not head.startswith(MAGIC):
            raise BackupError("This payload is not encrypted by Beacon.")
        salt, prefix = head[len(MAGIC):len(MAGIC) + 16], head[len(MAGIC) + 16:]
        aes = AESGCM(_key(passphrase, salt))
        index, last = 0, False
        while not last:
            size = src.read(4)
            if len(size) < 4:
                raise BackupError("The backup is cut short: its last part is missing.")
            length = struct.unpack(">I", size)[0]
            if length > CHUNK + 16:
                raise BackupError("The backup's encrypted payload is malformed: it was changed.")
            sealed = src.read(length)
            for last in (False, True):
                try:
                    out.write(aes.decrypt(prefix + struct.pack(">Q", index), sealed, struct.pack(">Q?", index, last)))
                    break
                except InvalidTag:
                    if last:
                        raise BackupError("The passphrase is not right, or the backup was changed.") from None
            index += 1
        if src.read(1):
            raise BackupError("The backup has data after its last part: it was changed.")


def _sqlite_copy(source, target) -> None:
    """A consistent copy of one SQLite database into another, with SQLite's online
    backup API (the source may be written meanwhile)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def describe(manifest: dict) -> str:
    """A backup in a few words, for its audit entry."""
    return (f"{manifest['payload_bytes']} bytes, {sum(manifest['counts'].values())} rows, "
            + ("encrypted" if manifest["encrypted"] else "not encrypted"))


def _manifest_mac(manifest: dict, passphrase: str) -> str:
    """An HMAC of the manifest (all but the MAC itself) under a key from the passphrase."""
    body = json.dumps({k: v for k, v in manifest.items() if k != "manifest_hmac"}, sort_keys=True).encode()
    key = _key(passphrase, bytes.fromhex(manifest["manifest_salt"]))
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _write_privately(path: Path, members) -> None:
    """The archive at `path`, readable by its owner only (it holds password hashes and
    health records), written beside it, flushed to disk, then moved into place, so a
    crash never leaves a partial file under the name. A failed write leaves nothing."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w") as tar:
                for source, name in members:
                    tar.add(source, arcname=name)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# --- what the database holds ------------------------------------------------------------------

def _tables(connection) -> list[str]:
    names = set(sa.inspect(connection).get_table_names())
    return sorted(names)


def census(connection) -> dict:
    """Row counts of every table, the Alembic revision and the audit chain's heads."""
    counts = {t: connection.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in _tables(connection)}
    revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() \
        if "alembic_version" in counts else None
    heads = {row.log: {"seq": row.seq, "entry_hash": row.entry_hash} for row in connection.execute(
        sa.text("SELECT log, seq, entry_hash FROM audit_chain_heads ORDER BY log"))} \
        if "audit_chain_heads" in counts else {}
    return {"counts": counts, "revision": revision, "audit_heads": heads}


def _libpq(url: sa.engine.URL) -> tuple[str, dict]:
    """A libpq address for pg_dump/pg_restore, and an environment with the password
    (never on the command line, where `ps` shows it)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found on PATH: install PostgreSQL's client tools (postgresql-client).")
    return found


# --- create -----------------------------------------------------------------------------------

def create(path: Path, engine: sa.engine.Engine, passphrase: str | None = None) -> Result:
    """Write a backup of `engine`'s database to `path` (written beside it, then moved
    into place: a crash never leaves half a backup under the name)."""
    started = datetime.now(timezone.utc)
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="beacon-backup-") as work:
        work = Path(work)
        if engine.dialect.name == "sqlite":
            payload = work / "beacon.sqlite"
            _sqlite_copy(engine.url.database, payload)
            check = sa.create_engine(f"sqlite:///{payload}")
            with check.connect() as conn:
                facts = census(conn)
            check.dispose()
        else:
            payload = work / "beacon.pgdump"
            # One snapshot for the counts, the heads and the dump: pg_dump joins this
            # transaction's snapshot while it stays open.
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
                snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
                facts = census(conn)
                address, env = _libpq(engine.url)
                done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                                       f"--snapshot={snapshot}", f"--file={payload}", address],
                                      env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")
        stored = payload
        if passphrase:
            stored = payload.with_name(payload.name + ".enc")
            encrypt_file(payload, stored, passphrase)
        manifest = {"format": FORMAT, "created_at": started.isoformat(timespec="seconds"),
                    "database": engine.dialect.name, "payload": stored.name, "encrypted": bool(passphrase),
                    "payload_sha256": _sha256(stored), "payload_bytes": stored.stat().st_size, **facts}
        if passphrase:  # whoever can write the folder cannot swap in a manifest (or a plain payload) of their own
            manifest["manifest_salt"] = secrets.token_hex(16)
            manifest["manifest_hmac"] = _manifest_mac(manifest, passphrase)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        _write_privately(path, [(work / MANIFEST, MANIFEST), (stored, stored.name)])
    return Result(path, manifest, (datetime.now(timezone.utc) - started).total_seconds())


# --- read, verify, restore ------------------------------------------------------------------------

def read_manifest(path: Path) -> dict:
    try:
        with tarfile.open(path, "r") as tar:
            return json.load(tar.extractfile(MANIFEST))
    except (tarfile.TarError, KeyError, json.JSONDecodeError, OSError) as exc:
        raise BackupError(f"{path} is not a Beacon backup ({exc.__class__.__name__}).") from None


def _unpack(path: Path, work: Path, passphrase: str | None) -> tuple[dict, Path]:
    """The manifest and the payload, checked against the manifest's hash and decrypted."""
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Backup format {manifest.get('format')} is not one this Beacon reads.")
    with tarfile.open(path, "r") as tar:
        member = tar.getmember(manifest["payload"])
        if not member.isfile() or "/" in member.name:
            raise BackupError("The backup's payload is not a plain file.")
        tar.extract(member, work, filter="data")
    stored = work / manifest["payload"]
    if _sha256(stored) != manifest["payload_sha256"]:
        raise BackupError("The backup's payload does not match its manifest: the file was damaged or changed.")
    if not manifest["encrypted"]:
        if passphrase:  # backups made with a passphrase are encrypted: this one may have been swapped
            raise BackupError("A passphrase was given but this backup is not encrypted: it is not one made with "
                              "that passphrase (it may have been replaced). Check where it came from.")
        return manifest, stored
    if not passphrase:
        raise BackupError("This backup is encrypted: give its passphrase (--passphrase-stdin).")
    if not hmac.compare_digest(manifest.get("manifest_hmac", ""), _manifest_mac(manifest, passphrase)) \
            if "manifest_salt" in manifest else True:
        raise BackupError("The passphrase is not right, or the backup's manifest was changed.")
    plain = work / stored.name.removesuffix(".enc")
    decrypt_file(stored, plain, passphrase)
    return manifest, plain


def _compare(manifest: dict, facts: dict) -> list[str]:
    problems = [f"{table}: {count} rows in the backup's manifest, {facts['counts'].get(table)} restored"
                for table, count in manifest["counts"].items() if facts["counts"].get(table) != count]
    if facts["audit_heads"] != manifest["audit_heads"]:
        problems.append("the audit chain's head differs from the one in the manifest")
    return problems


def verify(path: Path, passphrase: str | None = None) -> dict:
    """Check a backup without restoring it: the manifest, the payload's hash, and, when
    it can be read (not encrypted, or with the passphrase), its contents: for SQLite
    the counts and the audit chain, for PostgreSQL that pg_restore can read the dump.
    Returns the manifest with what was checked under "checked"."""
    with tempfile.TemporaryDirectory(prefix="beacon-verify-") as work:
        manifest = read_manifest(path)
        if manifest.get("encrypted") and not passphrase:
            _check_hash_only(path, Path(work), manifest)
            manifest["checked"] = "the payload's hash (encrypted: give the passphrase to check its contents)"
            return manifest
        manifest, payload = _unpack(path, Path(work), passphrase)
        if manifest["database"] == "sqlite":
            engine = sa.create_engine(f"sqlite:///{payload}")
            try:
                with engine.connect() as conn:
                    problems = _compare(manifest, census(conn))
                    report = audit_chain.verify(conn)
            finally:
                engine.dispose()
            if problems:
                raise BackupError("; ".join(problems))
            if not report.ok:
                broken = report.first_problem()
                raise BackupError(f"the audit chain in the backup breaks: {broken.log} log, entry {broken.entry_id}: "
                                  f"{broken.problem}")
            manifest["checked"] = "the payload's hash, every table's row count and the audit chain"
        else:
            listed = subprocess.run([_tool("pg_restore"), "--list", str(payload)], capture_output=True, text=True)
            if listed.returncode != 0:
                raise BackupError(f"pg_restore cannot read the dump: {listed.stderr.strip()[:300]}")
            manifest["checked"] = "the payload's hash and that pg_restore reads the dump"
        return manifest


def _check_hash_only(path: Path, work: Path, manifest: dict) -> None:
    with tarfile.open(path, "r") as tar:
        tar.extract(tar.getmember(manifest["payload"]), work, filter="data")
    if _sha256(work / manifest["payload"]) != manifest["payload_sha256"]:
        raise BackupError("The backup's payload does not match its manifest: the file was damaged or changed.")


def restore(path: Path, engine: sa.engine.Engine, passphrase: str | None = None) -> Result:
    """Restore into `engine`'s database, which must be empty; then check the row counts
    against the manifest and walk the audit chain. Raises BackupError saying what does
    not hold."""
    started = datetime.now(timezone.utc)
    with engine.connect() as conn:
        present = [t for t in _tables(conn)]
    if present:
        raise BackupError(f"The database is not empty ({len(present)} tables, e.g. {present[0]}): restore only "
                          "into a new, empty database.")
    with tempfile.TemporaryDirectory(prefix="beacon-restore-") as work:
        manifest, payload = _unpack(Path(path), Path(work), passphrase)
        if manifest["database"] != engine.dialect.name:
            raise BackupError(f"This is a {manifest['database']} backup; the database here is {engine.dialect.name}.")
        if engine.dialect.name == "sqlite":
            engine.dispose()
            _sqlite_copy(payload, engine.url.database)
        else:
            address, env = _libpq(engine.url)
            done = subprocess.run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                                   "--single-transaction", f"--dbname={address}", str(payload)],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()[:500]}")
    with engine.connect() as conn:
        problems = _compare(manifest, census(conn))
        report = audit_chain.verify(conn)
    if problems:
        raise BackupError("Restored, but " + "; ".join(problems))
    if not report.ok:
        broken = report.first_problem()
        raise BackupError(f"Restored, but the audit chain breaks: {broken.log} log, entry {broken.entry_id}: "
                          f"{broken.problem}")
    return Result(Path(path), manifest, (datetime.now(timezone.utc) - started).total_seconds())


# --- the daily job ------------------------------------------------------------------------------

def daily(app) -> Path | None:
    """The scheduler's backup into BACKUP_DIR (when set), keeping the newest BACKUP_KEEP.
    Audited; a failure is logged and audited, never raised into the scheduler."""
    from core.audit import Actor, record
    folder = app.config.get("BACKUP_DIR")
    if not folder:
        return None
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"beacon-{datetime.now(timezone.utc):%Y%m%d-%H%M%S-%f}.backup"
    actor = Actor.system("backup")
    try:
        result = create(path, db.engine, app.config.get("BACKUP_PASSPHRASE") or None)
    except Exception as exc:  # a failed backup must be seen, not crash the scheduler
        app.logger.error("daily backup failed: %s", exc)
        record(actor, "backup.created", outcome="failure", detail=str(exc)[:500])
        db.session.commit()
        return None
    kept = sorted(folder.glob("beacon-*.backup"))
    for old in kept[:-max(int(app.config.get("BACKUP_KEEP", 14)), 1)]:
        old.unlink()
    record(actor, "backup.created", target=path.name,
           detail=f"{describe(result.manifest)}; {min(len(kept), int(app.config.get('BACKUP_KEEP', 14)))} kept")
    db.session.commit()
    return path
