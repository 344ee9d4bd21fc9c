"""Anonymity against whoever holds the database (issue 14, part 6).

Held reviews are sealed under REVIEW_SEAL_KEY, a key of their own: SECRET_KEY does
not open them. Submitting an anonymous review is two transactions: the rater's (the
assignment and the audit entry) and the held review's, which touches nothing of the
rater; if the second fails, the assignment is put back. A release writes the batch
afresh and, on PostgreSQL, VACUUMs held_reviews, so no dead held row keeps the
transaction id that wrote it. No draft column of anonymous reviews is left anywhere.
"""
import json
import logging
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

import config as settings
from core.db import db
from core.errors import DomainError
from core.models import AuditEntry
from evaluations import seal
from evaluations.models import AnonymousReview, AssignmentStatus, CycleStatus, HeldReview, ReviewCycle
from evaluations.services import reviews
from tests import factories
from tests.integration.test_reviews import assignments, submit

ROOT = Path(__file__).resolve().parents[2]


def _upward(n=3, threshold=3):
    t = factories.team(reports=n)
    cycle = factories.review_cycle(threshold=threshold)
    return t, cycle, [assignments(cycle, rater_id=m.id, group="direct_report")[0] for m in t.members]


def _old_key(secret: str, purpose: str) -> bytes:
    """The key seal.py derived from SECRET_KEY before REVIEW_SEAL_KEY existed."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"beacon-reviews",
                info=purpose.encode()).derive(secret.encode())


def _old_seal(secret: str, value: dict, purpose: str) -> bytes:
    plain = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    padded = plain + b"\n" + b" " * (seal.SIZE - len(plain) - 1)
    nonce = os.urandom(seal.NONCE)
    return nonce + AESGCM(_old_key(secret, purpose)).encrypt(nonce, padded, purpose.encode())


# --- the key -----------------------------------------------------------------------------------

def test_a_held_review_opens_with_review_seal_key_and_not_with_secret_key(app):
    t, cycle, (first, second, _) = _upward()
    submit(cycle, first, comment="HELD-WORDS")
    [blob] = db.session.scalars(select(HeldReview.sealed)).all()
    purpose = f"held:{cycle.id}:{t.sergeant.id}:direct_report"
    assert b"HELD-WORDS" not in blob
    assert seal.unseal(blob, purpose)["comment"] == "HELD-WORDS"            # the key opens it
    # SECRET_KEY alone does not: neither the old derivation from it ...
    with pytest.raises(InvalidTag):
        AESGCM(_old_key(app.config["SECRET_KEY"], purpose)).decrypt(blob[:12], blob[12:], purpose.encode())
    # ... nor SECRET_KEY given where REVIEW_SEAL_KEY goes, nor any other REVIEW_SEAL_KEY.
    for other in (app.config["SECRET_KEY"], "another-review-seal-key-of-enough-length"):
        app.config["REVIEW_SEAL_KEY"] = other
        with pytest.raises(seal.Unreadable):
            seal.unseal(blob, purpose)
    for damaged in (b"", b"short", blob[:-1] + bytes([blob[-1] ^ 1])):
        with pytest.raises(seal.Unreadable):
            seal.unseal(damaged, purpose)


def test_reviews_held_under_an_old_key_are_reported_unreadable_and_never_crash(app, caplog):
    t, cycle, raters = _upward(n=3, threshold=3)
    purpose = f"held:{cycle.id}:{t.sergeant.id}:direct_report"
    db.session.add(HeldReview(id=uuid.uuid4(), cycle_id=cycle.id, subject_id=t.sergeant.id, group=raters[0].group,
                              sealed=_old_seal(app.config["SECRET_KEY"], {"scores": {}, "comment": "OLD"}, purpose)))
    db.session.commit()
    submit(cycle, raters[0], comment="one")
    submit(cycle, raters[1], comment="two")      # 3 held, 1 unreadable: fewer than 3 to release, all stay held
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 3
    assert db.session.scalar(select(func.count()).select_from(AnonymousReview)) == 0
    assert "could not be unsealed (REVIEW_SEAL_KEY changed?)" in caplog.text
    outcome = reviews.release(cycle.id, t.sergeant.id, "direct_report")
    assert (outcome.released, outcome.unreadable) == (0, 1)
    db.session.rollback()
    submit(cycle, raters[2], comment="three")
    assert sorted(db.session.scalars(select(AnonymousReview.comment))) == ["one", "three", "two"]
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 1   # the old one, kept, not lost


def test_production_refuses_to_start_without_its_own_review_seal_key(tmp_path):
    base = {"BEACON_ENV": "production", "SECRET_KEY": "s" * 40}
    with pytest.raises(RuntimeError, match="REVIEW_SEAL_KEY is not set"):
        settings.validate(settings.load(str(tmp_path), base))
    for bad in ("r" * 31, "s" * 40):                      # too short; the same as SECRET_KEY
        with pytest.raises(RuntimeError, match="REVIEW_SEAL_KEY must be at least 32 characters"):
            settings.validate(settings.load(str(tmp_path), base | {"REVIEW_SEAL_KEY": bad}))
    good = settings.load(str(tmp_path), base | {"REVIEW_SEAL_KEY": "r" * 32})
    settings.validate(good)
    assert good["REVIEW_SEAL_KEY"] == "r" * 32


def test_development_generates_the_seal_key_once_apart_from_the_database_and_secret_key(tmp_path):
    instance, home = tmp_path / "instance", tmp_path / "config-home"
    first = settings.load(str(instance), {"XDG_CONFIG_HOME": str(home)})
    again = settings.load(str(instance), {"XDG_CONFIG_HOME": str(home)})
    assert first["REVIEW_SEAL_KEY"] == again["REVIEW_SEAL_KEY"] != first["SECRET_KEY"]
    assert len(first["REVIEW_SEAL_KEY"]) >= 32
    key_file = home / "beacon" / "review_seal_key"
    assert key_file.read_text() == first["REVIEW_SEAL_KEY"] and key_file.stat().st_mode & 0o077 == 0
    # instance/ (the demo's beacon.db and secret_key) holds no copy of it.
    assert first["SQLALCHEMY_DATABASE_URI"].endswith(str(instance / "beacon.db"))
    assert not any(first["REVIEW_SEAL_KEY"] in p.read_text() for p in instance.rglob("*") if p.is_file())
    # An explicit key wins and writes nothing.
    other = tmp_path / "elsewhere"
    assert settings.load(str(instance), {"XDG_CONFIG_HOME": str(other), "REVIEW_SEAL_KEY": "k" * 40}
                         )["REVIEW_SEAL_KEY"] == "k" * 40
    assert not other.exists()


# --- two transactions ----------------------------------------------------------------------------

class Transactions:
    """The tables each transaction on the app's engine wrote, in order."""

    WRITE = ("INSERT INTO ", "UPDATE ", "DELETE FROM ")

    def __init__(self):
        self.done: list[set] = []
        self.open: set = set()

    def statement(self, conn, cursor, statement, parameters, context, executemany):
        text = " ".join(statement.split())
        for verb in self.WRITE:
            if text.upper().startswith(verb):
                self.open.add(text[len(verb):].split(" ", 1)[0].strip('"'))

    def commit(self, conn):
        if self.open:
            self.done.append(self.open)
        self.open = set()

    def rollback(self, conn):
        self.open = set()


