"""The django-ca adapter: a separate django-ca 3.2 signs over its REST API; the portal is its RA.

Calls (all under DJANGO_CA_URL, Basic auth as DJANGO_CA_USERNAME):
- issue: POST api/ca/<ca>/sign/ (CSR, subject, extensions, not_after) -> an order; poll
  api/ca/<ca>/orders/<slug>/ until issued; the certificate comes from api/ca/<ca>/certs/.
- revoke: POST api/ca/<ca>/certs/<serial>/revoke/; status: GET api/ca/<ca>/certs/<serial>/.
- crl: GET crl/<ca>/ (the CRL django-ca publishes: the newest it generated, served from its
  cache; a fresh revocation appears when django-ca regenerates it, e.g. its periodic
  `generate_crls` task, by default at least daily), kept in memory for
  DJANGO_CA_CRL_REFRESH_SECONDS, and served past that while django-ca is unreachable.
- ocsp: POST ocsp/<ca>/cert/ (django-ca's own responder; the portal's /ocsp forwards to it).
- chain: GET api/ca/<ca>/, then the issuer certificate each CA certificate's AIA caIssuers
  names (fetched from django-ca's issuer view under DJANGO_CA_URL), up to the root.

Idempotency. django-ca has no idempotency key, and its API cannot search certificates by
public key or subject (only list them all). What the sign call stores verbatim and the list
call filters by is the certificate's `profile` label (the API signs with the extensions it is
given; the label is not used for signing). The adapter writes the request's tag there,
`jcan-` + 24 hex digits of SHA-256(request_id), and before signing asks for certificates with
that tag: a retry after a lost answer, a job run twice, or a worker killed after django-ca
signed finds the certificate instead of signing again. The found certificate must carry the
CSR's public key (a retry sends the same CSR), else CAError. After signing, the tag is listed
again: if two callers signed at once, the lowest django-ca id wins, and a caller whose own
certificate lost revokes it (superseded) and returns the winner.

What remains: (1) two callers can each return their own certificate if the loser's order is
still pending (Celery) when the winner lists; (2) a caller that gives up on a pending order
(DJANGO_CA_ORDER_TIMEOUT) and is never retried leaves an issued, undelivered certificate. The
portal narrows both by running one issuing job per application. django-ca's own admin shows the
tag as the certificate's profile.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from app.issuance.ca.base import (
    CAError,
    CertStatus,
    Issued,
    IssueRequest,
    Revocation,
    Status,
    TransientCAError,
)
from app.issuance.ca.crl_cache import CrlCache
from app.issuance.ca.django_ca_request import sign_body
from app.settings import DjangoCASettings

TAG_PREFIX = "jcan-"
MAX_CHAIN = 5
OCSP_TIMEOUT = 5.0  # an OCSP client waits on the portal: tryLater rather than hang


def request_tag(request_id: str) -> str:
    """The label stored with the certificate (django-ca's profile field holds 32 characters)."""
    return TAG_PREFIX + hashlib.sha256(request_id.encode()).hexdigest()[:24]


def _hex(serial: int) -> str:
    return format(serial, "X")


def _spki(public_key: Any) -> bytes:
    return bytes(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class DjangoCA:
    name = "django-ca"

    def __init__(self, settings: DjangoCASettings) -> None:
        missing = [
            env
            for env, value in (
                ("DJANGO_CA_URL", settings.url),
                ("DJANGO_CA_CA_SERIAL", settings.ca_serial),
                ("DJANGO_CA_USERNAME", settings.username),
            )
            if not value
        ]
        if missing:
            raise CAError(f"CA_BACKEND=django-ca needs {', '.join(missing)}")
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.ca = settings.ca_serial.replace(":", "").upper()
        self._chain: tuple[bytes, ...] | None = None
        self.crl_cache = CrlCache(self._fetch_crl, self._issuing, settings.crl_refresh_seconds)

    # -- HTTP ------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base,
            auth=(self.settings.username, self.settings.password),
            timeout=self.settings.timeout,
        )

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """One request; connection failures, timeouts, 429 and 5xx are transient, other 4xx
        are refusals (CAError). 404 and 400 are returned for the caller to read."""
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise TransientCAError(f"django-ca unreachable: {method} {path}: {error!r}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientCAError(f"django-ca {method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400 and response.status_code not in (400, 404):
            raise CAError(
                f"django-ca {method} {path}: HTTP {response.status_code} {_detail(response)}"
            )
        return response

    async def _json(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(client, method, path, **kwargs)
        if response.status_code >= 400:
            raise CAError(
                f"django-ca {method} {path}: HTTP {response.status_code} {_detail(response)}"
            )
        return response.json()

    # -- issue -----------------------------------------------------------------------------

    async def issue(self, request: IssueRequest) -> Issued:
        tag = request_tag(request.request_id)
        csr = x509.load_pem_x509_csr(request.csr_pem)
        key = _spki(csr.public_key())
        async with self._client() as client:
            found = await self._tagged(client, tag)
            if found:
                return await self._result(found[0], key)
            body = sign_body(request, csr, tag, datetime.now(UTC))
            order = await self._json(client, "POST", f"/api/ca/{self.ca}/sign/", json=body)
            serial = await self._wait(client, order["slug"])
            found = await self._tagged(client, tag)
            mine = [c for c in found if c["certificate"]["serial"] == serial]
            if not mine:
                raise CAError(f"django-ca issued {serial} but does not list it under {tag}")
            winner = found[0]
            if winner is not mine[0]:  # another caller signed the same request first
                await self._revoke_duplicate(client, serial)
        return await self._result(winner, key)

    async def _tagged(self, client: httpx.AsyncClient, tag: str) -> list[dict[str, Any]]:
        """Certificates with this request's tag (revoked and expired too), oldest first."""
        params = {"profile": tag, "revoked": "true", "expired": "true"}
        certs = await self._json(client, "GET", f"/api/ca/{self.ca}/certs/", params=params)
        return sorted((c for c in certs if c.get("profile") == tag), key=lambda c: int(c["id"]))

    async def _wait(self, client: httpx.AsyncClient, slug: str) -> str:
        deadline = time.monotonic() + self.settings.order_timeout
        delay = 0.05
        while True:
            order = await self._json(client, "GET", f"/api/ca/{self.ca}/orders/{slug}/")
            if order["status"] == "issued" and order.get("serial"):
                return str(order["serial"])
            if order["status"] == "failed":
                raise CAError(f"django-ca order {slug} failed")
            if time.monotonic() + delay > deadline:
                raise TransientCAError(f"django-ca order {slug} still {order['status']}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _revoke_duplicate(self, client: httpx.AsyncClient, serial: str) -> None:
        path = f"/api/ca/{self.ca}/certs/{serial}/revoke/"
        await self._call(client, "POST", path, json={"reason": "superseded"})

    async def _result(self, cert: dict[str, Any], key: bytes) -> Issued:
        pem = cert["certificate"]["pem"].encode()
        certificate = x509.load_pem_x509_certificate(pem)
        if _spki(certificate.public_key()) != key:
            raise CAError("the request id was used before with another public key")
        return Issued(
            certificate_pem=pem, chain_pem=await self.chain(), serial=certificate.serial_number
        )

    # -- revocation ------------------------------------------------------------------------

    async def revoke(self, revocation: Revocation) -> None:
        """django-ca stamps its own revocation time (revocation.revoked_at is not sent). No
        reason (None, or unspecified) is sent as none: django-ca then omits reasonCode."""
        body: dict[str, str] = {}
        reason = revocation.reason
        if reason is not None and reason is not x509.ReasonFlags.unspecified:
            body["reason"] = reason.value
        if revocation.invalidity_date is not None:
            body["compromised"] = revocation.invalidity_date.astimezone(UTC).isoformat()
        path = f"/api/ca/{self.ca}/certs/{_hex(revocation.serial)}/revoke/"
        async with self._client() as client:
            response = await self._call(client, "POST", path, json=body)
            if response.status_code == 404:
                raise CAError(f"django-ca does not know serial {_hex(revocation.serial)}")
            if response.status_code == 400:
                state = await self.status(revocation.serial)
                if state.status is not CertStatus.REVOKED:
                    raise CAError(f"django-ca refused the revocation: {_detail(response)}")

    async def status(self, serial: int) -> Status:
        path = f"/api/ca/{self.ca}/certs/{_hex(serial)}/"
        async with self._client() as client:
            try:
                response = await self._call(client, "GET", path)
            except TransientCAError:
                # django-ca 3.2 answers 500 (not 404) for a serial it does not have: when the
                # CA itself answers, the serial is taken as unknown.
                await self._json(client, "GET", f"/api/ca/{self.ca}/")
                return Status(CertStatus.UNKNOWN)
            if response.status_code == 404:
                raise CAError(f"django-ca has no API-enabled CA {self.ca}")
            if response.status_code >= 400:
                raise CAError(f"django-ca GET {path}: {_detail(response)}")
            cert = response.json()
        if not cert["revoked"]:
            return Status(CertStatus.GOOD)
        name = cert.get("revoked_reason") or "unspecified"
        reason = x509.ReasonFlags[name] if name in x509.ReasonFlags.__members__ else None
        return Status(
            CertStatus.REVOKED,
            revoked_at=_when(cert.get("revoked_date")),
            reason=None if reason is x509.ReasonFlags.unspecified else reason,
            invalidity_date=_when(cert.get("compromised")),
        )

    async def crl(self) -> bytes:
        """django-ca's CRL, from memory for DJANGO_CA_CRL_REFRESH_SECONDS, and while django-ca is
        unreachable until its nextUpdate (app.issuance.ca.crl_cache)."""
        return await self.crl_cache.get()

    async def _fetch_crl(self) -> bytes:
        async with self._client() as client:
            response = await self._call(client, "GET", f"/crl/{self.ca}/")
        if response.status_code >= 400:
            raise CAError(f"django-ca CRL: HTTP {response.status_code}")
        return response.content

    async def _issuing(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate((await self.chain())[0])

    # -- OCSP ------------------------------------------------------------------------------

    async def ocsp(self, request_der: bytes) -> bytes:
        """django-ca's own answer to a DER OCSP request (its responder for this CA's end-entity
        certificates, signed by its delegated responder certificate). TransientCAError when it
        is unreachable, slow (OCSP_TIMEOUT) or answers what is not an OCSP response."""
        path = f"/ocsp/{self.ca}/cert/"
        timeout = min(self.settings.timeout, OCSP_TIMEOUT)
        async with httpx.AsyncClient(base_url=self.base, timeout=timeout) as client:
            response = await self._call(
                client,
                "POST",
                path,
                content=request_der,
                headers={"Content-Type": "application/ocsp-request"},
            )
        if response.status_code >= 400:
            raise TransientCAError(f"django-ca OCSP: HTTP {response.status_code}")
        try:
            ocsp.load_der_ocsp_response(response.content)
        except ValueError as error:
            raise TransientCAError("django-ca answered OCSP with what is not one") from error
        return response.content

    # -- chain -----------------------------------------------------------------------------

    async def chain(self) -> tuple[bytes, ...]:
        """Issuing CA first, root last; fetched once per adapter (CA certificates rarely change)."""
        if self._chain is not None:
            return self._chain
        async with self._client() as client:
            ca = await self._json(client, "GET", f"/api/ca/{self.ca}/")
            pems = [ca["certificate"]["pem"].encode()]
            current = x509.load_pem_x509_certificate(pems[0])
            while current.issuer != current.subject and len(pems) < MAX_CHAIN:
                url = _ca_issuers_url(current)
                if url is None:
                    break
                response = await self._call(client, "GET", self._issuer_url(url))
                if response.status_code >= 400:
                    raise CAError(
                        f"django-ca issuer certificate {url}: HTTP {response.status_code}"
                    )
                current = x509.load_der_x509_certificate(response.content)
                pems.append(current.public_bytes(Encoding.PEM))
        self._chain = tuple(pems)
        return self._chain

    def _issuer_url(self, published: str) -> str:
        """django-ca's own issuer view for a caIssuers URL it published: certificates carry the
        public name for relying parties, which the RA may not reach (nor need to)."""
        path = urlsplit(published).path
        marker = "/issuer/"
        if marker in path and path.endswith(".der"):
            return self.base + marker + path.rsplit(marker, 1)[1]
        return published


def _ca_issuers_url(cert: x509.Certificate) -> str | None:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in aia:
        if description.access_method == AuthorityInformationAccessOID.CA_ISSUERS and isinstance(
            description.access_location, x509.UniformResourceIdentifier
        ):
            return str(description.access_location.value)
    return None


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except ValueError:
        return response.text[:300]


__all__ = ["DjangoCA", "request_tag"]
