"""An application's answers as stored (JSON while drafting), and the correction asked for:
read back as plain values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def answers_of(row: Mapping[str, Any]) -> dict[str, str]:
    try:
        data = json.loads(row.get("answers") or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def correction_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The correction the LRA asked for and the applicant has not sent back yet: {"fields":
    [names, "documents"], "message": text}, or {} (written by the console's review)."""
    try:
        data = json.loads(row.get("correction") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
