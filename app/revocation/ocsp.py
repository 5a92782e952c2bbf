"""The OCSP routes at the AIA's OCSP URL (/ocsp): POST application/ocsp-request and GET with
the base64 request in the path (RFC 6960 A.1), both answered application/ocsp-response."""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import unquote

from cryptography.x509.ocsp import OCSPResponseStatus
from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Response

from app.db import utcnow
from app.issuance.ca.base import CAError
from app.revocation.responder import OcspResponder, unsuccessful
from app.web.types import Req

log = logging.getLogger("jcan.ocsp")
MEDIA = "application/ocsp-response"
MAX_REQUEST = 10_000  # an OCSP request is a few hundred bytes


def responder(request: Req) -> OcspResponder:
    state = request.app.state
    found: OcspResponder | None = state.get("ocsp")
    if found is None:
        found = state.ocsp = OcspResponder(state.services.settings, state.ca)
    return found


async def _answer(request: Req, der: bytes | None) -> Response[bytes]:
    if der is None or len(der) > MAX_REQUEST:
        body = unsuccessful(OCSPResponseStatus.MALFORMED_REQUEST)
    else:
        try:
            body = await responder(request).answer(der, utcnow())
        except CAError:  # no local CA yet (`jcan ca init`), or its key does not open
            log.exception("OCSP: the local CA is not available")
            body = unsuccessful(OCSPResponseStatus.TRY_LATER)
    max_age = responder(request).settings.revocation.ocsp_validity_hours * 3600 // 2
    return Response(body, media_type=MEDIA, headers={"Cache-Control": f"max-age={max_age}"})


class OcspController(Controller):
    path = "/ocsp"

    @post("", exclude_from_csrf=True, status_code=200)
    async def post_request(self, request: Req) -> Response[bytes]:
        if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/ocsp-request"
        ):
            return await _answer(request, None)
        return await _answer(request, await request.body())

    @get("/{encoded:path}")
    async def get_request(self, request: Req, encoded: FromPath[str]) -> Response[bytes]:
        text = unquote(encoded.lstrip("/"))
        try:
            der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            return await _answer(request, None)
        return await _answer(request, der)
