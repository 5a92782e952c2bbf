"""The invitation form's rules (pure): email address, name, role."""

from __future__ import annotations

from dataclasses import dataclass

from app.console.accounts.operators import normal_email
from app.console.permissions import Role, role_label
from app.i18n import _

NAME_MAX = 100


@dataclass(frozen=True)
class Invitation:
    email: str
    name: str
    role: Role


def role_options() -> list[dict[str, str]]:
    return [{"value": role.value, "label": role_label(role.value)} for role in Role]


def parse_role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def check_invitation(values: dict[str, str]) -> tuple[Invitation | None, dict[str, str]]:
    errors: dict[str, str] = {}
    raw_email = values.get("email", "").strip()
    email = normal_email(raw_email) if raw_email and len(raw_email) <= 254 else None
    if not raw_email:
        errors["email"] = _("メールアドレスを入力してください")
    elif email is None:
        errors["email"] = _("メールアドレスの形式が正しくありません")
    name = " ".join(values.get("name", "").split())
    if not name:
        errors["name"] = _("氏名を入力してください")
    elif len(name) > NAME_MAX:
        errors["name"] = _("氏名は%(max)s文字以内で入力してください") % {"max": NAME_MAX}
    role = parse_role(values.get("role", ""))
    if role is None:
        errors["role"] = _("役割を選択してください")
    if errors or email is None or role is None:
        return None, errors
    return Invitation(email, name, role), {}
