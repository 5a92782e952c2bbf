"""Revocation for `make bench`: the local CA's CRL builder with 100,000 revoked certificates
against `cryptography` building the same CRL directly, and the OCSP responder's answers per
second (the status read from the database) against a raw build-and-sign loop.

    python -m tests.benchmarks.revocation_load [entries]   (on a scratch SQLite file)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from app import db
from app.db import utcnow
from app.issuance.ca import crl as crl_builder
from app.issuance.ca import keystore
from app.issuance.ca.base import IssueRequest, Profile, Subject
from app.issuance.ca.local import LocalCA
from app.revocation.responder import OcspResponder
from app.schema import TABLES
from app.settings import Settings
from tests.integration.issuance.conftest import csr_for

ENTRIES = 100_000
OCSP_SECONDS = 3.0
REASONS = (None, x509.ReasonFlags.key_compromise, x509.ReasonFlags.superseded)


@dataclass(frozen=True)
class RevocationResult:
    entries: int
    crl_seconds: float
    direct_seconds: float
    ocsp_per_second: float
    raw_per_second: float

    @property
    def crl_ratio(self) -> float:
        return self.crl_seconds / self.direct_seconds

    @property
    def ocsp_ratio(self) -> float:
        return self.ocsp_per_second / self.raw_per_second


def _entries(count: int) -> list[crl_builder.Entry]:
    now = utcnow().replace(microsecond=0)
    return [
        crl_builder.Entry(
            serial=10**20 + n,
            revoked_at=now - timedelta(seconds=n),
            reason=REASONS[n % 3],
            invalidity_date=now - timedelta(days=1) if n % 3 == 1 else None,
        )
        for n in range(count)
    ]


def _direct(hierarchy: keystore.Hierarchy, entries: list[crl_builder.Entry]) -> bytes:
    """The same CRL straight from cryptography (the entries passed to the builder at once)."""
    now = utcnow().replace(microsecond=0)
    revoked = []
    for entry in entries:
        builder = x509.RevokedCertificateBuilder().serial_number(entry.serial)
        builder = builder.revocation_date(entry.revoked_at)
        if entry.reason is not None:
            builder = builder.add_extension(x509.CRLReason(entry.reason), critical=False)
            if entry.invalidity_date is not None:
                builder = builder.add_extension(
                    x509.InvalidityDate(entry.invalidity_date), critical=False
                )
        revoked.append(builder.build())
    ski = hierarchy.issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    crl = x509.CertificateRevocationListBuilder(
        issuer_name=hierarchy.issuing.subject,
        last_update=now,
        next_update=now + timedelta(days=7),
        extensions=[
            x509.Extension(aki.oid, False, aki),
            x509.Extension(x509.CRLNumber(1).oid, False, x509.CRLNumber(1)),
        ],
        revoked_certificates=revoked,
    ).sign(hierarchy.issuing_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def crl_times(settings: Settings, count: int) -> tuple[float, float]:
    hierarchy = keystore.load(settings)
    entries = _entries(count)
    now = utcnow()
    started = time.perf_counter()
    ours = crl_builder.build(
        hierarchy.issuing, hierarchy.issuing_key, entries, 2, now, now + timedelta(days=7)
    )
    portal = time.perf_counter() - started
    started = time.perf_counter()
    direct = _direct(hierarchy, entries)
    raw = time.perf_counter() - started
    assert len(x509.load_der_x509_crl(ours)) == len(x509.load_der_x509_crl(direct)) == count
    return portal, raw


async def ocsp_rates(settings: Settings, seconds: float) -> tuple[float, float]:
    ca = LocalCA(settings)
    subject = Subject("Bench Taro", "", "", "bench@example.jp", given_name="Taro", surname="Bench")
    _, csr = csr_for()
    issued = await ca.issue(IssueRequest(str(uuid.uuid4()), csr, subject, Profile(365)))
    issuing = x509.load_pem_x509_certificate((await ca.chain())[0])
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(issued.certificate, issuing, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    responder = OcspResponder(settings, ca)
    await responder.answer(request, utcnow())  # the responder certificate made once
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        await responder.answer(request, utcnow())
        count += 1
    ours = count / (time.perf_counter() - started)
    signer = await responder.responder(utcnow())
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        now = utcnow().replace(microsecond=0)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=issued.certificate,
                issuer=issuing,
                algorithm=hashes.SHA1(),
                cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=now,
                next_update=now + timedelta(hours=24),
                revocation_time=None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate)
            .certificates([signer.certificate])
        )
        builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        count += 1
    raw = count / (time.perf_counter() - started)
    return ours, raw


async def run(settings: Settings, count: int = ENTRIES) -> RevocationResult:
    """On `settings`' database (migrated), with a CA of its own in a temporary VAR_DIR."""
    folder = Path(tempfile.mkdtemp(prefix="jcan-bench-ca-"))
    settings = replace(settings, app=replace(settings.app, var_dir=folder))
    hierarchy, root_key = keystore.make_hierarchy(settings, utcnow())
    keystore.save(settings, hierarchy, root_key)
    portal, direct = await asyncio.to_thread(crl_times, settings, count)
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    try:
        ours, raw = await ocsp_rates(settings, OCSP_SECONDS)
    finally:
        await db.stop(engine)
    return RevocationResult(count, portal, direct, ours, raw)


async def _standalone(count: int) -> RevocationResult:
    folder = Path(tempfile.mkdtemp(prefix="jcan-bench-revocation-"))
    settings = Settings.from_env({"APP_ENV": "test", "SQLITE_PATH": str(folder / "bench.sqlite3")})
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    for table in TABLES:
        await table.create_table(if_not_exists=True)
    return await run(settings, count)


def main(argv: list[str]) -> int:
    result = asyncio.run(_standalone(int(argv[0]) if argv else ENTRIES))
    print(
        f"CRL of {result.entries:,}: portal {result.crl_seconds:.2f} s, cryptography directly "
        f"{result.direct_seconds:.2f} s ({result.crl_ratio:.2f}×); "
        f"OCSP {result.ocsp_per_second:.0f}/s vs raw signing {result.raw_per_second:.0f}/s "
        f"({100 * result.ocsp_ratio:.0f}%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
