"""Issuing (issue 15): approvals issued by the arq worker against a raw loop of the same work,
the approvals fed to the worker while the pages are loaded, and the pickup's PKCS#12 download.

The applications are COPYed in (tickets, registrations, answers that pass the application
form's checks, their certificate addresses `issue-bench.<n>@example.com`, whose pickup links
the bench's SMTP sink keeps). An approval is what the console's approve leaves: the status
`approved`, a status change to it, and `issue_certificate(id)` enqueued after the commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from arq import create_pool
from arq.connections import ArqRedis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from ulid import ULID

from app.issuance import keys, profile
from app.issuance.ca import keystore
from app.issuance.service import ca_subject, issue_job_id, subject_text
from app.jobs import deserialize, redis_settings, serialize
from app.links import tokens
from app.settings import Settings
from tests.benchmarks.review_load import COLUMNS, _answers

ISSUES = 40  # approvals of the rate row, and as many rounds of the raw loop
BASE_ID = 30_000_000  # apart from review_load's rows
COMPANY = "ISSUEB"
RECIPIENT = "issue-bench"  # the sink keeps the pickup links of these addresses
BACKLOG = 8  # approvals the feeder keeps waiting for the worker during the page loads


@dataclass
class Seeder:
    """Applications in blocks of ids of their own; `approve` makes approvals of some."""

    connection: Any
    company_id: int = 0
    next_id: int = BASE_ID

    async def start(self) -> None:
        self.company_id = await self.connection.fetchval(
            "INSERT INTO company (code, name, created_at) VALUES ($1, $2, now()) RETURNING id",
            COMPANY,
            "発行ベンチマーク株式会社",
        )

    async def applications(self, count: int, status: str = "recommended") -> list[int]:
        """`count` applications, reviewed and recommended (not approved: the relay cron
        would queue an approved one by itself)."""
        now = datetime.now(UTC)
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        tickets, registrations, applications = [], [], []
        for row_id in ids:
            n = row_id - BASE_ID
            answers = _answers(n) | {"cert_email": f"{RECIPIENT}.{n}@example.com"}
            tickets.append((row_id, f"IB-{n:08d}", self.company_id, now, now, now))
            registrations.append(
                (row_id, f"I{n:025d}", "self", self.company_id, row_id, f"ib{n}@example.net", now)
            )
            applications.append(
                (
                    row_id,
                    f"I{n:025d}",
                    f"IB-{n // 10000:04d}-{n % 10000:04d}",
                    row_id,
                    row_id,
                    "self",
                    status,
                    json.dumps(answers, ensure_ascii=False),
                    "",
                    now,
                    now,
                    now,
                    None,
                    None,
                    None,
                    "",
                )
            )
        for table, records in (
            ("ticket", tickets),
            ("registration", registrations),
            ("application", applications),
        ):
            await self.connection.copy_records_to_table(
                table, records=records, columns=COLUMNS[table]
            )
        return ids

    async def approve(self, ids: list[int]) -> None:
        """The approver's transaction for these applications (the job is queued after it)."""
        async with self.connection.transaction():
            await self.connection.execute(
                "UPDATE application SET status = 'approved', decided_at = now(), "
                "updated_at = now() WHERE id = ANY($1::int[])",
                ids,
            )
            await self.connection.executemany(
                "INSERT INTO application_status_change (application, from_status, to_status, "
                "actor, actor_id, reason, at) VALUES ($1, 'recommended', 'approved', "
                "'operator', 'bench', '', now())",
                [(i,) for i in ids],
            )

    async def issued(self, ids: list[int]) -> int:
        return int(
            await self.connection.fetchval(
                "SELECT count(*) FROM certificate WHERE application = ANY($1::int[]) "
                "AND status = 'issued'",
                ids,
            )
        )


async def _queue(settings: Settings) -> ArqRedis:
    return await create_pool(
        redis_settings(settings.jobs.redis_url),
        default_queue_name=settings.jobs.queue_name,
        job_serializer=serialize,
        job_deserializer=deserialize,
    )


async def enqueue(redis: ArqRedis, settings: Settings, ids: list[int]) -> None:
    """As the web tier's ArqQueue does after the approval's commit."""
    queue = settings.jobs.queue_name
    for application_id in ids:
        await redis.enqueue_job(
            "issue_certificate",
            application_id,
            _job_id=f"{queue}:{issue_job_id(application_id)}",
            _queue_name=queue,
        )


async def wait_issued(seeder: Seeder, ids: list[int], timeout: float = 300.0) -> None:
    deadline = time.perf_counter() + timeout
    while (done := await seeder.issued(ids)) < len(ids):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {done} of {len(ids)} certificates issued in time")
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class RateResult:
    issues: int
    worker_seconds: float
    raw_seconds: float

    @property
    def worker_rate(self) -> float:
        return self.issues / self.worker_seconds

    @property
    def raw_rate(self) -> float:
        return self.issues / self.raw_seconds

    @property
    def ratio(self) -> float:
        return self.worker_rate / self.raw_rate


