"""The `local` CA: an issuing CA inside the portal (keys under VAR_DIR/ca, its own tables)."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import IO, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import app.issuance.ca.crl as crl_builder
import app.issuance.ca.keystore as keystore
from app import db
from app.issuance import profile
from app.issuance.ca.base import (
    CAError,
    CertStatus,
    Issued,
    IssueRequest,
    Revocation,
    Status,
)
from app.issuance.ca.tables import LocalCaCertificate, LocalCaCrl
from app.settings import Settings


def serial_text(serial: int) -> str:
    return format(serial, "x")


class LocalCA:
    """CertificateAuthority over the files `jcan ca init` made. Signing runs in a thread."""

    name = "local"

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = db.utcnow) -> None:
        self.settings = settings
        self.paths = keystore.Paths(settings.ca_dir)
        self._clock = clock
        self._hierarchy: keystore.Hierarchy | None = None
        self._chain: tuple[bytes, ...] | None = None
        self._crl_cache: tuple[float, bytes, datetime] | None = None  # (mtime, DER, nextUpdate)
        # One signing of the CRL at a time in this process: the others wait on this lock in
        # the event loop. Had each taken the file lock itself, a burst of fetches of a stale
        # CRL would park every thread of the default pool in flock(), and the holder's own
        # to_thread calls would never run (the web worker hung: 0 answers at 50 connections).
        self._crl_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    async def load(self) -> None:
        """Decrypt the CA's keys now rather than at the first signing (CAError when missing)."""
        await self._loaded()

    async def _loaded(self) -> keystore.Hierarchy:
        if self._hierarchy is None:
            self._hierarchy = await asyncio.to_thread(keystore.load, self.settings)
        return self._hierarchy

    # --- issuing ------------------------------------------------------------------------------

    async def issue(self, request: IssueRequest) -> Issued:
        existing = await self._signed_for(request.request_id)
        if existing is not None:
            return existing
        hierarchy = await self._loaded()
        certificate = await asyncio.to_thread(self._sign, hierarchy, request, self._clock())
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        try:
            await LocalCaCertificate.insert(
                LocalCaCertificate(
                    request_id=request.request_id,
                    serial=serial_text(certificate.serial_number),
                    pem=pem.decode(),
                    issued_at=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                )
            )
        except Exception as exc:
            if not db.is_unique_violation(exc):
                raise
            # The same request signed at the same time elsewhere: its certificate is the one.
            existing = await self._signed_for(request.request_id)
            if existing is None:
                raise CAError("serial number collision; ask again") from exc
            return existing
        return Issued(
            certificate_pem=pem, chain_pem=await self.chain(), serial=certificate.serial_number
        )

    def _sign(
        self, hierarchy: keystore.Hierarchy, request: IssueRequest, now: datetime
    ) -> x509.Certificate:
        try:
            csr = x509.load_pem_x509_csr(request.csr_pem)
        except ValueError:
            raise CAError("the CSR is not a PEM PKCS#10 request") from None
        if not csr.is_signature_valid:
            raise CAError("the CSR's signature does not verify")
        builder = profile.certificate_builder(
            csr.public_key(),
            request.subject,
            request.profile,
            hierarchy.issuing,
            self.settings,
            now,
        )
        return builder.sign(hierarchy.issuing_key, hashes.SHA256())

    async def _signed_for(self, request_id: str) -> Issued | None:
        row = (
            await LocalCaCertificate.select(LocalCaCertificate.pem, LocalCaCertificate.serial)
            .where(LocalCaCertificate.request_id == request_id)
            .first()
        )
        if row is None:
            return None
        return Issued(
            certificate_pem=row["pem"].encode(),
            chain_pem=await self.chain(),
            serial=int(row["serial"], 16),
        )

    async def chain(self) -> tuple[bytes, ...]:
        if self._chain is None:
            issuing, root = await asyncio.to_thread(keystore.load_certificates, self.settings)
            self._chain = tuple(
                cert.public_bytes(serialization.Encoding.PEM) for cert in (issuing, root)
            )
        return self._chain

    # --- revocation ---------------------------------------------------------------------------

    async def revoke(self, revocation: Revocation) -> None:
        reason = revocation.reason
        if reason is x509.ReasonFlags.unspecified:
            reason = None  # SBR 7.2.2: omit reasonCode rather than write unspecified
        table = LocalCaCertificate
        invalidity = revocation.invalidity_date
        if reason is not x509.ReasonFlags.key_compromise:
            invalidity = None
        changed = (
            await table.update(
                {
                    table.revoked_at: revocation.revoked_at,
                    table.reason: reason.value if reason else None,
                    table.invalidity_date: invalidity,
                }
            )
            .where((table.serial == serial_text(revocation.serial)) & table.revoked_at.is_null())
            .returning(table.id)
        )
        if not changed:
            if await table.count().where(table.serial == serial_text(revocation.serial)) == 0:
                raise CAError(f"serial {serial_text(revocation.serial)} was not issued here")
            return  # revoked already: a retry
        await self.publish_crl()

    async def status(self, serial: int) -> Status:
        row = (
            await LocalCaCertificate.select(
                LocalCaCertificate.revoked_at,
                LocalCaCertificate.reason,
                LocalCaCertificate.invalidity_date,
            )
            .where(LocalCaCertificate.serial == serial_text(serial))
            .first()
        )
        if row is None:
            return Status(CertStatus.UNKNOWN)
        if row["revoked_at"] is None:
            return Status(CertStatus.GOOD)
        return Status(
            CertStatus.REVOKED,
            revoked_at=row["revoked_at"],
            reason=x509.ReasonFlags(row["reason"]) if row["reason"] else None,
            invalidity_date=row["invalidity_date"],
        )

    # --- the CRL ------------------------------------------------------------------------------

    async def crl(self) -> bytes:
        """The pre-signed CRL file; signed anew when missing or past half its validity (once,
        however many ask at the same time)."""
        fresh = await self._fresh_crl()
        if fresh is not None:
            return fresh
        async with self._signing():
            fresh = await self._fresh_crl()  # signed while this one waited
            if fresh is not None:
                return fresh
            return await self._publish_crl()

    async def _fresh_crl(self) -> bytes | None:
        # The file unchanged since it was read (one stat, in the loop): the copy in memory;
        # read anew (in a thread: it may be megabytes) when it changed.
        cached = self._cached_crl() or await asyncio.to_thread(self._read_crl)
        if cached is None:
            return None
        der, next_update = cached
        if self._clock() < next_update - timedelta(days=self.settings.ca.crl_days / 2):
            return der
        return None

    def _signing(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._crl_lock is None or self._crl_lock[0] is not loop:  # a lock serves one loop
            self._crl_lock = (loop, asyncio.Lock())
        return self._crl_lock[1]

    def _crl_mtime(self) -> float | None:
        try:
            return self.paths.crl.stat().st_mtime
        except FileNotFoundError:
            return None

    def _cached_crl(self) -> tuple[bytes, datetime] | None:
        """The CRL in memory while the file is the one it was read from (one stat), else None."""
        mtime = self._crl_mtime()
        if mtime is None or self._crl_cache is None or self._crl_cache[0] != mtime:
            return None
        return self._crl_cache[1], self._crl_cache[2]

    def _read_crl(self) -> tuple[bytes, datetime] | None:
        """The CRL file and its nextUpdate (read again only when the file changed)."""
        mtime = self._crl_mtime()
        if mtime is None:
            return None
        if self._crl_cache is None or self._crl_cache[0] != mtime:
            der = self.paths.crl.read_bytes()
            next_update = x509.load_der_x509_crl(der).next_update_utc
            if next_update is None:
                return None
            self._crl_cache = (mtime, der, next_update)
        return self._crl_cache[1], self._crl_cache[2]

    async def publish_crl(self) -> bytes:
        """Sign a CRL and write it to VAR_DIR/ca/crl.der, under a file lock shared by every
        process (web, worker, CLI). The CRL Number is the thisUpdate time in microseconds (as
        Boulder does), and always above the number of the file it replaces; the revoked rows
        are read under the lock, so the highest number carries every committed revocation."""
        async with self._signing():
            return await self._publish_crl()

    async def _publish_crl(self) -> bytes:
        hierarchy = await self._loaded()
        lock = await asyncio.to_thread(self._lock_crl)
        try:
            now = self._clock()
            current = await asyncio.to_thread(self._read_crl)
            number = int(now.timestamp() * 1_000_000)
            if current is not None:
                number = max(number, crl_builder.number_of(current[0]) + 1)
            next_update = now + timedelta(days=self.settings.ca.crl_days)
            table = LocalCaCertificate
            rows = await table.select(
                table.serial, table.revoked_at, table.reason, table.invalidity_date
            ).where(table.revoked_at.is_not_null() & (table.not_after > now))
            entries = [_entry(row) for row in rows]
            der = await asyncio.to_thread(
                crl_builder.build,
                hierarchy.issuing,
                hierarchy.issuing_key,
                entries,
                number,
                now,
                next_update,
            )
            await asyncio.to_thread(keystore.write_atomically, self.paths.crl, der)
            await LocalCaCrl.insert(
                LocalCaCrl(
                    number=number, this_update=now, next_update=next_update, entries=len(entries)
                )
            )
        finally:
            await asyncio.to_thread(lock.close)
        return der

    def _lock_crl(self) -> IO[str]:
        self.paths.directory.mkdir(parents=True, exist_ok=True)
        handle = open(self.paths.directory / "crl.lock", "a")  # noqa: SIM115 (closed by caller)
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle


def _entry(row: dict[str, Any]) -> crl_builder.Entry:
    return crl_builder.Entry(
        serial=int(row["serial"], 16),
        revoked_at=row["revoked_at"],
        reason=x509.ReasonFlags(row["reason"]) if row["reason"] else None,
        invalidity_date=row["invalidity_date"],
    )
