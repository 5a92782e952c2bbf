"""Piccolo configuration for its tooling (migrations): the engine chosen from settings.

Piccolo finds its engine by importing this module (PICCOLO_CONF=app.piccolo_conf), so this is
the one place that builds settings at import time. The app itself binds tables explicitly.
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from app.db import engine_for
from app.settings import Settings

DB = engine_for(Settings.from_env().database)

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
