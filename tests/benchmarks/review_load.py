"""Review: the console's queue page, a search by a two-kanji family name and one application's
page, signed in as a reviewer, with 100,000 applications (their search words) and 1,000,000
chained audit rows in the database, under wrk at 10 connections.

    python -m tests.benchmarks.review_load [--seconds 10]   # alone, on a stack of its own

The rows are built in Python (answers, the words app.application.search makes of them, the
audit chain of audit_load) and COPYed in, then VACUUM ANALYZE; every page view the load makes
appends its own audit row to that chain through the app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg

from app import db
from app.application.search import terms_of
from app.console import sessions
from app.console.accounts.tables import Operator
from app.schema import TABLES
from app.settings import Settings
from tests.benchmarks import audit_load

APPLICATIONS = 100_000
AUDIT_ROWS = 1_000_000
CONNECTIONS = 10
BASE_ID = 10_000_000  # far above anything the other loads insert
COMPANY = "REVIEWB"
FAMILY = [
    ("山田", "ヤマダ", "Yamada"),
    ("佐藤", "サトウ", "Sato"),
    ("鈴木", "スズキ", "Suzuki"),
    ("高橋", "タカハシ", "Takahashi"),
    ("田中", "タナカ", "Tanaka"),
    ("伊藤", "イトウ", "Ito"),
    ("渡辺", "ワタナベ", "Watanabe"),
    ("中村", "ナカムラ", "Nakamura"),
    ("小林", "コバヤシ", "Kobayashi"),
    ("加藤", "カトウ", "Kato"),
    ("吉田", "ヨシダ", "Yoshida"),
    ("山本", "ヤマモト", "Yamamoto"),
    ("松本", "マツモト", "Matsumoto"),
    ("井上", "イノウエ", "Inoue"),
    ("木村", "キムラ", "Kimura"),
    ("林", "ハヤシ", "Hayashi"),
    ("清水", "シミズ", "Shimizu"),
    ("山口", "ヤマグチ", "Yamaguchi"),
    ("森", "モリ", "Mori"),
    ("池田", "イケダ", "Ikeda"),
]
GIVEN = [
    ("太郎", "タロウ", "Taro"),
    ("花子", "ハナコ", "Hanako"),
    ("一郎", "イチロウ", "Ichiro"),
    ("美咲", "ミサキ", "Misaki"),
    ("健", "ケン", "Ken"),
    ("陽菜", "ヒナ", "Hina"),
    ("翔太", "ショウタ", "Shota"),
    ("結衣", "ユイ", "Yui"),
    ("大輔", "ダイスケ", "Daisuke"),
    ("さくら", "サクラ", "Sakura"),
]
SEARCH = "山田"  # two kanji: the search pg_trgm could not index
# Of every 100 applications: most decided long ago (issued: an approval is issued within
# seconds, and 80,000 approved ones without an approval would keep the issuing relay busy
# with no-op jobs through the later rows), a few waiting or in the review's hands.
STATUSES = (
    ["submitted"] * 3
    + ["in_review", "correction_requested", "recommended"]
    + ["issued"] * 80
    + ["rejected"] * 14
)


@dataclass(frozen=True)
class Seeded:
    cookie: str  # the reviewer's console session id
    public_id: str  # a waiting application's
    reference: str  # an issued application's
    seconds: float  # building and loading the rows


def _answers(n: int) -> dict[str, str]:
    family, given = FAMILY[n % len(FAMILY)], GIVEN[(n // len(FAMILY)) % len(GIVEN)]
    return {
        "family_name": family[0],
        "given_name": given[0],
        "family_name_kana": family[1],
        "given_name_kana": given[1],
        "family_name_roman": family[2],
        "given_name_roman": given[2],
        "cert_email": f"{family[2].lower()}.{n}@example.com",
        "phone": "03-1234-5678",
        "include_org": "yes",
        "org_name": "株式会社サンプル",
        "org_name_en": "Sample Co., Ltd.",
        "corporate_number": "7000012050002",
        "qualification": "none",
        "qualification_number": "",
        "validity_years": "1",
    }


def _rows(company_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Tickets, registrations, applications and their search words, by table."""
    start = datetime(2024, 12, 1, tzinfo=UTC)
    tables: dict[str, list[tuple[Any, ...]]] = {
        "ticket": [],
        "registration": [],
        "application": [],
        "application_search": [],
    }
    word_id = BASE_ID
    for n in range(APPLICATIONS):
        row_id = BASE_ID + n
        at = start + timedelta(minutes=7 * n)  # two years, oldest first
        status = STATUSES[n % len(STATUSES)]
        answers = _answers(n)
        email = f"applicant{n}@example.net"
        reference = f"JB-{n // 10000:04d}-{n % 10000:04d}"
        tables["ticket"].append((row_id, f"RB-{n:08d}", company_id, at, at, at))
        tables["registration"].append((row_id, f"R{n:025d}", "self", company_id, row_id, email, at))
        decided = at + timedelta(days=2) if status in ("issued", "rejected") else None
        tables["application"].append(
            (
                row_id,
                f"A{n:025d}",
                reference,
                row_id,
                row_id,
                "self",
                status,
                json.dumps(answers, ensure_ascii=False),
                "",
                at,
                decided or at,
                at,
                decided,
                None,
                None,
                "",
            )
        )
        for term in sorted(terms_of(answers, email, reference, COMPANY)):
            tables["application_search"].append((word_id, row_id, term))
            word_id += 1
    return tables


