"""Sealing anonymous reviews while they wait: AES-GCM under a key derived from
SECRET_KEY, so someone reading the database alone cannot read a draft or a held
review, nor tie its content to the transaction that wrote it.

No timestamp goes in (Fernet tokens carry one in clear, so they are not used), and
every sealed value is padded to the same length, so its size says nothing about the
comment inside.
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


class Unreadable(Exception):
    """The sealed value was written under another SECRET_KEY (or was altered)."""


def _key(purpose: str) -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"beacon-reviews",
                info=purpose.encode()).derive(secret)


def seal(value: dict, purpose: str) -> bytes:
    plain = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    if len(plain) + 1 > SIZE:
        raise ValueError("review too large to seal")
    padded = plain + b"\n" + b" " * (SIZE - len(plain) - 1)
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(_key(purpose)).encrypt(nonce, padded, purpose.encode())


def unseal(blob: bytes, purpose: str) -> dict:
    try:
        padded = AESGCM(_key(purpose)).decrypt(blob[:NONCE], blob[NONCE:], purpose.encode())
    except (InvalidTag, ValueError) as exc:
        raise Unreadable(str(exc) or "invalid tag") from None
    return json.loads(padded.split(b"\n", 1)[0])
