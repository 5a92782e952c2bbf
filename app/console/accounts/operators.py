"""Operators' lifecycle: create (with a setup link), the setup itself (password, TOTP,
recovery codes), disable, MFA reset; each change audited in its own transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email

from app.console import sessions
from app.console.accounts import passwords, totp
from app.console.accounts.tables import Operator, OperatorSetupToken, RecoveryCode
from app.console.audit.service import record
from app.console.permissions import Role
from app.db import Cursor, delete_expired_batch, is_unique_violation, utcnow, write_transaction
from app.links import tokens
from app.links.kinds import LinkKind
from app.settings import Settings

SETUP_LINK = LinkKind(
    "console/setup", OperatorSetupToken, session_key="console_setup", landing="/console/setup"
)
ISSUER = "JCAN LRA"


class OperatorExists(Exception):
    """An operator with this email address exists already."""


class NotFound(Exception):
    """No operator with this email address (or id)."""


@dataclass(frozen=True)
class SetupLink:
    operator_id: int
    url: str
    expires_at: datetime


def normal_email(email: str) -> str | None:
    """The address in its normal form (lower case domain and local part), or None."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


def _engine() -> Any:
    return Operator._meta.db


async def _mint_setup(
    operator_id: int, actor: str, settings: Settings, now: datetime, client: str
) -> SetupLink:
    """A fresh setup link (older live ones end), audited; inside the caller's transaction."""
    minted = await tokens.mint(
        OperatorSetupToken,
        {"operator": operator_id},
        timedelta(hours=settings.console.setup_link_hours),
        now,
        supersede_by=OperatorSetupToken.operator,
    )
    await record(
        "operator.setup_link_issued",
        actor=actor,
        target=f"operator:{operator_id}",
        client=client,
        details={"expires_at": minted.expires_at.isoformat()},
        now=now,
    )
    return SetupLink(
        operator_id, SETUP_LINK.url(settings.app.base_url, minted.token), minted.expires_at
    )


async def create(
    email: str, name: str, role: Role, *, actor: str, settings: Settings, client: str = ""
) -> SetupLink:
    """A new operator (not yet able to sign in) and its setup link. OperatorExists when the
    address is taken. `email` must be normalised (normal_email)."""
    now = utcnow()
    try:
        async with write_transaction(_engine()):
            rows = await Operator.insert(
                Operator(email=email, name=name, role=role.value, created_at=now, updated_at=now)
            ).returning(Operator.id)
            operator_id = int(rows[0]["id"])
            await record(
                "operator.created",
                actor=actor,
                target=f"operator:{operator_id}",
                client=client,
                details={"role": role.value},
                now=now,
            )
            return await _mint_setup(operator_id, actor, settings, now, client)
    except Exception as exc:
        if is_unique_violation(exc):
            raise OperatorExists(email) from exc
        raise


async def by_email(email: str) -> dict[str, Any] | None:
    row = await Operator.select().where(Operator.email == email.strip().lower()).first()
    return dict(row) if row else None


async def by_id(operator_id: int) -> dict[str, Any] | None:
    row = await Operator.select().where(Operator.id == operator_id).first()
    return dict(row) if row else None


async def listing() -> list[dict[str, Any]]:
    return list(await Operator.select().order_by(Operator.id))


async def disable(operator_id: int, *, actor: str, client: str = "") -> bool:
    """Disable an operator: sessions and live setup links end at once. False if it was
    disabled already or does not exist."""
    now = utcnow()
    async with write_transaction(_engine()):
        rows = (
            await Operator.update({Operator.disabled_at: now, Operator.updated_at: now})
            .where((Operator.id == operator_id) & Operator.disabled_at.is_null())
            .returning(Operator.id)
        )
        if not rows:
            return False
        await sessions.end_all(operator_id)
        await tokens.supersede(OperatorSetupToken, OperatorSetupToken.operator, operator_id, now)
        await record(
            "operator.disabled",
            actor=actor,
            target=f"operator:{operator_id}",
            client=client,
            now=now,
        )
    return True


async def change_role(operator_id: int, role: Role, *, actor: str, client: str = "") -> bool:
    """A new role; the operator's sessions end (the next sign-in carries the new role).
    False when there is no such operator, it is disabled, or the role is the same."""
    now = utcnow()
    async with write_transaction(_engine()):
        row = (
            await Operator.select(Operator.role)
            .where((Operator.id == operator_id) & Operator.disabled_at.is_null())
            .first()
        )
        if row is None or row["role"] == role.value:
            return False
        await Operator.update({Operator.role: role.value, Operator.updated_at: now}).where(
            Operator.id == operator_id
        )
        await sessions.end_all(operator_id)
        await record(
            "operator.changed",
            actor=actor,
            target=f"operator:{operator_id}",
            client=client,
            details={"role": {"from": row["role"], "to": role.value}},
            now=now,
        )
    return True


