"""Logging set-up shared by the web app, the worker and the CLI."""

from __future__ import annotations

import logging

# Libraries that log query parameters (personal data) at DEBUG: never below WARNING.
QUIET_LOGGERS = ("aiosqlite", "asyncpg", "piccolo.engine")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
