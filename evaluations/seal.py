"""Sealing anonymous reviews while they are held: AES-GCM under a key derived from
REVIEW_SEAL_KEY, a key of their own (not SECRET_KEY, and kept apart from the database
and its backups), so someone with the database, even with SECRET_KEY, cannot read a
held review.

No timestamp goes in (Fernet tokens carry one in clear, so they are not used), and
every sealed value is padded to the same length, so its size says nothing about the
comment inside. A value sealed under another key (the SECRET_KEY-derived key used
before REVIEW_SEAL_KEY existed, or a key since changed) or altered is Unreadable.
"""
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

SIZE = 16384  # bytes after padding: a 2,000-character comment is at most 12,000 bytes of JSON
NONCE = 12
SALT = b"beacon-review-seal"


class Unreadable(Exception):
    """The sealed value was written under another REVIEW_SEAL_KEY (or was altered)."""


def _key(purpose: str) -> bytes:
    secret = current_app.config.get("REVIEW_SEAL_KEY")
    if not secret:
        raise RuntimeError("REVIEW_SEAL_KEY is not set")
    secret = secret.encode() if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=purpose.encode()).derive(secret)


def seal(value: dict, purpose: str) -> bytes:
    plain = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    if len(plain) + 1 > SIZE:
        raise ValueError("review too large to seal")
    padded = plain + b"\n" + b" " * (SIZE - len(plain) - 1)
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(_key(purpose)).encrypt(nonce, padded, purpose.encode())


def unseal(blob: bytes, purpose: str) -> dict:
    try:
        blob = bytes(blob or b"")
        padded = AESGCM(_key(purpose)).decrypt(blob[:NONCE], blob[NONCE:], purpose.encode())
        return json.loads(padded.split(b"\n", 1)[0])
    except (InvalidTag, ValueError, TypeError) as exc:   # json's errors are ValueErrors too
        raise Unreadable(str(exc) or "invalid tag") from None
