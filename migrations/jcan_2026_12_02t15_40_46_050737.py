from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T15:40:46:050737"
VERSION = "1.38.0"
DESCRIPTION = "Certificates: when a job took the right to ask the CA (one caller at a time)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="jcan", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Certificate",
        tablename="certificate",
        column_name="ca_asked_at",
        db_column_name="ca_asked_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
