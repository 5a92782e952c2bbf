"""Routes of the pickup (証明書の受け取り): the mailed link, the PIN form, the one download;
for a certificate issued for the applicant's CSR, the certificate files instead."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app.issuance import pickup
from app.issuance.form import check_pickup, format_options
from app.issuance.service import PICKUP_LINK
from app.links import tokens
from app.links import web as links
from app.links.tokens import LinkState
from app.links.web import LinkNotLive
from app.web.render import INVALID, page, see_other
from app.web.state import form_values, services
from app.web.types import Req

FORM = "pickup/pickup.html.jinja2"
FILES = "pickup/files.html.jinja2"
MEDIA_TYPES = {pickup.PEM: "application/x-pem-file", pickup.P7B: "application/pkcs7-mime"}
STATE = "pickup/state.html.jinja2"
# The raw token, kept in the session cookie (Litestar's client-side session: AES-GCM under a
# key derived from SECRET_KEY, held by the browser only) until the download needs it.
SECRET_KEY = "pickup_secret"
STATES = frozenset(s.value for s in LinkState) - {LinkState.VALID.value}


async def _live(request: Req) -> tuple[int, str, dict[str, Any]]:
    token_id = await links.live_token(request, PICKUP_LINK)
    secret = request.session.get(SECRET_KEY)
    certificate = await pickup.certificate_for(token_id)
    if (
        not isinstance(secret, str)
        or certificate is None
        or tokens.hash_token(secret) != certificate["token_hash"]
        or not certificate["certificate_pem"]
    ):
        raise LinkNotLive(PICKUP_LINK, LinkState.INVALID)
    return token_id, secret, certificate


def _form(
    request: Req,
    certificate: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response[Any]:
    return page(
        request,
        FORM,
        {
            "values": values,
            "errors": errors,
            "subject": pickup.x509_of(certificate).subject.rfc4514_string(),
            "certificate": certificate,
            "formats": format_options(),
        },
        status=status,
    )


class PickupController(Controller):
    path = "/pickup"

    @get("/t/{token:str}")
    async def open_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        resolution = await tokens.resolve(PICKUP_LINK.table, token)
        if resolution.state is not LinkState.VALID:
            return see_other(PICKUP_LINK.state_path(resolution.state))
        request.session[PICKUP_LINK.session_key] = resolution.token_id
        request.session[SECRET_KEY] = token
        return see_other(PICKUP_LINK.landing)  # the token leaves the address bar

    @get("")
    async def show(self, request: Req) -> Response[Any]:
        _token_id, _secret, certificate = await _live(request)
        if pickup.is_csr(certificate):
            subject = pickup.x509_of(certificate).subject.rfc4514_string()
            return page(request, FILES, {"subject": subject, "certificate": certificate})
        pickup.prepare()
        return _form(request, certificate, {"format": "standard"}, {})

    @get("/files/{kind:str}")
    async def files(self, request: Req, kind: FromPath[str]) -> Response[Any]:
        """A CSR certificate's files, as often as asked while the link lives (no key here)."""
        _token_id, _secret, certificate = await _live(request)
        if not pickup.is_csr(certificate) or kind not in MEDIA_TYPES:
            raise NotFoundException()
        result = pickup.certificate_files(certificate, kind)
        await pickup.mark_fetched(int(certificate["id"]))
        return Response(
            content=result.content,
            media_type=MEDIA_TYPES[kind],
            status_code=200,
            headers={
                "Content-Disposition": f'attachment; filename="{result.file_name}"',
                "Cache-Control": "no-store",
            },
        )

    @post("")
    async def take(self, request: Req) -> Response[Any]:
        token_id, secret, certificate = await _live(request)
        if pickup.is_csr(certificate):
            return see_other(PICKUP_LINK.landing)  # no key, no PIN: the files' page
        choice, errors, kept = check_pickup(await form_values(request))
        if choice is None:
            return _form(request, certificate, kept, errors, status=INVALID)
        try:
            result = await pickup.download(token_id, secret, choice.pin, choice.format)
        except pickup.NotAvailable:
            return see_other(PICKUP_LINK.state_path(LinkState.USED))
        # The token goes; the link's id stays, so coming back says 「受け取り済み」.
        request.session.pop(SECRET_KEY, None)
        return Response(
            content=result.content,
            media_type="application/x-pkcs12",
            status_code=200,
            headers={
                "Content-Disposition": f'attachment; filename="{result.file_name}"',
                "Cache-Control": "no-store",
            },
        )

    @get("/link/{link_state:str}")
    async def link_state(self, request: Req, link_state: FromPath[str]) -> Response[Any]:
        shown = link_state if link_state in STATES else LinkState.INVALID.value
        days = services(request).settings.issuance.pickup_link_days
        return page(request, STATE, {"state": shown, "days": days})
