"""The certificate authorities the portal can stand in front of (CA_BACKEND chooses one)."""

from __future__ import annotations

from app.issuance.ca.base import CertificateAuthority
from app.issuance.ca.local import LocalCA
from app.settings import Settings


def select(settings: Settings) -> CertificateAuthority:
    """The adapter CA_BACKEND names (settings validation has refused unknown names)."""
    if settings.ca.backend == "local":
        return LocalCA(settings)
    raise ValueError(f"unknown CA_BACKEND {settings.ca.backend!r}")