COLUMNS = {
    "ticket": ["id", "number", "company", "issued_at", "used_at", "last_registered_at"],
    "registration": [
        "id",
        "public_id",
        "applicant_type",
        "company",
        "ticket",
        "email",
        "created_at",
    ],
    "application": [
        "id",
        "public_id",
        "reference",
        "registration",
        "ticket",
        "applicant_type",
        "status",
        "answers",
        "decline_reason",
        "created_at",
        "updated_at",
        "submitted_at",
        "decided_at",
        "assigned_to",
        "recommended_by",
        "correction",
    ],
    "application_search": ["id", "application", "term"],
    "audit_event": [*audit_load.COLUMNS, "prev_hash", "hash"],
}


async def _copy(connection: Any, table: str, records: list[tuple[Any, ...]]) -> None:
    """COPY into `table` with its secondary indexes and unique constraints dropped and built
    again afterwards (one sort each, not a random insert per row: a million random sha256
    hashes into a unique index was the slow part), then its id sequence moved past the rows."""
    unique = await connection.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND contype = 'u'",
        table,
    )
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN "
        "('p', 'u'))",
        table,
    )
    for row in unique:
        await connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{row["conname"]}"')
    for row in indexes:
        await connection.execute(f'DROP INDEX "{row["indexname"]}"')
    await connection.copy_records_to_table(table, records=records, columns=COLUMNS[table])
    for row in indexes:
        await connection.execute(row["indexdef"])
    for row in unique:
        await connection.execute(
            f'ALTER TABLE {table} ADD CONSTRAINT "{row["conname"]}" {row["definition"]}'
        )
    await connection.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
    )


async def _load(url: str) -> tuple[str, str]:
    """Every row COPYed in; the public id of the oldest waiting application and the
    reference of the newest issued one."""
    connection: Any = await asyncpg.connect(url)
    try:
        # Consistent by construction: no foreign-key trigger per row while COPYing (superuser).
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("SET maintenance_work_mem = '256MB'")
        await connection.execute("TRUNCATE audit_event")
        await _copy(connection, "audit_event", audit_load._chained_rows(AUDIT_ROWS))
        company_id = await connection.fetchval(
            "INSERT INTO company (code, name, created_at) VALUES ($1, $2, now()) RETURNING id",
            COMPANY,
            "審査ベンチマーク株式会社",
        )
        for table, records in _rows(company_id).items():
            await _copy(connection, table, records)
        for table in COLUMNS:
            await connection.execute(f"VACUUM ANALYZE {table}")
        # The gigabyte just written, flushed now: left to the checkpointer, it was written out
        # during the loads that follow (a p99 of 378 ms among rounds of 54 ms).
        await connection.execute("CHECKPOINT")
        public_id = await connection.fetchval(
            "SELECT public_id FROM application WHERE status = 'submitted' "
            "ORDER BY submitted_at, id LIMIT 1"
        )
        reference = await connection.fetchval(
            "SELECT reference FROM application WHERE status = 'issued' "
            "ORDER BY submitted_at DESC, id DESC LIMIT 1"
        )
        return str(public_id), str(reference)
    finally:
        await connection.close()


async def _reviewer_session(settings: Settings) -> str:
    """A reviewer signed in (both steps passed): the raw console session id."""
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    try:
        now = db.utcnow()
        rows = await Operator.insert(
            Operator(
                email=f"review-bench-{secrets.token_hex(3)}@example.jp",
                name="審査 ベンチ",
                role="reviewer",
                enrolled_at=now,
            )
        ).returning(Operator.id)
        async with db.write_transaction(engine):
            raw = await sessions.start(int(rows[0]["id"]), now)
            session = await sessions.load(raw, settings)
            assert session is not None
            return await sessions.rotate(session, now, mfa_done=True)
    finally:
        await db.stop(engine)


def seed(settings: Settings) -> Seeded:
    started = time.perf_counter()
    public_id, reference = asyncio.run(_load(settings.database.url))
    cookie = asyncio.run(_reviewer_session(settings))
    return Seeded(cookie, public_id, reference, time.perf_counter() - started)


# The keys of paths(), known before seeding.
KEYS = ("review_queue", "review_search", "review_search_reference", "review_application")


def paths(seeded: Seeded) -> dict[str, tuple[str, str]]:
    """key -> (label, path) of the review's three pages."""
    return {
        "review_queue": (
            "review queue page (審査待ち, first keyset page)",
            "/console/applications",
        ),
        "review_search": (
            f"review queue search by a family name in kanji ({SEARCH})",
            f"/console/applications?tab=waiting&q={quote(SEARCH)}",
        ),
        "review_search_reference": (
            "review queue search by a reference on 発行済み (80,000 rows)",
            f"/console/applications?tab=issued&q={quote(seeded.reference)}",
        ),
        "review_application": (
            "one application's page (answers, subject, history, actions)",
            f"/console/applications/{seeded.public_id}",
        ),
    }


def main(argv: list[str] | None = None) -> int:
    from tests.benchmarks.report import Report
    from tests.benchmarks.run import Bench, review_rows
    from tests.benchmarks.stack import Stack
    from tests.benchmarks.web_load import ensure_wrk

    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.review_load")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    ensure_wrk()
    stack = Stack()
    report = Report()
    try:
        stack.start()
        bench = Bench(stack, args.seconds)
        ceiling = bench.load("ceiling")
        review_rows(report, bench, ceiling.rps)
    finally:
        stack.stop()
    print(report.table())
    for problem in bench.broken:
        print("NOT CLEAN:", problem)
    return 1 if bench.broken else 0


if __name__ == "__main__":
    sys.exit(main())
