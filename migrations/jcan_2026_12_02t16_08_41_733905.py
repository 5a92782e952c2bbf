from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-02T16:08:41:733905"
VERSION = "1.38.0"
DESCRIPTION = "Review queue search: the words by application and word (index-only look-ups)"

# app.console.review.queue walks a tab in page order and asks, application by application,
# whether one of its words is in the searched range: one index-only probe each. Words in
# byte order ("C") on PostgreSQL, as application_search_term; SQLite's BINARY already is.


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jcan", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        term = 'term COLLATE "C"' if isinstance(engine, PostgresEngine) else "term"
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS application_search_words "
            f"ON application_search (application, {term})"
        )

    async def drop() -> None:
        await engine_finder().run_ddl("DROP INDEX IF EXISTS application_search_words")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
