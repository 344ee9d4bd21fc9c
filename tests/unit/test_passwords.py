"""The password rule: length, not common, not built from the person's own name or email."""
import pytest

from core.passwords import hash_password, password_problems, verify_password

ME = ["Jane Doe", "jane.doe@pd.test"]


@pytest.mark.parametrize("password", ["lantern orbit kettle meadow", "correcthorsebatterystaple",
                                      "my dog eats purple radishes", "Tq7#mW!zR2@vLp"])
def test_strong_passwords_pass(password):
    assert password_problems(password, ME) == []


@pytest.mark.parametrize("password, says", [
    ("short pass", "at least 12"),
    ("a" * 129, "at most 128"),
    ("password12345", "commonly used"),
    ("qwertyuiop123", "very common password"),
    ("Jane.Doe1985!", "your own name or email"),
    ("janedoe@pd.test", "your own name or email"),
    ("aaaaaaaaaaaaaaaa", "Repeats"),
])
def test_weak_passwords_are_refused_with_a_reason(password, says):
    assert says, "each case names the reason it expects"
    problems = password_problems(password, ME)
    assert problems and says in problems[0]


def test_no_composition_rules():
    # Lower-case words only, no digits or symbols: accepted when long and uncommon.
    assert password_problems("river copper fable window", ME) == []


def test_argon2id_hash_and_verify():
    hashed = hash_password("lantern orbit kettle meadow")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "lantern orbit kettle meadow")
    assert not verify_password(hashed, "lantern orbit kettle meadoW")
    assert not verify_password(None, "anything at all here")
    assert not verify_password("not a hash", "anything at all here")
