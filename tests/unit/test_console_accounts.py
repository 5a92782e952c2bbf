"""The console's pure rules: the README's permission table, new passwords, TOTP steps,
recovery codes, session timeouts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp

from app.console.accounts import passwords, totp
from app.console.permissions import PERMISSIONS, Permission, Role
from app.console.sessions import expired
from app.settings import ROOT, ConsoleSettings

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def test_the_readme_permission_table_is_the_one_in_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- permissions:start -->", 1)[1].split("<!-- permissions:end -->")[0]
    lines = [line for line in block.strip().splitlines() if line.startswith("| `")]
    header = block.strip().splitlines()[0]
    roles = [Role(r) for r in re.findall(r"\(`(\w+)`\)", header)]
    assert roles == list(Role)
    shown = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        permission = Permission(cells[0].strip("`"))
        shown[permission] = {
            role for role, cell in zip(roles, cells[2:], strict=True) if cell == "✓"
        }
    assert set(shown) == set(Permission)
    for permission, holders in shown.items():
        assert holders == {r for r in Role if permission in PERMISSIONS[r]}, permission


def test_new_passwords_are_long_not_the_email_and_not_common() -> None:
    email = "taro.yamada@example.jp"
    good = "plum blossoms in late winter"
    assert passwords.check_new_password(good, good, email) == {}
    assert (
        "12文字以上"
        in passwords.check_new_password("elevenchars", "elevenchars", email)["password"]
    )
    assert "メールアドレス" in passwords.check_new_password(email, email, email)["password"]
    for common in ("qwerty123456", "1qaz2wsx3edc", "Password1234!", "iloveyou2026"):
        assert "よく使われている" in passwords.check_new_password(common, common, email)["password"]
    assert "password_confirm" in passwords.check_new_password(good, good + "!", email)


def test_argon2id_hashes_verify_and_an_empty_hash_never_does() -> None:
    hashed = passwords.hash_password("plum blossoms in late winter")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "plum blossoms in late winter")
    assert not passwords.verify(hashed, "plum blossoms in late summer")
    assert not passwords.verify("", "anything")
    assert not passwords.verify("not-a-hash", "anything")


def test_totp_accepts_one_step_either_side_and_no_further() -> None:
    secret = totp.new_secret()
    current = int(NOW.timestamp()) // 30
    for offset in (-1, 0, 1):
        assert (
            totp.matching_step(secret, totp.code_at(secret, NOW, offset), NOW) == current + offset
        )
    for offset in (-2, 2):
        code = totp.code_at(secret, NOW, offset)
        if all(code != totp.code_at(secret, NOW, o) for o in (-1, 0, 1)):
            assert totp.matching_step(secret, code, NOW) is None
    assert totp.matching_step(secret, "１２３", NOW) is None
    full_width = totp.code_at(secret, NOW).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    assert totp.matching_step(secret, full_width, NOW) == current
    assert pyotp.TOTP(secret).at(NOW) == totp.code_at(secret, NOW)


def test_recovery_codes_are_ten_distinct_and_hashed_with_a_key() -> None:
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == 10 and all(re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", c) for c in codes)
    key = b"k" * 32
    code = codes[0]
    assert totp.recovery_hash(code, key) == totp.recovery_hash(code.lower().replace("-", " "), key)
    assert totp.recovery_hash(code, key) != totp.recovery_hash(code, b"j" * 32)


def test_sessions_end_when_idle_or_old() -> None:
    s = ConsoleSettings()
    fresh = {"created_at": NOW - timedelta(hours=1), "last_seen_at": NOW - timedelta(minutes=14)}
    assert expired(fresh, s, NOW) is None
    idle = {**fresh, "last_seen_at": NOW - timedelta(minutes=15)}
    assert expired(idle, s, NOW) == "idle"
    old = {"created_at": NOW - timedelta(hours=8), "last_seen_at": NOW}
    assert expired(old, s, NOW) == "absolute"


def test_a_sealed_totp_secret_opens_only_with_its_key_and_for_its_operator() -> None:
    secret = totp.new_secret()
    key = bytes(range(32))
    sealed = totp.seal(secret, key, 7)
    assert len(sealed) == 64  # fits the column
    assert secret not in sealed and totp.seal(secret, key, 7) != sealed  # a fresh nonce each time
    assert totp.unseal(sealed, key, 7) == secret
    assert totp.unseal(sealed, key, 8) == ""  # copied onto another operator's row
    assert totp.unseal(sealed, bytes(32), 7) == ""  # another SECRET_KEY
    assert totp.unseal("not sealed at all", key, 7) == ""
    assert totp.unseal("", key, 7) == ""
