"""Database glue: the engine chosen from settings, transactions that serialise writers, time."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from piccolo.columns.combination import Combinable
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString
from piccolo.table import Table

from app.settings import DatabaseSettings


def utcnow() -> datetime:
    """The current time in UTC; the one clock services use (tests pass their own `now`)."""
    return datetime.now(UTC)


def engine_for(settings: DatabaseSettings) -> Engine:
    """PostgreSQL when DATABASE_URL is set, otherwise the embedded SQLite file."""
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.url}, log_queries=False)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    # A generous busy timeout: IMMEDIATE transactions queue behind each other.
    return SQLiteEngine(path=str(settings.sqlite_path), timeout=30)


def bind_tables(engine: Engine, tables: Iterable[type[Table]]) -> None:
    """Point these tables (app.schema.TABLES) at this engine, so that tests and tools can
    choose one explicitly."""
    for table in tables:
        table._meta.db = engine


async def start(engine: Engine, settings: DatabaseSettings) -> None:
    """Open the pool (PostgreSQL) or set the journal mode (SQLite)."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(
            max_size=settings.pool_max_size, reset=_keep_session_state
        )
    elif isinstance(engine, SQLiteEngine):
        # WAL lets readers go on while one writer commits; it is stored in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL;")


async def _keep_session_state(connection: Any) -> None:
    """Release a connection to the pool without asyncpg's default reset query.

    Piccolo takes a pooled connection per query, and the default reset (UNLISTEN, RESET ALL,
    CLOSE ALL, advisory unlock) cost one more round trip after every query. Nothing here
    changes session state (no SET, LISTEN, cursors or advisory locks), and asyncpg still rolls
    back an open transaction on release before calling this hook.
    """


