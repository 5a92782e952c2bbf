"""Validation of the revocation forms, pure: the holder's lookup (serial number or reference,
the certificate's email address), the operator's decision and the paper request."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from app.i18n import _
from app.registration.form import check_email, clean_text

REFERENCE = re.compile(r"^JC-[0-9A-Z]{4}-[0-9A-Z]{4}$")
SERIAL = re.compile(r"^[0-9a-f]{1,40}$")
NOTE_MAX = 1000


@dataclass(frozen=True)
class Lookup:
    serial: str  # lower-case hex without separators, or ""
    reference: str  # JC-XXXX-XXXX, or ""
    email: str


def normalise_identifier(raw: str) -> tuple[str, str]:
    """(serial, reference) from what the holder typed: a reference JC-XXXX-XXXX, or the
    serial number in hex with or without colons and spaces (as browsers and openssl show it)."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    upper = text.upper().replace(" ", "")
    if REFERENCE.match(upper):
        return "", upper
    serial = re.sub(r"[\s:]", "", text).lower()
    if serial.startswith("0x"):
        serial = serial[2:]
    serial = serial.lstrip("0") or ("0" if serial else "")
    if SERIAL.match(serial):
        return serial, ""
    return "", ""


def check_lookup(values: Mapping[str, str]) -> tuple[Lookup | None, dict[str, str]]:
    errors: dict[str, str] = {}
    raw = clean_text(values.get("identifier"))
    serial, reference = normalise_identifier(raw)
    if not raw:
        errors["identifier"] = _("証明書のシリアル番号または受付番号を入力してください。")
    elif not (serial or reference):
        errors["identifier"] = _(
            "シリアル番号（16進数、例: 3a:1f:...）または受付番号（例: JC-7K3M-9QXP）の形で"
            "入力してください。"
        )
    email, message = check_email(values.get("email", ""))
    if message:
        errors["email"] = message
    if errors:
        return None, errors
    return Lookup(serial, reference, email.lower()), {}


def check_note(values: Mapping[str, str], name: str, required: str) -> tuple[str, str | None]:
    """A free text the operator must give (a 却下 reason, who asked, how verified)."""
    text = clean_text(values.get(name))
    if not text:
        return "", required
    if len(text) > NOTE_MAX:
        return text, _("{max}文字以内で入力してください。").format(max=NOTE_MAX)
    return text, None
