"""The CAs the issuance drills run against (the local CA, a real django-ca server) and what each
CA itself holds for a request id: its own record, not the portal's (the local CA's table of
what it signed; django-ca's REST API listing the certificates carrying the request's tag)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

import httpx

from app.issuance.ca.django_ca import request_tag
from app.issuance.ca.tables import LocalCaCertificate
from app.settings import DjangoCASettings
from tests.helpers import django_ca_settings

BACKENDS = ("local", "django-ca")


@dataclass(frozen=True)
class Held:
    """One certificate a CA signed for a request: serial in lowercase hex, as the portal stores."""

    serial: str
    revoked: bool


class CARecord(Protocol):
    async def held(self, request_id: str) -> list[Held]:
        """The certificates the CA signed for this request id, in the order it signed them."""
        ...


class LocalRecord:
    async def held(self, request_id: str) -> list[Held]:
        rows = (
            await LocalCaCertificate.select(
                LocalCaCertificate.serial, LocalCaCertificate.revoked_at
            )
            .where(LocalCaCertificate.request_id == request_id)
            .order_by(LocalCaCertificate.id)
        )
        return [Held(r["serial"], r["revoked_at"] is not None) for r in rows]


class DjangoCARecord:
    """django-ca's REST API directly (not the adapter): every certificate with the tag,
    revoked and expired ones too, oldest (lowest django-ca id) first."""

    def __init__(self, settings: DjangoCASettings) -> None:
        self.settings = settings

    async def held(self, request_id: str) -> list[Held]:
        s = self.settings
        tag = request_tag(request_id)
        async with httpx.AsyncClient(auth=(s.username, s.password), timeout=10) as client:
            response = await client.get(
                f"{s.url}/api/ca/{s.ca_serial}/certs/",
                params={"profile": tag, "revoked": "true", "expired": "true"},
            )
        response.raise_for_status()
        certs = sorted(
            (c for c in response.json() if c.get("profile") == tag), key=lambda c: int(c["id"])
        )
        return [Held(format(int(c["certificate"]["serial"], 16), "x"), c["revoked"]) for c in certs]


def with_ca(settings: Any, backend: str, server: Any = None) -> Any:
    """These settings with CA_BACKEND=backend (and DJANGO_CA_* of the running server)."""
    settings = replace(settings, ca=replace(settings.ca, backend=backend))
    if backend == "django-ca":
        dca = django_ca_settings(server)
        settings = replace(settings, django_ca=dca)
    return settings


def record_of(settings: Any) -> CARecord:
    if settings.ca.backend == "django-ca":
        return DjangoCARecord(settings.django_ca)
    return LocalRecord()