async def reset_mfa(
    operator_id: int, *, actor: str, settings: Settings, client: str = ""
) -> SetupLink | None:
    """Start the operator over: password, TOTP and recovery codes cleared, sessions ended, a
    new setup link. None when there is no such operator or it is disabled."""
    now = utcnow()
    async with write_transaction(_engine()):
        rows = (
            await Operator.update(
                {
                    Operator.password_hash: "",
                    Operator.totp_secret: "",
                    Operator.totp_last_step: 0,
                    Operator.enrolled_at: None,
                    Operator.failed_attempts: 0,
                    Operator.locked_until: None,
                    Operator.updated_at: now,
                }
            )
            .where((Operator.id == operator_id) & Operator.disabled_at.is_null())
            .returning(Operator.id)
        )
        if not rows:
            return None
        await RecoveryCode.delete().where(RecoveryCode.operator == operator_id)
        await sessions.end_all(operator_id)
        await record(
            "operator.mfa_reset",
            actor=actor,
            target=f"operator:{operator_id}",
            client=client,
            now=now,
        )
        return await _mint_setup(operator_id, actor, settings, now, client)


# -- the setup page's steps (the live setup link's operator) --


async def operator_of_link(token_id: int) -> dict[str, Any] | None:
    row = (
        await OperatorSetupToken.select(OperatorSetupToken.operator)
        .where(OperatorSetupToken.id == token_id)
        .first()
    )
    return await by_id(row["operator"]) if row else None


def totp_key(settings: Settings) -> bytes:
    """The key TOTP secrets are sealed under (derived from SECRET_KEY)."""
    return settings.app.derived_key("totp-secrets")


def totp_secret(operator: dict[str, Any], settings: Settings) -> str:
    """The operator's TOTP secret in base 32, opened from its sealed column ("" for none)."""
    return totp.unseal(operator["totp_secret"], totp_key(settings), operator["id"])


async def set_password(operator_id: int, password: str, settings: Settings) -> None:
    """Step 1: the password, and a pending TOTP secret for step 2 (nothing usable yet:
    sign-in needs enrolled_at)."""
    now = utcnow()
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    sealed = totp.seal(totp.new_secret(), totp_key(settings), operator_id)
    await Operator.update(
        {
            Operator.password_hash: hashed,
            Operator.totp_secret: sealed,
            Operator.updated_at: now,
        }
    ).where((Operator.id == operator_id) & Operator.enrolled_at.is_null())


async def enrol(
    token_id: int, operator: dict[str, Any], code: str, settings: Settings, client: str = ""
) -> list[str] | None:
    """Step 2: a correct code from the authenticator completes the setup in one transaction
    (the link consumed, TOTP enrolled, ten recovery codes made): the codes to show once, or
    None for a wrong code or a link that is not live any more."""
    now = utcnow()
    step = totp.matching_step(totp_secret(operator, settings), code, now)
    if step is None:
        return None
    key = settings.app.derived_key("recovery-codes")
    codes = totp.new_recovery_codes()
    async with write_transaction(_engine()):
        if await tokens.consume(OperatorSetupToken, token_id, now) is None:
            return None
        await Operator.update(
            {
                Operator.enrolled_at: now,
                Operator.totp_last_step: step,
                Operator.failed_attempts: 0,
                Operator.locked_until: None,
                Operator.updated_at: now,
            }
        ).where(Operator.id == operator["id"])
        await RecoveryCode.delete().where(RecoveryCode.operator == operator["id"])
        await RecoveryCode.insert(
            *(
                RecoveryCode(
                    operator=operator["id"], code_hash=totp.recovery_hash(c, key), created_at=now
                )
                for c in codes
            )
        )
        await record(
            "operator.mfa_enrolled",
            actor=f"operator:{operator['id']}",
            target=f"operator:{operator['id']}",
            client=client,
            details={"recovery_codes": len(codes)},
            now=now,
        )
    return codes


async def delete_dead_setup_links(
    now: datetime, batch_size: int, after: Cursor | None = None
) -> tuple[int, Cursor | None]:
    """The sweep's part: setup links expired (past the grace period) and never used."""
    dead = tokens.dead(OperatorSetupToken, now)
    return await delete_expired_batch(OperatorSetupToken, dead, batch_size, after)
