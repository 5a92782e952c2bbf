"""Operators' passwords: Argon2id hashes (argon2-cffi) and the rules a new password meets."""

from __future__ import annotations

import importlib
import re
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.i18n import _

MIN_LENGTH = 12
MAX_LENGTH = 256  # bounds the hashing work a request can ask for
HASHER = PasswordHasher()  # Argon2id with argon2-cffi's RFC 9106 "low memory" profile
# Trailing digits and symbols people add to a common word ("password2024!").
_DECORATION = re.compile(r"[\d\W_]+$")


@cache
def _dummy_hash() -> str:
    return HASHER.hash("not-a-password-of-anyone")


@cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords (from leaked password sets).
    Loaded on first use, not imported at the top: that module holds every word list zxcvbn
    has (12 MB in each web and worker process), and only a process where an operator chooses
    a password needs one of them."""
    lists = importlib.import_module("zxcvbn.frequency_lists").FREQUENCY_LISTS
    return frozenset(lists["passwords"])


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(password_hash: str, password: str) -> bool:
    """True when `password` matches; an empty or broken hash still costs one verification, so
    an unknown address takes as long to refuse as a wrong password."""
    try:
        return HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def is_common(password: str) -> bool:
    lowered = password.lower()
    common = common_passwords()
    if lowered in common:
        return True
    base = _DECORATION.sub("", lowered)
    return len(base) >= 4 and base in common


def check_new_password(password: str, confirm: str, email: str) -> dict[str, str]:
    """Errors by field name (Japanese); empty when the password may be set."""
    errors: dict[str, str] = {}
    lowered = password.lower()
    local = email.lower().split("@", 1)[0]
    if not password:
        errors["password"] = _("パスワードを入力してください")
    elif len(password) < MIN_LENGTH:
        errors["password"] = _("パスワードは%(min)s文字以上で入力してください") % {
            "min": MIN_LENGTH
        }
    elif len(password) > MAX_LENGTH:
        errors["password"] = _("パスワードは%(max)s文字以内で入力してください") % {
            "max": MAX_LENGTH
        }
    elif lowered in (email.lower(), local):
        errors["password"] = _("メールアドレスとは異なるパスワードを入力してください")
    elif is_common(password):
        errors["password"] = _(
            "よく使われているパスワードのため使用できません。推測されにくいパスワードを入力してください"
        )
    if not errors and password != confirm:
        errors["password_confirm"] = _("確認のため、同じパスワードをもう一度入力してください")
    return errors
