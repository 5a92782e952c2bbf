"""Who may do what in the console: the roles, the permissions, and the one table between them
(shown in the README; a test walks every console route with every role against it)."""

from __future__ import annotations

from enum import StrEnum

from app.i18n import _


class Role(StrEnum):
    REVIEWER = "reviewer"  # 審査担当: reviews, requests corrections
    APPROVER = "approver"  # 承認者: final approval, revocation
    ADMIN = "admin"  # 管理者: operators, companies, tickets
    AUDITOR = "auditor"  # 監査担当: read-only, the audit log


class Permission(StrEnum):
    CONSOLE = "console"  # sign in and see the console's home
    VIEW_APPLICATIONS = "applications.view"  # the queue, one application, its documents
    REVIEW = "applications.review"  # claim, checklist, recommend, request corrections, reject
    APPROVE = "applications.approve"  # the final approval
    REVOKE = "certificates.revoke"  # the 失効申請 queue: revoke or reject a request
    RECORD_REVOCATION = "revocations.record"  # 管理者による失効: a paper request, revoked
    REISSUE = "certificates.reissue"  # 再発行: new key and certificate, the old one superseded
    MANAGE_OPERATORS = "operators.manage"  # invite, change role, disable, reset MFA
    MANAGE_COMPANIES = "companies.manage"  # companies, tickets (issue, export, void)
    MANAGE_WEBHOOKS = "webhooks.manage"  # 証明書を自動登録: deliveries, retrying a failed one
    READ_AUDIT = "audit.read"
    EXPORT_AUDIT = "audit.export"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REVIEWER: frozenset({Permission.CONSOLE, Permission.VIEW_APPLICATIONS, Permission.REVIEW}),
    Role.APPROVER: frozenset(
        {
            Permission.CONSOLE,
            Permission.VIEW_APPLICATIONS,
            Permission.REVIEW,
            Permission.APPROVE,
            Permission.REVOKE,
            Permission.RECORD_REVOCATION,
            Permission.REISSUE,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Permission.CONSOLE,
            Permission.MANAGE_OPERATORS,
            Permission.MANAGE_COMPANIES,
            Permission.MANAGE_WEBHOOKS,
            Permission.RECORD_REVOCATION,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            Permission.CONSOLE,
            Permission.VIEW_APPLICATIONS,
            Permission.READ_AUDIT,
            Permission.EXPORT_AUDIT,
        }
    ),
}


def allowed(role: str, permission: Permission) -> bool:
    """Unknown roles have no permission at all."""
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def role_label(role: str) -> str:
    labels: dict[str, str] = {
        Role.REVIEWER: _("審査担当"),
        Role.APPROVER: _("承認者"),
        Role.ADMIN: _("管理者"),
        Role.AUDITOR: _("監査担当"),
    }
    return labels.get(role, role)
