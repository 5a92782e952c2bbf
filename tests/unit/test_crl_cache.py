"""The CRL cache of a remote CA (app.issuance.ca.crl_cache) on real signed CRLs: what is kept,
what is refused, and what is served when the CA cannot be asked. The CA itself is a list of
answers here; against a real django-ca: tests/integration/issuance/test_django_ca_crl.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app.issuance.ca import crl as crl_builder
from app.issuance.ca.base import CAError, TransientCAError
from app.issuance.ca.controller import crl_max_age
from app.issuance.ca.crl_cache import CrlCache

KEYS = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


def issuer(key: rsa.RSAPrivateKey, name: str = "Remote Issuing CA") -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


ISSUER = issuer(KEYS[0])
IMPOSTOR = issuer(KEYS[1])  # same name, another key


def signed(number: int, next_update: timedelta = timedelta(days=1), by: int = 0) -> bytes:
    now = datetime.now(UTC)
    ca = ISSUER if by == 0 else IMPOSTOR
    return crl_builder.build(ca, KEYS[by], [], number, now, now + next_update)


class Remote:
    """What the CA answers, one item per fetch: DER, or an exception to raise."""

    def __init__(self, *answers: bytes | Exception) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def fetch(self) -> bytes:
        self.asked += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        await asyncio.sleep(0.01)  # a network round trip: concurrent callers overlap it
        if isinstance(answer, Exception):
            raise answer
        return answer


async def the_issuer() -> x509.Certificate:
    return ISSUER


def cache(remote: Remote, refresh: float = 300.0) -> tuple[CrlCache, Callable[[float], None]]:
    now = [1000.0]
    crls = CrlCache(remote.fetch, the_issuer, refresh, clock=lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return crls, advance


def number(der: bytes) -> int:
    return crl_builder.number_of(der)


async def test_served_from_memory_until_the_refresh_interval_passes() -> None:
    remote = Remote(signed(1), signed(2))
    crls, advance = cache(remote, refresh=60)
    assert number(await crls.get()) == 1
    advance(59)
    assert number(await crls.get()) == 1 and remote.asked == 1
    advance(2)
    assert number(await crls.get()) == 2 and remote.asked == 2


async def test_a_burst_asks_the_ca_once() -> None:
    remote = Remote(signed(1))
    crls, _ = cache(remote)
    answers = await asyncio.gather(*(crls.get() for _ in range(50)))
    assert remote.asked == 1 and crls.fetches == 1
    assert len({id(a) for a in answers}) == 1


async def test_while_one_refreshes_the_others_get_the_held_crl_at_once() -> None:
    remote = Remote(signed(1), signed(2))
    crls, advance = cache(remote, refresh=10)
    await crls.get()
    advance(11)
    first, *others = await asyncio.gather(*(crls.get() for _ in range(5)))
    assert number(first) == 2 and {number(o) for o in others} == {1}
    assert remote.asked == 2
    assert number(await crls.get()) == 2


@pytest.mark.parametrize(
    "failure",
    [
        TransientCAError("unreachable"),
        CAError("HTTP 404"),
        b"not a CRL",
        signed(9, by=1),  # signed by another key under the same name
    ],
    ids=["unreachable", "refused", "garbage", "impostor"],
)
async def test_a_failed_refresh_serves_the_held_crl_and_asks_again_later(
    failure: bytes | Exception,
) -> None:
    good = signed(1)
    remote = Remote(good, failure, signed(2))
    crls, advance = cache(remote, refresh=300)
    assert await crls.get() == good
    advance(301)
    assert await crls.get() == good and remote.asked == 2
    advance(10)
    assert await crls.get() == good and remote.asked == 2  # not asked again at once
    advance(21)  # RETRY_SECONDS after the failure
    assert number(await crls.get()) == 2 and remote.asked == 3


@pytest.mark.parametrize(
    "failure",
    [TransientCAError("unreachable"), b"\x30\x03\x02\x01\x00", signed(5, by=1)],
    ids=["unreachable", "garbage", "impostor"],
)
async def test_nothing_held_and_nothing_good_raises(failure: bytes | Exception) -> None:
    crls, _ = cache(Remote(failure))
    with pytest.raises(TransientCAError):
        await crls.get()


async def test_a_refused_fetch_with_nothing_held_stays_a_refusal() -> None:
    crls, _ = cache(Remote(CAError("HTTP 404")))
    with pytest.raises(CAError) as raised:
        await crls.get()
    assert not isinstance(raised.value, TransientCAError)


async def test_a_held_crl_past_its_next_update_is_not_served_when_the_ca_fails() -> None:
    expired = signed(1, next_update=timedelta(seconds=-60))
    remote = Remote(expired, TransientCAError("unreachable"))
    crls, advance = cache(remote, refresh=60)
    assert await crls.get() == expired  # what the CA publishes, served as it is
    advance(61)
    with pytest.raises(TransientCAError):
        await crls.get()


async def test_an_older_crl_than_the_held_one_does_not_replace_it() -> None:
    newer = signed(7)
    remote = Remote(newer, signed(6))
    crls, advance = cache(remote, refresh=60)
    await crls.get()
    advance(61)
    assert await crls.get() == newer and remote.asked == 2


@pytest.mark.parametrize(
    ("left", "max_age"),
    [(timedelta(days=1), 3600), (timedelta(minutes=10), 600), (timedelta(minutes=-5), 0)],
)
def test_the_crl_routes_max_age_never_runs_past_next_update(left: timedelta, max_age: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    der = crl_builder.build(ISSUER, KEYS[0], [], 1, now - timedelta(hours=1), now + left)
    assert crl_max_age(der, now) == max_age
