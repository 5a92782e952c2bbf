"""The Piccolo app: all tables and the top-level migrations/ folder."""

from __future__ import annotations

from piccolo.conf.apps import AppConfig

from app.application.tables import Application, ApplicationDocument, ApprovalToken, StatusChange
from app.captcha.tables import CaptchaChallenge
from app.mail.tables import OutboxMessage
from app.registration.tables import AccessToken, Company, Registration, Ticket
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="jcan",
    migrations_folder_path=str(ROOT / "migrations"),
    table_classes=[
        Company,
        Ticket,
        Registration,
        AccessToken,
        CaptchaChallenge,
        OutboxMessage,
        Application,
        ApplicationDocument,
        ApprovalToken,
        StatusChange,
    ],
    migration_dependencies=[],
    commands=[],
)
