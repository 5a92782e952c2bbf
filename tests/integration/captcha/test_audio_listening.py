"""A person can solve the challenge by listening: the spoken digits are the answer."""

from __future__ import annotations

from app.captcha.service import ALPHABET
from tests.helpers import captcha_answer, post_step1, step1_page
from tests.support.listener import listen


async def test_the_answer_heard_in_the_audio_is_accepted(client, app):
    length = app.state.services.settings.registration.captcha_length
    _, _, captcha_id = await step1_page(client)
    audio = await client.get(f"/captcha/{captcha_id}/audio.wav")
    assert audio.headers["content-type"].startswith("audio/wav")
    heard = listen(audio.content, ALPHABET, length)
    assert len(heard) == length and heard.isdigit()
    response = await post_step1(client, captcha_id=captcha_id, captcha_answer=heard)
    assert response.status_code == 303, "the answer heard in the audio was refused"


async def test_the_audio_of_another_challenge_does_not_solve_this_one(client, app):
    length = app.state.services.settings.registration.captcha_length
    _, _, other_id = await step1_page(client)
    _, _, captcha_id = await step1_page(client)
    audio = await client.get(f"/captcha/{other_id}/audio.wav")
    heard = listen(audio.content, ALPHABET, length)
    assert heard == captcha_answer(client, other_id)
    expected = 303 if heard == captcha_answer(client, captcha_id) else 422  # 1 in 10**6: equal
    response = await post_step1(client, captcha_id=captcha_id, captcha_answer=heard)
    assert response.status_code == expected
