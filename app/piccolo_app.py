"""The Piccolo app: all tables and the top-level migrations/ folder."""

from __future__ import annotations

from piccolo.conf.apps import AppConfig

from app.schema import TABLES
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="jcan",
    migrations_folder_path=str(ROOT / "migrations"),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
