"""The pickup form (PIN, its confirmation, the PKCS#12 format): validation. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.i18n import _
from app.issuance.pkcs12 import FORMATS, STANDARD

PIN_MIN = 8
PIN_MAX = 64


@dataclass(frozen=True)
class PickupInput:
    pin: str
    format: str


def format_options() -> list[dict[str, str]]:
    return [
        {"value": STANDARD, "label": _("標準（AES-256。現在のWindows・macOS・Firefoxなど）")},
        {"value": "compatible", "label": _("互換（3DES。古いWindows・macOS・Android向け）")},
    ]


def check_pickup(
    values: Mapping[str, str],
) -> tuple[PickupInput | None, dict[str, str], dict[str, str]]:
    """(input or None, errors in page order, values to keep: never the PINs)."""
    pin = values.get("pin") or ""
    confirm = values.get("pin_confirm") or ""
    fmt = (values.get("format") or "").strip()
    errors: dict[str, str] = {}
    if not pin:
        errors["pin"] = _("PINを入力してください。")
    elif len(pin) < PIN_MIN:
        errors["pin"] = _("PINは{minimum}文字以上で入力してください。").format(minimum=PIN_MIN)
    elif len(pin) > PIN_MAX:
        errors["pin"] = _("PINは{maximum}文字以内で入力してください。").format(maximum=PIN_MAX)
    elif not all(" " < c <= "~" for c in pin):
        # Non-ASCII passwords are encoded differently by different PKCS#12 readers.
        errors["pin"] = _("PINは半角の英字・数字・記号で入力してください（空白は使えません）。")
    if "pin" not in errors:
        if not confirm:
            errors["pin_confirm"] = _("確認のため、同じPINをもう一度入力してください。")
        elif confirm != pin:
            errors["pin_confirm"] = _("PINが一致しません。同じPINを入力してください。")
    if fmt not in FORMATS:
        errors["format"] = _("ファイルの形式を選択してください。")
    kept = {"format": fmt}
    if errors:
        return None, errors, kept
    return PickupInput(pin, fmt), {}, kept
