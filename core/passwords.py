"""Password hashing (argon2id) and the strength rule (zxcvbn)."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn 0..4: 3 is "safely unguessable" for an online attack

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so a miss costs the same time as a hit.
_DUMMY_HASH = _hasher.hash("beacon-timing-equaliser-not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no hash (unknown email, invitation not yet
    accepted) a dummy hash is checked anyway, so timing says nothing."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, user_inputs: list[str]) -> list[str]:
    """Why `password` is refused, in words for the person choosing it (empty if fine).

    No composition rules: length, and whether it is common or guessable from the
    person's own name and email.
    """
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    words = []
    for item in user_inputs:
        if not item:
            continue
        words.append(item)
        words.extend(part for part in item.replace("@", " ").replace(".", " ").split() if len(part) > 2)
    result = zxcvbn(password, user_inputs=words)
    if result["score"] >= MIN_SCORE:
        # zxcvbn forgives a name padded with digits and symbols ("Jane.Doe1985!");
        # judge what is left once the person's own words are taken out.
        rest = password.lower()
        for word in sorted(words, key=len, reverse=True):
            if len(word) > 2:
                rest = rest.replace(word.lower(), "")
        if rest == password.lower() or zxcvbn(rest)["score"] >= MIN_SCORE:
            return []
        return ["This password is built from your own name or email. A few unrelated words make a strong password."]
    feedback = result.get("feedback") or {}
    hint = feedback.get("warning") or "This password is too easy to guess."
    suggestions = " ".join(feedback.get("suggestions") or [])
    return [f"{hint} {suggestions}".strip() + " A few unrelated words make a strong password."]
