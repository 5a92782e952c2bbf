"""The challenge as image and speech; a used or unknown challenge is not served."""

from __future__ import annotations

from app.captcha import service
from tests.helpers import post_step1, step1_page


async def test_image_is_a_png_and_its_alt_never_gives_the_answer(client):
    html, _, captcha_id = await step1_page(client)
    answer = await service.answer_for_rendering(captcha_id, client.captcha_key)
    assert answer is not None
    response = await client.get(f"/captcha/{captcha_id}/image.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert answer not in html.split(f"/captcha/{captcha_id}/image.png", 1)[1].split(">", 1)[0]
    assert "別の画像を表示" in html


async def test_audio_is_wav(client):
    _, _, captcha_id = await step1_page(client)
    response = await client.get(f"/captcha/{captcha_id}/audio.wav")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("audio/wav")
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
    assert len(response.content) > 10_000


async def test_used_or_unknown_challenge_is_not_served(client):
    _, _, captcha_id = await step1_page(client)
    await post_step1(client, captcha_id=captcha_id, captcha_answer="WRONG")
    assert (await client.get(f"/captcha/{captcha_id}/image.png")).status_code == 404
    assert (await client.get("/captcha/not-a-challenge-at-all/audio.wav")).status_code == 404
    assert (await client.get("/captcha/%2e%2e/image.png")).status_code == 404


async def test_test_answer_hook_makes_every_challenge_answerable(variant):
    settings = variant(registration={"captcha_test_answer": "abc12"})
    key = service.challenge_key(settings.app)
    challenge = service.create_challenge(settings.registration, key)
    verdict = await service.verify(challenge.public_id, "ABC12", key)
    assert verdict is service.Verdict.CORRECT


async def test_drawing_runs_in_a_helper_below_the_servers_priority():
    import os

    from app import cpu
    from app.captcha import render

    assert (await render.png("123456")).startswith(b"\x89PNG")
    helpers = cpu.processes(cpu.CAPTCHA)
    assert len(helpers) == 1 and os.getpid() not in helpers
    for pid in helpers:
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + cpu.NICENESS[cpu.CAPTCHA]
        )
    cpu.shutdown()
