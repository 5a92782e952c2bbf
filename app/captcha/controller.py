"""Routes serving a challenge as an image or as speech."""

from __future__ import annotations

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app.captcha import render, service
from app.web.state import services
from app.web.types import Req


class CaptchaController(Controller):
    path = "/captcha"

    @get("/{challenge_id:str}/image.png", media_type="image/png")
    async def image(self, request: Req, challenge_id: FromPath[str]) -> Response[bytes]:
        text = await service.answer_for_rendering(challenge_id, services(request).captcha_key)
        if text is None:
            raise NotFoundException()
        return Response(await render.png(text), media_type="image/png")

    @get("/{challenge_id:str}/audio.wav", media_type="audio/wav")
    async def audio(self, request: Req, challenge_id: FromPath[str]) -> Response[bytes]:
        text = await service.answer_for_rendering(challenge_id, services(request).captcha_key)
        if text is None:
            raise NotFoundException()
        return Response(
            await render.wav(text),
            media_type="audio/wav",
            headers={"Content-Disposition": 'inline; filename="captcha.wav"'},
        )
