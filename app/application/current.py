"""What every /apply handler works on: the live link's registration and its application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Current:
    token_id: int
    registration: dict[str, Any]
    application: dict[str, Any]
