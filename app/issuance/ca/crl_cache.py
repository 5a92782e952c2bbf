"""A CRL another CA publishes, kept in memory: refreshed after an interval, fetched once however
many ask at the same time, and served past a failed refresh until its nextUpdate."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography import x509

from app.issuance.ca.base import CAError, TransientCAError

log = logging.getLogger("jcan.ca.crl_cache")
RETRY_SECONDS = 30.0  # after a failed refresh, ask again after this (or the refresh interval)


@dataclass(frozen=True)
class _Held:
    der: bytes
    next_update: datetime | None
    number: int
    refresh_at: float  # the cache's clock() after which the CA is asked again

    def usable(self) -> bool:
        """Worth serving while the CA cannot be asked: before its nextUpdate."""
        return self.next_update is not None and datetime.now(UTC) < self.next_update


class CrlCache:
    """`get()` answers from memory until `refresh_seconds` have passed since the last fetch.
    Then one caller fetches (`fetch()`: the DER) while the others wait for it in the event loop
    (no thread is parked), or, when a CRL before its nextUpdate is held, are answered with it at
    once. What is fetched must be a DER CRL v2 (a CRL Number) that `issuer()` signed, else it
    is not kept. A failed fetch (unreachable, refused, not such a CRL) serves the held CRL until
    its nextUpdate and asks again after RETRY_SECONDS; with none held the error goes on."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[bytes]],
        issuer: Callable[[], Awaitable[x509.Certificate]],
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._issuer = issuer
        self.refresh_seconds = refresh_seconds
        self.clock = clock  # seconds, monotonic (tests move it instead of sleeping)
        self._held: _Held | None = None
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self.fetches = 0  # calls of fetch(): what the CA was asked

    async def get(self) -> bytes:
        held = self._held
        if held is not None and self.clock() < held.refresh_at:
            return held.der
        lock = self._loop_lock()
        if lock.locked() and held is not None and held.usable():
            return held.der  # another caller is asking the CA right now
        async with lock:
            held = self._held
            if held is not None and self.clock() < held.refresh_at:
                return held.der  # fetched while this caller waited
            try:
                fetched = await self._fetched()
            except CAError as error:
                if held is None or not held.usable():
                    raise
                log.warning("CRL refresh failed (%s); serving CRL number %s", error, held.number)
                retry = min(self.refresh_seconds, RETRY_SECONDS)
                self._held = replace(held, refresh_at=self.clock() + retry)
                return held.der
            if held is not None and fetched.number < held.number:
                fetched = held  # an older CRL than the one held (a replica behind): keep ours
            self._held = replace(fetched, refresh_at=self.clock() + self.refresh_seconds)
            return fetched.der

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:  # an asyncio.Lock serves one loop
            self._lock = (loop, asyncio.Lock())
        return self._lock[1]

    async def _fetched(self) -> _Held:
        self.fetches += 1
        der = await self._fetch()
        try:
            crl = x509.load_der_x509_crl(der)
            number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        except (ValueError, x509.ExtensionNotFound) as error:
            raise TransientCAError("the CA served what is not a DER CRL v2") from error
        issuer = await self._issuer()
        public_key = issuer.public_key()
        if crl.issuer != issuer.subject or not crl.is_signature_valid(public_key):  # type: ignore[arg-type]
            raise TransientCAError("the CA served a CRL its issuing CA did not sign")
        return _Held(der, crl.next_update_utc, number, refresh_at=0.0)
