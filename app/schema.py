"""Every table of every feature, in dependency order: what the app, the worker, the CLI and
Piccolo's migrations bind and walk (app/db.py knows no feature)."""

from __future__ import annotations

from typing import Any

from app.application.tables import (
    Application,
    ApplicationDocument,
    ApplicationSearchTerm,
    ApprovalToken,
    StatusChange,
)
from app.captcha.tables import CaptchaChallenge
from app.console.accounts.tables import ConsoleSession, Operator, OperatorSetupToken, RecoveryCode
from app.console.audit.tables import AuditEvent
from app.console.review.tables import ReviewDecision
from app.issuance.ca.tables import LocalCaCertificate, LocalCaCrl
from app.issuance.tables import Certificate, PickupToken, WrappedKey
from app.issuance.webhooks.tables import WebhookEvent
from app.mail.tables import OutboxMessage
from app.registration.tables import AccessToken, Company, DraftUse, Registration, Ticket
from app.revocation.tables import Revocation, RevocationLink, RevocationRequest

TABLES: tuple[type[Any], ...] = (
    Company,
    Ticket,
    Registration,
    AccessToken,
    DraftUse,
    CaptchaChallenge,
    OutboxMessage,
    Application,
    ApplicationSearchTerm,
    ApplicationDocument,
    ApprovalToken,
    StatusChange,
    ReviewDecision,
    AuditEvent,
    Operator,
    RecoveryCode,
    OperatorSetupToken,
    ConsoleSession,
    Certificate,
    PickupToken,
    WrappedKey,
    WebhookEvent,
    LocalCaCertificate,
    LocalCaCrl,
    RevocationLink,
    RevocationRequest,
    Revocation,
)
