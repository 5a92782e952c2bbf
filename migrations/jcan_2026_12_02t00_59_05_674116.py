from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T00:59:05:674116"
VERSION = "1.38.0"
DESCRIPTION = "Local CA: local_ca_crl.number, the CRL Number (thisUpdate in microseconds)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="jcan", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="LocalCaCrl",
        tablename="local_ca_crl",
        column_name="number",
        db_column_name="number",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
