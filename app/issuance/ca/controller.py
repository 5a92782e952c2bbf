"""Public CA routes the certificates point at: the CRL and the CA certificates, over http."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from litestar import Controller, get
from litestar.response import Response

from app.db import utcnow
from app.issuance.ca.base import CAError, CertificateAuthority, TransientCAError
from app.web.types import Req

CRL_MAX_AGE = 3600  # clients may keep the CRL an hour (never past its nextUpdate)
CERT_MAX_AGE = 86400
_last_crl: tuple[bytes, datetime | None] | None = None  # the last CRL served and its nextUpdate


def _ca(request: Req) -> CertificateAuthority:
    ca: CertificateAuthority = request.app.state.ca
    return ca


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


class CaController(Controller):
    path = "/ca"

    @get("/crl")
    async def crl(self, request: Req) -> Response[bytes]:
        try:
            der = await _ca(request).crl()
        except CAError as exc:
            return _unavailable(exc)
        return Response(
            der,
            media_type="application/pkix-crl",
            headers={"Cache-Control": f"public, max-age={crl_max_age(der, utcnow())}"},
        )

    @get("/issuing.crt")
    async def issuing(self, request: Req) -> Response[bytes]:
        try:
            return _certificate((await _ca(request).chain())[0])
        except CAError as exc:
            return _unavailable(exc)

    @get("/root.crt")
    async def root(self, request: Req) -> Response[bytes]:
        try:
            return _certificate((await _ca(request).chain())[-1])
        except CAError as exc:
            return _unavailable(exc)


def crl_max_age(der: bytes, now: datetime) -> int:
    """CRL_MAX_AGE, or less: a cache must not keep a CRL past its nextUpdate. The adapters hand
    out the same bytes object until the CRL changes, so it is parsed once per CRL."""
    global _last_crl
    if _last_crl is None or _last_crl[0] is not der:
        _last_crl = (der, x509.load_der_x509_crl(der).next_update_utc)
    next_update = _last_crl[1]
    if next_update is None:
        return CRL_MAX_AGE
    return max(0, min(CRL_MAX_AGE, int((next_update - now).total_seconds())))


def _unavailable(exc: CAError) -> Response[bytes]:
    """Never a 500: the CA unreachable is a 503 (try later); no CA yet (`jcan ca init` not
    run) is a 404, as for any document that does not exist."""
    if isinstance(exc, TransientCAError):
        return Response(b"CA unreachable\n", status_code=503, media_type="text/plain")
    return Response(b"no CA\n", status_code=404, media_type="text/plain")


def _certificate(pem: bytes) -> Response[bytes]:
    return Response(
        _der(pem),
        media_type="application/pkix-cert",
        headers={"Cache-Control": f"public, max-age={CERT_MAX_AGE}"},
    )
