"""An application's answers as stored (JSON while drafting): read back as plain strings."""

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
