"""Sealed CAPTCHA challenges: the id carries the answer and expiry, readable only with the key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.captcha.service import create_challenge, is_well_formed_id, unseal
from app.settings import RegistrationSettings

KEY = bytes(range(32))
NOW = datetime(2026, 11, 24, 12, 0, 30, 123456, tzinfo=UTC)


def test_the_id_opens_to_its_answer_and_expiry_with_the_key():
    settings = RegistrationSettings(captcha_test_answer="12345", captcha_ttl_seconds=600)
    challenge = create_challenge(settings, KEY, now=NOW)
    sealed = unseal(challenge.public_id, KEY)
    assert sealed is not None
    assert sealed.answer == "12345"
    assert sealed.expires_at == datetime(2026, 11, 24, 12, 10, 30, tzinfo=UTC)
    assert sealed.expires_at == challenge.expires_at
    assert "12345" not in challenge.public_id
    assert is_well_formed_id(challenge.public_id)


def test_every_id_is_new_even_for_the_same_answer():
    settings = RegistrationSettings(captcha_test_answer="12345")
    ids = {create_challenge(settings, KEY, now=NOW).public_id for _ in range(200)}
    uses = {unseal(i, KEY).use_id for i in ids}  # type: ignore[union-attr]
    assert len(ids) == 200 and len(uses) == 200


def test_random_answers_have_the_configured_length_and_digits():
    settings = RegistrationSettings(captcha_length=7)
    answers = {unseal(create_challenge(settings, KEY).public_id, KEY).answer for _ in range(50)}  # type: ignore[union-attr]
    assert all(len(a) == 7 and a.isdigit() for a in answers)
    assert len(answers) > 40


@pytest.mark.parametrize("position", [0, 5, 11, 12, 20, 30, -1])
def test_a_changed_character_anywhere_is_refused(position):
    public_id = create_challenge(RegistrationSettings(), KEY, now=NOW).public_id
    chars = list(public_id)
    chars[position] = "B" if chars[position] != "B" else "C"
    assert unseal("".join(chars), KEY) is None


def test_another_key_cannot_open_it():
    public_id = create_challenge(RegistrationSettings(), KEY, now=NOW).public_id
    assert unseal(public_id, bytes(32)) is None


@pytest.mark.parametrize(
    "bad",
    ["", "short", "a" * 200, "../../etc/passwd" + "a" * 40, "é" * 50, "A" * 51, "A" * 53],
)
def test_malformed_ids_are_refused_without_raising(bad):
    assert unseal(bad, KEY) is None