@pytest.fixture
def transactions(app):
    seen = Transactions()
    sa.event.listen(db.engine, "before_cursor_execute", seen.statement)
    sa.event.listen(db.engine, "commit", seen.commit)
    sa.event.listen(db.engine, "rollback", seen.rollback)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", seen.statement)
    sa.event.remove(db.engine, "commit", seen.commit)
    sa.event.remove(db.engine, "rollback", seen.rollback)


def _xmins(sql):
    return set(db.session.execute(sa.text(sql)).scalars())


def test_the_held_review_is_written_in_a_transaction_that_touches_nothing_of_the_rater(app, transactions):
    t, cycle, raters = _upward(n=3, threshold=3)
    submit(cycle, raters[0], comment="first")
    rater_tx, held_tx = transactions.done[-2:]
    assert {"review_assignments", "audit_entries"} <= rater_tx and "held_reviews" not in rater_tx
    assert "held_reviews" in held_tx and not held_tx & {"review_assignments", "audit_entries", "reviews", "users"}
    submit(cycle, raters[1], comment="second")
    if db.engine.dialect.name == "postgresql":
        held = _xmins("SELECT xmin::text FROM held_reviews")
        rater = _xmins("SELECT xmin::text FROM review_assignments WHERE status = 'submitted'")
        audit = _xmins("SELECT xmin::text FROM audit_entries WHERE action = 'review.submit'")
        # The second holding transaction rewrote the first review with its own: both held
        # rows carry its xmin, so neither can be told to be the one just submitted.
        assert len(held) == 1 and len(rater) == 2 and len(audit) == 2
        assert not held & (rater | audit)
    # The third submission releases the batch in the held review's transaction, apart from the rater's.
    transactions.done.clear()
    submit(cycle, raters[2], comment="third")
    rater_tx, release_tx = transactions.done[:2]
    assert "anonymous_reviews" not in rater_tx and "held_reviews" not in rater_tx
    assert {"held_reviews", "anonymous_reviews"} <= release_tx and "review_assignments" not in release_tx
    if db.engine.dialect.name == "postgresql":
        released = _xmins("SELECT xmin::text FROM anonymous_reviews")
        assert len(released) == 1 and not released & (_xmins("SELECT xmin::text FROM review_assignments")
                                                      | _xmins("SELECT xmin::text FROM audit_entries"))


