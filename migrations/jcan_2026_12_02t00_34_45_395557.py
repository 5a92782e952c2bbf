from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-02T00:34:45:395557"
VERSION = "1.38.0"
DESCRIPTION = "Review queue search: the words' prefix index, and the words of every application"

BATCH = 1000  # applications read at a time
ROWS = 400  # words written per INSERT (two parameters each: under SQLite's 999)


class Application(Table, tablename="application", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jcan", description=DESCRIPTION)

    async def term_index() -> None:
        # Searched by prefix as a range in code point order: byte order ("C") on PostgreSQL
        # whatever the database's collation, SQLite's default BINARY already is.
        postgres = isinstance(engine_finder(), PostgresEngine)
        term = 'term COLLATE "C"' if postgres else "term"
        await Application.raw(
            "CREATE INDEX IF NOT EXISTS application_search_term "
            f"ON application_search ({term}, application)"
        )

    async def backfill() -> None:
        from app.application.answers import answers_of
        from app.application.search import terms_of

        last = 0
        while True:
            rows = await Application.raw(
                "SELECT a.id, a.answers, a.reference, r.email, c.code FROM application a "
                "JOIN registration r ON r.id = a.registration "
                "JOIN company c ON c.id = r.company "
                f"WHERE a.id > {{}} ORDER BY a.id LIMIT {BATCH}",
                last,
            )
            if not rows:
                return
            words = [
                (row["id"], term)
                for row in rows
                for term in sorted(
                    terms_of(answers_of(row), row["email"], row["reference"] or "", row["code"])
                )
            ]
            for start in range(0, len(words), ROWS):
                chunk = words[start : start + ROWS]
                marks = ", ".join("({}, {})" for _ in chunk)
                args = [value for pair in chunk for value in pair]
                await Application.raw(
                    f"INSERT INTO application_search (application, term) VALUES {marks}", *args
                )
            last = rows[-1]["id"]

    manager.add_raw(term_index)
    manager.add_raw(backfill)

    return manager