async def stop(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        generic = _generic_pools.pop(engine, None)
        _generic_opening.pop(engine, None)
        if generic is not None:
            await generic.close()
        await engine.close_connection_pool()


@asynccontextmanager
async def write_transaction(engine: Engine) -> AsyncIterator[None]:
    """A transaction for writers that must not interleave.

    SQLite: BEGIN IMMEDIATE takes the write lock at once, so two writers never both read
    the old state. PostgreSQL: callers lock the rows they depend on (a conditional UPDATE
    first), so the default READ COMMITTED is enough.
    """
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
    else:
        async with engine.transaction():
            yield


# Compiled PostgreSQL text of fetch()'s statements ("{}" -> "$n"), by template and count.
_compiled: dict[tuple[str, int], str] = {}
_COMPILED_MAX = 256


def _postgres_text(sql: str, count: int) -> str:
    key = (sql, count)
    text = _compiled.get(key)
    if text is None:
        text = QueryString(sql, *range(count)).compile_string("postgres")[0]
        if len(_compiled) < _COMPILED_MAX:
            _compiled[key] = text
    return text


async def fetch(table: type[Table], sql: str, *args: Any) -> list[Any]:
    """`table.raw(sql, *args)` ("{}" placeholders) for a page's hot statements: on
    PostgreSQL straight to asyncpg, the statement's text compiled once, rows as asyncpg
    Records (read them by column name, as the dicts raw() gives). Piccolo's query object
    (parse the template, run, make a dict of each row) cost about as much CPU as asyncpg's
    own fetch: a tenth of the console queue's time for its three statements. Inside a
    transaction it uses the transaction's connection; on SQLite it is raw(). Arguments are
    plain values (no nested QueryString, which raw() would have inlined)."""
    engine = table._meta.db
    if not isinstance(engine, PostgresEngine):
        rows: list[Any] = await table.raw(sql, *args)
        return rows
    text = _postgres_text(sql, len(args))
    transaction = engine.current_transaction.get()
    if transaction is not None:
        found: list[Any] = await transaction.connection.fetch(text, *args)
        return found
    if engine.pool is None:
        rows = await table.raw(sql, *args)
        return rows
    async with engine.pool.acquire() as connection:
        found = await connection.fetch(text, *args)
    return found


# A second, small pool per engine whose sessions plan every prepared statement once for all
# its arguments (plan_cache_mode = force_generic_plan, set when each connection opens): opened
# at the first such query, closed by stop(). Its size is half the main pool's.
# (Piccolo's engines take no weak references: an entry lives until stop().)
_generic_pools: dict[Engine, asyncpg.Pool] = {}
_generic_opening: dict[Engine, asyncio.Lock] = {}


async def _generic_pool(engine: PostgresEngine) -> asyncpg.Pool:
    pool = _generic_pools.get(engine)
    if pool is not None:
        return pool
    lock = _generic_opening.setdefault(engine, asyncio.Lock())
    async with lock:
        pool = _generic_pools.get(engine)
        if pool is None:
            assert engine.pool is not None
            pool = await asyncpg.create_pool(
                **engine.config,
                min_size=1,
                max_size=max(1, engine.pool.get_max_size() // 2),
                server_settings={"plan_cache_mode": "force_generic_plan"},
                reset=_keep_session_state,
            )
            _generic_pools[engine] = pool
    return pool


async def raw_with_generic_plan(table: type[Table], sql: str, *args: Any) -> list[Any]:
    """`table.raw(sql, *args)`, on PostgreSQL planned once per connection.

    asyncpg prepares every statement, and PostgreSQL plans each execution of a prepared one
    anew ("custom" plans) unless a plan for any arguments costs about the same. For a query
    whose shape does not depend on its arguments (the review's search: both ways to read it
    are in the plan, chosen while it runs), that planning was half of its time (1.9 of 4 ms).
    Here it runs on a connection of the generic-plan pool (one round trip; until 2026-12-04
    it was a read-only transaction with SET LOCAL on the main pool: three); inside a
    caller's transaction, or on SQLite, it is a plain raw. Rows as fetch() gives them.
    """
    engine = table._meta.db
    if not isinstance(engine, PostgresEngine) or engine.pool is None:
        return await fetch(table, sql, *args)
    if engine.current_transaction.get() is not None:
        return await fetch(table, sql, *args)
    pool = await _generic_pool(engine)
    async with pool.acquire() as connection:
        found: list[Any] = await connection.fetch(_postgres_text(sql, len(args)), *args)
    return found


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique-constraint error on either engine."""
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


# Where the next batch of a sweep starts: (first id it looks at, newest id when it began).
Cursor = tuple[int, int]


async def delete_expired_batch(
    table: type[Table], condition: Combinable, batch_size: int, after: Cursor | None = None
) -> tuple[int, Cursor | None]:
    """Delete the rows matching `condition` among the next `batch_size` ids, oldest first:
    (rows deleted, cursor for the next batch, or None when the newest row has been passed).

    Windows of consecutive ids: each batch is one short range scan over rows stored side by
    side, at most `batch_size` rows, and never steps again over what earlier batches deleted,
    so a large backlog goes in about the time of one DELETE of it all (`make bench`).
    """
    id_ = table._meta.primary_key
    if after is None:
        first = await table.select(id_).where(condition).order_by(id_).first()
        newest = await table.select(id_).order_by(id_, ascending=False).first()
        if first is None or newest is None:
            return 0, None
        after = (first[id_._meta.name], newest[id_._meta.name])
    start, stop = after
    removed = await _delete_counted(table, condition & (id_ >= start) & (id_ < start + batch_size))
    following = start + batch_size
    return removed, ((following, stop) if following <= stop else None)


async def _delete_counted(table: type[Table], where: Combinable) -> int:
    """DELETE and say how many rows went: from PostgreSQL's own answer ("DELETE n") in one
    statement, elsewhere by counting first. Not for use inside a transaction."""
    engine = table._meta.db
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        sql, args = table.delete().where(where).querystrings[0].compile_string("postgres")
        async with engine.pool.acquire() as connection:
            status: str = await connection.execute(sql, *args)
        return int(status.rsplit(" ", 1)[-1])
    removed = int(await table.count().where(where))
    if removed:
        await table.delete().where(where)
    return removed
