"""The console's Router at /console: its controllers, the signed-in guard for all of them, and
the answers to NotSignedIn and Forbidden."""

from __future__ import annotations

from litestar import Router

from app.console.accounts.admin import OperatorsController
from app.console.accounts.controller import AccountsController
from app.console.accounts.setup import SetupController
from app.console.audit.controller import AuditController
from app.console.companies.controller import CompaniesController
from app.console.controller import HomeController
from app.console.guards import Forbidden, NotSignedIn, signed_in
from app.console.review.controller import ReviewController
from app.console.web import forbidden, not_signed_in
from app.issuance.console import CertificatesController
from app.issuance.webhooks.controller import WebhooksController
from app.revocation.console import PaperRevocationController, RevocationConsoleController
from app.settings import Settings

PREFIX = "/console"


def console_router(settings: Settings) -> Router:
    return Router(
        path=PREFIX,
        route_handlers=[
            HomeController,
            AccountsController,
            SetupController,
            OperatorsController,
            AuditController,
            ReviewController,
            CompaniesController,
            WebhooksController,
            RevocationConsoleController,
            PaperRevocationController,
            CertificatesController,
        ],
        guards=[signed_in],
        exception_handlers={NotSignedIn: not_signed_in, Forbidden: forbidden},  # type: ignore[dict-item]
    )
