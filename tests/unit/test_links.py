"""The link-state rule: used, then superseded, then expired, else valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.links.tokens import LinkState, hash_token, is_well_formed, new_token, state_of

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def row(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": 7,
        "used_at": None,
        "superseded_at": None,
        "expires_at": NOW + timedelta(seconds=1),
    }
    return base | changes


def test_state_of_orders_used_before_superseded_before_expired() -> None:
    assert state_of(None, NOW).state is LinkState.INVALID
    assert state_of(row(), NOW).state is LinkState.VALID
    assert state_of(row(), NOW).token_id == 7
    assert state_of(row(expires_at=NOW), NOW).state is LinkState.EXPIRED
    assert state_of(row(superseded_at=NOW, expires_at=NOW), NOW).state is LinkState.SUPERSEDED
    assert state_of(row(used_at=NOW, superseded_at=NOW), NOW).state is LinkState.USED


def test_new_tokens_are_well_formed_and_only_their_hash_is_kept() -> None:
    token = new_token()
    assert is_well_formed(token)
    assert len(hash_token(token)) == 64 and token not in hash_token(token)
    assert not is_well_formed(token + "!")
    assert not is_well_formed(token[:20])
