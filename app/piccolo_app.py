"""The Piccolo app: all tables and the top-level migrations/ folder."""

from __future__ import annotations

from piccolo.conf.apps import AppConfig

from app.db import all_tables
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="jcan",
    migrations_folder_path=str(ROOT / "migrations"),
    table_classes=all_tables(),
    migration_dependencies=[],
    commands=[],
)