class RefuseHeldInsert:
    """The database refuses the INSERT of a held review (a full disk, a dropped connection)."""

    def __init__(self):
        self.on = True

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and statement.lstrip().upper().startswith("INSERT INTO HELD_REVIEWS"):
            raise sa.exc.OperationalError(statement, {}, Exception("disk full"))


def test_a_review_that_cannot_be_held_is_not_submitted_and_the_rater_is_asked_to_submit_again(app, auth):
    t, cycle, raters = _upward(n=3, threshold=3)
    mine = raters[0]
    auth.login(t.users[t.members[0].id].email)
    url = f"/reviews/assignments/{mine.id}"
    form = {f"c{c.id}": "4" for c in factories.criteria_for(cycle, "direct_report")}
    form |= {"comment": "TRY-AGAIN-WORDS", "submit_review": "1"}
    refuse = RefuseHeldInsert()
    sa.event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        response = auth.post(url, form, form_page=url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", refuse)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "could not be stored, so it has not been submitted. Please submit it again." in page
    assert "TRY-AGAIN-WORDS" in page                                    # what they wrote is still in the form
    db.session.refresh(mine)
    assert mine.status == AssignmentStatus.PENDING
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 0
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("review.%"))
                                                    .order_by(AuditEntry.id))]
    assert actions == ["review.submit", "review.submit_undone"]
    # Submitted again, it counts once; a third try is refused.
    assert auth.post(url, form, form_page=url).status_code == 302
    db.session.refresh(mine)
    assert mine.status == AssignmentStatus.SUBMITTED
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 1
    with pytest.raises(DomainError, match="has been submitted"):
        submit(cycle, mine, comment="again")
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 1


def test_a_cycle_closed_between_the_two_transactions_gets_no_stray_held_review(app, monkeypatch):
    t, cycle, raters = _upward(n=3, threshold=3)
    real = reviews._hold

    def closing_first(cycle_id, *args):
        db.session.get(ReviewCycle, cycle_id).status = CycleStatus.CLOSED     # HR's close, in between
        db.session.commit()
        return real(cycle_id, *args)
    monkeypatch.setattr(reviews, "_hold", closing_first)
    with pytest.raises(DomainError, match="closed before your review could be stored"):
        submit(cycle, raters[0], comment="late")
    db.session.refresh(raters[0])
    assert raters[0].status == AssignmentStatus.PENDING
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 0


# --- release and VACUUM --------------------------------------------------------------------------

def _pages_xmins(owner, relation):
    """The xmin of every tuple, live or dead, in the pages of `relation` (pageinspect)."""
    return set(owner.execute(sa.text(
        "SELECT t_xmin::text FROM generate_series(0, (pg_relation_size(CAST(:r AS regclass)) / "
        "current_setting('block_size')::int) - 1) AS p, page_inspect.heap_page_items("
        "page_inspect.get_raw_page(CAST(:r AS text), p::int)) WHERE t_xmin IS NOT NULL"), {"r": relation}).scalars())