async def _raw_issue(
    connection: Any, settings: Settings, hierarchy: keystore.Hierarchy, application_id: int
) -> None:
    """One application's issuing without the portal: the key and CSR, the subject from the
    answers, the local CA's signature, and the rows (the CA's record, the certificate, the
    pickup link, the wrapped key, the status) in one transaction."""
    row = await connection.fetchrow(
        "SELECT answers, applicant_type FROM application WHERE id = $1", application_id
    )
    subject, chosen = ca_subject(dict(row))
    material = keys.make_key_and_csr(settings.ca.rsa_key_size, subject.common_name)
    csr = x509.load_pem_x509_csr(material.csr_pem)
    assert csr.is_signature_valid
    now = datetime.now(UTC)
    builder = profile.certificate_builder(
        csr.public_key(), subject, chosen, hierarchy.issuing, settings, now
    )
    certificate = builder.sign(hierarchy.issuing_key, hashes.SHA256())
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    der = certificate.public_bytes(serialization.Encoding.DER)
    chain = hierarchy.issuing.public_bytes(serialization.Encoding.PEM).decode()
    serial = format(certificate.serial_number, "x")
    request_id = f"raw-{application_id}"
    token = secrets.token_urlsafe(32)
    wrapped = keys.wrap(material.key_der, token, request_id)
    async with connection.transaction():
        await connection.execute(
            "INSERT INTO local_ca_certificate (request_id, serial, pem, issued_at, not_after) "
            "VALUES ($1, $2, $3, $4, $5)",
            request_id,
            serial,
            pem,
            certificate.not_valid_before_utc,
            certificate.not_valid_after_utc,
        )
        certificate_id = await connection.fetchval(
            "INSERT INTO certificate (public_id, application, request_id, status, key_origin, "
            "csr_pem, subject, serial, not_before, not_after, fingerprint, certificate_pem, "
            "chain_pem, created_at, issued_at) VALUES ($1, $2, $3, 'issued', 'generated', $4, "
            "$5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            str(ULID()),
            application_id,
            request_id,
            material.csr_pem.decode(),
            subject_text(subject),
            serial,
            certificate.not_valid_before_utc,
            certificate.not_valid_after_utc,
            hashlib.sha256(der).hexdigest(),
            pem,
            chain,
            now,
        )
        await connection.execute(
            "INSERT INTO certificate_pickup (certificate, token_hash, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4)",
            certificate_id,
            tokens.hash_token(token),
            now,
            now + timedelta(days=settings.issuance.pickup_link_days),
        )
        await connection.execute(
            "INSERT INTO certificate_wrapped_key (certificate, wrapped, created_at) "
            "VALUES ($1, $2, $3)",
            certificate_id,
            wrapped,
            now,
        )
        await connection.execute(
            "UPDATE application SET status = 'issued', updated_at = $2 WHERE id = $1",
            application_id,
            now,
        )
        await connection.execute(
            "INSERT INTO application_status_change (application, from_status, to_status, "
            "actor, actor_id, reason, at) VALUES ($1, 'approved', 'issued', 'system', "
            "'raw-loop', '', $2)",
            application_id,
            now,
        )


async def rate(settings: Settings, issues: int = ISSUES) -> tuple[RateResult, list[int]]:
    """(the rate row, the ids the worker issued: their pickup links are in the sink)."""
    connection: Any = await asyncpg.connect(settings.database.url)
    redis = await _queue(settings)
    try:
        seeder = Seeder(connection)
        await seeder.start()
        worker_ids = await seeder.applications(issues)
        raw_ids = await seeder.applications(issues)
        await seeder.approve(worker_ids)
        started = time.perf_counter()
        await enqueue(redis, settings, worker_ids)
        await wait_issued(seeder, worker_ids)
        worker_seconds = time.perf_counter() - started
        hierarchy = keystore.load(settings)  # the worker has its CA loaded too
        started = time.perf_counter()
        for application_id in raw_ids:
            await _raw_issue(connection, settings, hierarchy, application_id)
        raw_seconds = time.perf_counter() - started
    finally:
        await redis.aclose()
        await connection.close()
    return RateResult(issues, worker_seconds, raw_seconds), worker_ids


@dataclass
class Feeder:
    """Keeps BACKLOG approvals waiting for the worker, in a thread of its own, from start()
    to stop(); stop() waits until every approval it made is issued."""

    settings: Settings
    pool: int  # applications made ready for it
    first_id: int  # of a block of ids of its own
    fed: list[int] = field(default_factory=list)
    ran_dry: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> Feeder:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(60)
        return self

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(300)
        if self._error is not None:
            raise RuntimeError(f"the issuing feeder failed: {self._error!r}")

    def _run(self) -> None:
        try:
            asyncio.run(self._feed())
        except BaseException as exc:  # reported by stop()
            self._error = exc
            self._ready.set()

    async def _feed(self) -> None:
        connection: Any = await asyncpg.connect(self.settings.database.url)
        redis = await _queue(self.settings)
        try:
            seeder = Seeder(connection, next_id=self.first_id)
            seeder.company_id = await connection.fetchval(
                "SELECT id FROM company WHERE code = $1", COMPANY
            )
            waiting = await seeder.applications(self.pool)
            self._ready.set()
            while not self._stop.is_set():
                if len(self.fed) - await seeder.issued(self.fed) < BACKLOG:
                    batch, waiting = waiting[:BACKLOG], waiting[BACKLOG:]
                    if not batch:
                        self.ran_dry = True
                        break
                    await seeder.approve(batch)
                    await enqueue(redis, self.settings, batch)
                    self.fed += batch
                await asyncio.sleep(0.05)
            await wait_issued(seeder, self.fed)
        finally:
            await redis.aclose()
            await connection.close()
