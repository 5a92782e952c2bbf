"""OCSP for a CA with a responder of its own (django-ca): the request read and checked here,
answered by that responder, its signed answer returned unchanged."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.x509 import ocsp

from app.issuance.ca.base import OcspForwarding
from app.revocation.responder import issuer_hashes, unsuccessful
from app.settings import Settings


class ForwardingResponder:
    """Same face as OcspResponder (answer(der, now)); the CA signs. A request it cannot read is
    malformedRequest and one for another issuer unauthorized, without asking the CA; the CA
    unreachable raises TransientCAError (the route answers tryLater)."""

    def __init__(self, settings: Settings, ca: OcspForwarding) -> None:
        self.settings = settings
        self.ca = ca

    async def answer(self, der: bytes, now: datetime) -> bytes:
        try:
            request = ocsp.load_der_ocsp_request(der)
            algorithm = request.hash_algorithm
            asked = (request.issuer_name_hash, request.issuer_key_hash)
        except Exception:
            return unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        issuing = x509.load_pem_x509_certificate((await self.ca.chain())[0])
        if asked != issuer_hashes(issuing, algorithm):
            return unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        return await self.ca.ocsp(der)
