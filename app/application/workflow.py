"""The one path every status change takes: the transition checked, the conditional UPDATE, and
the history row saying who made it and why, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.application import states
from app.application.tables import Application, StatusChange
from app.db import utcnow


class ActorKind(StrEnum):
    APPLICANT = "applicant"  # the registrant, through the emailed link (本人 or 代理人)
    PRINCIPAL = "principal"  # the principal, through the approval link
    OPERATOR = "operator"  # an LRA operator, by id
    SYSTEM = "system"  # the portal itself: a job or a rule, by name


@dataclass(frozen=True)
class Actor:
    """Who moves an application: a kind and, for operators and the system, which one."""

    kind: ActorKind
    id: str = ""

    def __post_init__(self) -> None:
        named = self.kind in (ActorKind.OPERATOR, ActorKind.SYSTEM)
        if named != bool(self.id):
            raise ValueError(f"{self.kind} actor {'needs' if named else 'takes no'} id")

    @classmethod
    def operator(cls, operator_id: int | str) -> Actor:
        return cls(ActorKind.OPERATOR, str(operator_id))

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(ActorKind.SYSTEM, name)


APPLICANT = Actor(ActorKind.APPLICANT)
PRINCIPAL = Actor(ActorKind.PRINCIPAL)

# Status changes this process has made (at their UPDATE, before their commit): what is kept
# from the states' counts (the review queue's tabs) is worked out again after any of them.
_moves = 0


def moves() -> int:
    return _moves


async def move(
    application: Mapping[str, Any],
    to: str,
    actor: Actor,
    reason: str = "",
    *,
    expect: Mapping[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any] | None:
    """Move `application` (a row: its id and the status it was read in) to `to`, an allowed
    transition, setting `changes` (column: value) with it, and write the history row. One
    conditional UPDATE: None when the application was no longer in that status (someone else
    moved it first), or when a column named in `expect` no longer holds its value (None: IS
    NULL), else the row as it is now. Call inside the caller's write transaction."""
    current = application["status"]
    states.check_move(current, to)
    now = utcnow()
    values: dict[Any, Any] = {Application.status: to, Application.updated_at: now}
    for name, value in changes.items():
        values[getattr(Application, name)] = value
    where: Any = (Application.id == application["id"]) & (Application.status == current)
    for name, value in (expect or {}).items():
        column = getattr(Application, name)
        where &= column.is_null() if value is None else column == value
    rows = await Application.update(values).where(where).returning(Application.id)
    if not rows:
        return None
    global _moves
    _moves += 1
    await StatusChange.insert(
        StatusChange(
            application=application["id"],
            from_status=current,
            to_status=to,
            actor=actor.kind.value,
            actor_id=actor.id,
            reason=reason,
            at=now,
        )
    )
    return {**application, **changes, "status": to, "updated_at": now}


async def history(application_id: int) -> list[dict[str, Any]]:
    """The application's status changes, oldest first."""
    rows = await StatusChange.raw(
        "SELECT * FROM application_status_change WHERE application = {} ORDER BY id",
        application_id,
    )
    return [dict(row) for row in rows]
