"""django-ca's CRL through the portal, against a real django-ca 3.2 server: held in memory for
DJANGO_CA_CRL_REFRESH_SECONDS (a burst asks django-ca once), a revocation shown once django-ca
regenerated its CRL and the interval passed, the held CRL served while django-ca is down, and
503 from /ca/crl with nothing held and django-ca unreachable.

SQLite pass only, like test_django_ca.py (one django-ca server for the session).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509

from app.issuance.ca.base import Revocation, TransientCAError
from app.issuance.ca.django_ca import DjangoCA
from app.settings import DjangoCASettings
from tests.helpers import client_for, django_ca_settings
from tests.integration.issuance.test_django_ca import request
from tests.support.services import TEST_DATABASE_URL, free_port

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="engine-independent: runs in the SQLite pass only"
)


@pytest.fixture(scope="module")
def dca_settings(django_ca_server: Any) -> DjangoCASettings:
    return django_ca_settings(django_ca_server)


def crl_requests(server: Any) -> int:
    """The CRL requests django-ca itself logged (runserver writes one line per request)."""
    log = (server.directory / "server.log").read_text(errors="replace")
    return len(re.findall(rf'"GET /django_ca/crl/{server.ca_serial}/ HTTP', log))


async def settled_crl_requests(server: Any) -> int:
    """runserver logs a request after answering it: wait until the count stops moving."""
    count, stable_since = crl_requests(server), time.monotonic()
    while time.monotonic() - stable_since < 0.5:
        await asyncio.sleep(0.05)
        now = crl_requests(server)
        if now != count:
            count, stable_since = now, time.monotonic()
    return count


class Clock:
    """The cache's monotonic clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


async def test_a_burst_of_fetches_asks_django_ca_once(
    dca_settings: DjangoCASettings, django_ca_server: Any
) -> None:
    ca = DjangoCA(replace(dca_settings, crl_refresh_seconds=300))
    await ca.chain()  # the issuing CA the CRL is checked against (API calls, not CRL ones)
    before = await settled_crl_requests(django_ca_server)
    answers = await asyncio.gather(*(ca.crl() for _ in range(25)))
    assert len(set(answers)) == 1
    x509.load_der_x509_crl(answers[0])
    again = await asyncio.gather(*(ca.crl() for _ in range(25)))  # within the interval
    assert set(again) == set(answers)
    assert ca.crl_cache.fetches == 1
    assert await settled_crl_requests(django_ca_server) == before + 1


async def test_a_revocation_shows_after_the_refresh_interval_and_not_before(
    dca_settings: DjangoCASettings, django_ca_server: Any
) -> None:
    clock = Clock()
    ca = DjangoCA(replace(dca_settings, crl_refresh_seconds=5))
    ca.crl_cache.clock = clock
    issued = await ca.issue(request())
    first = x509.load_der_x509_crl(await ca.crl())
    assert first.get_revoked_certificate_by_serial_number(issued.serial) is None

    await ca.revoke(Revocation(issued.serial, x509.ReasonFlags.superseded, datetime.now(UTC)))
    django_ca_server.refresh_crls()  # django-ca now serves a CRL with the entry
    clock.now += 4.9
    held = x509.load_der_x509_crl(await ca.crl())
    assert held.get_revoked_certificate_by_serial_number(issued.serial) is None
    assert ca.crl_cache.fetches == 1

    clock.now += 0.2
    fresh = x509.load_der_x509_crl(await ca.crl())
    entry = fresh.get_revoked_certificate_by_serial_number(issued.serial)
    assert entry is not None and ca.crl_cache.fetches == 2
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.superseded
    )
    assert crl_number(fresh) > crl_number(first)


def crl_number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


async def test_django_ca_unreachable_serves_the_held_crl(dca_settings: DjangoCASettings) -> None:
    ca = DjangoCA(replace(dca_settings, crl_refresh_seconds=0))
    held = await ca.crl()
    ca.base = f"http://127.0.0.1:{free_port()}/django_ca"  # django-ca gone from its address
    assert await ca.crl() == held
    assert ca.crl_cache.fetches == 2  # it did ask, and kept what it had


async def test_nothing_held_and_django_ca_unreachable_is_503_from_the_route(
    dca_settings: DjangoCASettings, variant: Any
) -> None:
    down = replace(dca_settings, url=f"http://127.0.0.1:{free_port()}/django_ca")
    with pytest.raises(TransientCAError):
        await DjangoCA(down).crl()
    settings = variant(ca={"backend": "django-ca"}, django_ca=down.__dict__)
    async with client_for(settings) as client:
        response = await client.get("/ca/crl")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/plain")


async def test_the_route_serves_django_cas_crl_and_no_longer_than_its_next_update(
    dca_settings: DjangoCASettings, variant: Any
) -> None:
    settings = variant(ca={"backend": "django-ca"}, django_ca=dca_settings.__dict__)
    async with client_for(settings) as client:
        response = await client.get("/ca/crl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.next_update_utc is not None
    match = re.fullmatch(r"public, max-age=(\d+)", response.headers["cache-control"])
    assert match is not None
    left = (crl.next_update_utc - datetime.now(UTC)).total_seconds()
    assert 0 <= int(match.group(1)) <= min(3600, left + 1)
