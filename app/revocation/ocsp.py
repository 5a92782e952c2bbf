"""The OCSP routes at the AIA's OCSP URL (/ocsp): POST application/ocsp-request and GET with
the base64 request in the path (RFC 6960 A.1), both answered application/ocsp-response."""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime
from urllib.parse import unquote

from cryptography.x509 import ocsp
from cryptography.x509.ocsp import OCSPResponseStatus
from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Response

from app.db import utcnow
from app.issuance.ca.base import CAError, OcspForwarding, TransientCAError
from app.revocation.forwarding import ForwardingResponder
from app.revocation.responder import OcspResponder, unsuccessful
from app.web.types import Req

log = logging.getLogger("jcan.ocsp")
MEDIA = "application/ocsp-response"
MAX_REQUEST = 10_000  # an OCSP request is a few hundred bytes


def responder(request: Req) -> OcspResponder | ForwardingResponder:
    """The local CA's own responder; for a CA with a responder of its own (django-ca), the
    forwarding one."""
    state = request.app.state
    found: OcspResponder | ForwardingResponder | None = state.get("ocsp")
    if found is None:
        settings, ca = state.services.settings, state.ca
        if isinstance(ca, OcspForwarding):
            found = state.ocsp = ForwardingResponder(settings, ca)
        else:
            found = state.ocsp = OcspResponder(settings, ca)
    return found


async def _answer(request: Req, der: bytes | None) -> Response[bytes]:
    if der is None or len(der) > MAX_REQUEST:
        body = unsuccessful(OCSPResponseStatus.MALFORMED_REQUEST)
    else:
        try:
            body = await responder(request).answer(der, utcnow())
        except TransientCAError as error:  # django-ca unreachable
            log.warning("OCSP: the CA is not available: %s", error)
            body = unsuccessful(OCSPResponseStatus.TRY_LATER)
        except CAError:  # no local CA yet (`jcan ca init`), or its key does not open
            log.exception("OCSP: the CA is not available")
            body = unsuccessful(OCSPResponseStatus.TRY_LATER)
    cache = cache_control(
        body, responder(request).settings.revocation.ocsp_validity_hours, utcnow()
    )
    return Response(body, media_type=MEDIA, headers={"Cache-Control": cache})


def cache_control(body: bytes, validity_hours: int, now: datetime) -> str:
    """Half the responses' validity, never past the answer's nextUpdate; an unsuccessful
    answer (tryLater, malformedRequest, unauthorized) is not stored."""
    response = ocsp.load_der_ocsp_response(body)
    if response.response_status is not OCSPResponseStatus.SUCCESSFUL:
        return "no-store"
    max_age = validity_hours * 3600 // 2
    try:
        next_update = response.next_update_utc
    except ValueError:  # several single responses (not what either responder writes)
        next_update = None
    if next_update is not None:
        max_age = max(0, min(max_age, int((next_update - now).total_seconds())))
    return f"max-age={max_age}"


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
        # The request as sent (raw_path): the router's decoded path has lost a "//" or a
        # trailing "/" of the base64, encoded or not (RFC 6960 A.1 has it URL-encoded).
        raw = bytes(request.scope.get("raw_path") or b"").decode("latin-1")
        start = raw.find("/ocsp/")
        text = unquote(raw[start + len("/ocsp/") :] if start >= 0 else encoded.lstrip("/"))
        try:
            der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            return await _answer(request, None)
        return await _answer(request, der)
