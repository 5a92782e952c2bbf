"""The audit viewer's filter: query parameters read into a Filter (pure functions, Japanese
messages). Times are typed in Japan time and compared in UTC."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.i18n import _
from app.templating import JAPAN

FIELDS = ("actor", "action", "target", "since", "until")
MAX_LENGTH = {"actor": 80, "action": 64, "target": 120}
# datetime-local sends 2026-12-01T09:30; people type 2026-12-01 09:30, 2026/12/01 or a date.
TIME = re.compile(
    r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:[T ](?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2}))?)?$"
)


@dataclass(frozen=True)
class Filter:
    """What the auditor asked for. `since` inclusive, `until` exclusive, both UTC-aware;
    actor matches exactly, action and target by their beginning."""

    actor: str = ""
    action: str = ""
    target: str = ""
    since: datetime | None = None
    until: datetime | None = None
    typed: dict[str, str] = field(default_factory=dict)  # as typed, for links and the form

    def details(self) -> dict[str, Any]:
        """The filter as the audit row of an export records it."""
        return {name: value for name, value in self.typed.items() if value}


def _time(text: str, *, end: bool) -> datetime | None:
    """A Japan time as typed, or None when it cannot be read. With `end`, the moment after
    the typed minute (or day) ends, so that 「まで」 includes it."""
    found = TIME.match(text)
    if found is None:
        return None
    parts = {k: int(v) for k, v in found.groupdict().items() if v is not None}
    try:
        moment = datetime(
            parts["y"],
            parts["m"],
            parts["d"],
            parts.get("hh", 0),
            parts.get("mm", 0),
            parts.get("ss", 0),
            tzinfo=JAPAN,
        )
    except ValueError:
        return None
    if end:
        if "ss" in parts:
            moment += timedelta(seconds=1)
        elif "hh" in parts:
            moment += timedelta(minutes=1)
        else:
            moment += timedelta(days=1)
    return moment


def parse_filter(params: Mapping[str, str]) -> tuple[Filter, dict[str, str]]:
    """(the filter, errors by field). Fields with errors are left out of the filter."""
    typed = {name: unicodedata.normalize("NFKC", params.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    texts: dict[str, str] = {}
    for name, limit in MAX_LENGTH.items():
        if len(typed[name]) > limit:
            errors[name] = _("{limit}文字以内で入力してください。").format(limit=limit)
        else:
            texts[name] = typed[name]
    times: dict[str, datetime | None] = {"since": None, "until": None}
    for name in ("since", "until"):
        if typed[name]:
            times[name] = _time(typed[name], end=name == "until")
            if times[name] is None:
                errors[name] = _(
                    "日時は「2026-12-01 09:30」または「2026-12-01」の形で入力してください。"
                )
    since, until = times["since"], times["until"]
    if since is not None and until is not None and until <= since:
        errors["until"] = _("終わりの日時は、始まりの日時より後にしてください。")
        until = None
    return Filter(
        actor=texts.get("actor", ""),
        action=texts.get("action", ""),
        target=texts.get("target", ""),
        since=since,
        until=until,
        typed=typed,
    ), errors


def cursor(value: str | None) -> int | None:
    """A page cursor (a seq) from the query, None when absent; ValueError when malformed."""
    if value is None or value == "":
        return None
    number = int(value)
    if number < 1 or number > 2**31:
        raise ValueError(value)
    return number