@pytest.fixture
def pageinspect(app):
    """The owner's connection (the test server's superuser), with pageinspect in a schema of its own."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("xmin and VACUUM are PostgreSQL's")
    engine = sa.create_engine(app.config["MIGRATIONS_DATABASE_URL"], poolclass=NullPool,
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as owner:
        try:
            owner.execute(sa.text("CREATE SCHEMA page_inspect"))
            owner.execute(sa.text("CREATE EXTENSION pageinspect SCHEMA page_inspect"))
        except sa.exc.DBAPIError as exc:
            pytest.skip(f"pageinspect is not available here: {exc.orig}")
        try:
            yield owner
        finally:
            owner.execute(sa.text("DROP SCHEMA page_inspect CASCADE"))
    engine.dispose()


def test_after_a_release_no_dead_held_row_keeps_the_transaction_that_held_it(app, pageinspect, monkeypatch):
    t, cycle, raters = _upward(n=3, threshold=3)
    ran = []
    monkeypatch.setattr(reviews, "vacuum_held", lambda: ran.append(1))
    submit(cycle, raters[0], comment="a")
    submit(cycle, raters[1], comment="b")
    held = _xmins("SELECT xmin::text FROM held_reviews")
    toast = db.session.execute(sa.text("SELECT reltoastrelid::regclass::text FROM pg_class "
                                       "WHERE oid = 'held_reviews'::regclass")).scalar()
    db.session.commit()
    assert len(held) == 1 and held <= _pages_xmins(pageinspect, "held_reviews")   # one xmin: see above
    submit(cycle, raters[2], comment="c")                       # the release deletes the held rows
    assert len(ran) == 3                                        # every submission asked for VACUUM
    assert db.session.scalar(select(func.count()).select_from(HeldReview)) == 0
    db.session.commit()
    # Without VACUUM the deleted rows are still in the table's pages, with their xmin.
    assert held <= _pages_xmins(pageinspect, "held_reviews") | _pages_xmins(pageinspect, toast)
    monkeypatch.undo()
    assert reviews.vacuum_held() is True
    assert not held & (_pages_xmins(pageinspect, "held_reviews") | _pages_xmins(pageinspect, toast))
    stats = pageinspect.execute(sa.text("SELECT vacuum_count FROM pg_stat_user_tables "
                                        "WHERE relname = 'held_reviews'")).scalar()
    assert stats >= 1


def test_the_submit_path_vacuums_after_a_release(app, pageinspect):
    t, cycle, raters = _upward(n=3, threshold=3)
    for rater, text in zip(raters, "abc"):
        if rater is raters[-1]:
            held = _xmins("SELECT xmin::text FROM held_reviews")
            db.session.commit()
        submit(cycle, rater, comment=text)
    toast = db.session.execute(sa.text("SELECT reltoastrelid::regclass::text FROM pg_class "
                                       "WHERE oid = 'held_reviews'::regclass")).scalar()
    db.session.commit()
    assert len(held) == 1
    assert not held & (_pages_xmins(pageinspect, "held_reviews") | _pages_xmins(pageinspect, toast))


def test_the_runtime_role_alone_cannot_vacuum_and_says_so(app, caplog):
    if db.engine.dialect.name != "postgresql":
        assert reviews.vacuum_held() is False           # SQLite: no xmin, nothing to do
        return
    app.config["MIGRATIONS_DATABASE_URL"] = None       # the server without the owner's URL
    caplog.set_level(logging.WARNING)
    assert reviews.vacuum_held() is False
    assert "held_reviews was not vacuumed: the runtime role does not own it" in caplog.text


# --- no server-side draft left ----------------------------------------------------------------------

def test_no_draft_column_of_anonymous_reviews_is_left_anywhere(app):
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("review_assignments")}
    assert "sealed" + "_draft" not in columns
    needle = "sealed" + "_draft"
    found = [str(p.relative_to(ROOT)) for folder in ("core", "evaluations", "templates", "static", "tests", "notices",
                                                     "wellness")
             for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".js", ".txt")
             and needle in p.read_text(errors="replace")]
    assert found == []


def test_postgresql_autovacuums_held_reviews_at_the_first_dead_row(app):
    """The runtime role may not VACUUM: the migration set autovacuum to act on the
    first dead held row, so the old versions of rewritten or released rows do not wait
    for the default 20% of the table."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's autovacuum")
    options = db.session.scalar(sa.text("SELECT reloptions FROM pg_class WHERE oid = 'held_reviews'::regclass"))
    assert {"autovacuum_vacuum_threshold=0", "autovacuum_vacuum_scale_factor=0"} <= set(options)
