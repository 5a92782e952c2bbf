from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-02T15:38:12:504211"
VERSION = "1.38.0"
DESCRIPTION = "Audit log: audit_append(), one statement that appends a chained row (PostgreSQL)"


# What app.console.audit.service._append does in Python, in one statement: take the append
# lock (the same key, APPEND_LOCK), read the head, hash the row as
# app.console.audit.chain.link does (sha256 of prev_hash and the row's canonical JSON: sorted
# keys, no spaces, UTF-8; to_json() escapes text as json.dumps(ensure_ascii=False) does) and
# insert it. Each statement of a PL/pgSQL function sees what committed before it began, so
# the head is read after the lock is held. The caller passes the texts already cut to their
# column lengths and the details as their canonical JSON text.
CREATE = r"""
CREATE OR REPLACE FUNCTION audit_append(
    p_at timestamptz, p_actor text, p_action text, p_target text, p_client text,
    p_outcome text, p_details text
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    last_seq integer;
    prev text;
    next_seq integer;
    canonical text;
BEGIN
    PERFORM pg_advisory_xact_lock(1784897902);
    SELECT seq, hash INTO last_seq, prev FROM audit_event ORDER BY seq DESC LIMIT 1;
    next_seq := coalesce(last_seq, 0) + 1;
    prev := coalesce(prev, repeat('0', 64));
    canonical := '{"action":' || to_json(p_action)::text
        || ',"actor":' || to_json(p_actor)::text
        || ',"at":"' || to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'
        || ',"client":' || to_json(p_client)::text
        || ',"details":' || to_json(p_details)::text
        || ',"outcome":' || to_json(p_outcome)::text
        || ',"seq":' || next_seq::text
        || ',"target":' || to_json(p_target)::text
        || '}';
    INSERT INTO audit_event
        (seq, at, actor, action, target, client, outcome, details, prev_hash, hash)
    VALUES (
        next_seq, p_at, p_actor, p_action, p_target, p_client, p_outcome, p_details, prev,
        encode(sha256(convert_to(prev || canonical, 'UTF8')), 'hex')
    );
    RETURN next_seq;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS audit_append(timestamptz, text, text, text, text, text, text)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jcan", description=DESCRIPTION)

    # run_ddl: the function's text holds braces that a raw query would take for parameters.
    async def create() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):  # SQLite appends in Python
            await engine.run_ddl(CREATE)

    async def drop() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl(DROP)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
