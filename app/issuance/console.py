"""The console's certificate page (/console/certificates/{public_id}): serial, subject,
validity, status (with the revocation's reason and time), key origin, pickup state, the
webhook deliveries of its serial, and 「再発行」 (audited views, like the application page)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app.application.tables import Application
from app.application.workflow import Actor
from app.console.audit.service import record
from app.console.guards import current_operator, requires
from app.console.permissions import Permission, allowed
from app.console.web import page
from app.i18n import _
from app.issuance import reissue as reissuing
from app.issuance.ca.base import CAError
from app.issuance.tables import CSR, ISSUED, REQUESTED, REVOKED, Certificate
from app.issuance.webhooks.operations import list_events
from app.revocation import rules
from app.revocation.record import revocation_of
from app.web.render import INVALID, see_other
from app.web.security import client_address
from app.web.state import form_values, services
from app.web.types import Req

BASE = "/console/certificates"
PAGE = "console/certificates/certificate.html.jinja2"
VIEW = [requires(Permission.VIEW_APPLICATIONS)]


def colon_serial(serial: str | None) -> str:
    """Upper-case hex in colon-separated pairs (what certificate viewers show)."""
    if not serial:
        return ""
    text = serial.upper()
    text = "0" * (len(text) % 2) + text
    return ":".join(text[i : i + 2] for i in range(0, len(text), 2))


def status_label(status: str) -> str:
    return {
        REQUESTED: _("CA の応答待ち"),
        ISSUED: _("発行済み"),
        REVOKED: _("失効"),
    }.get(status, status)


async def certificates_of(application_id: int) -> list[dict[str, Any]]:
    """An application's certificates, newest first, with their page's address."""
    rows = await Certificate.raw(
        "SELECT public_id, serial, status, not_after FROM certificate "
        "WHERE application = {} ORDER BY id DESC",
        application_id,
    )
    return [
        dict(r)
        | {
            "url": f"{BASE}/{r['public_id']}",
            "serial_text": colon_serial(r["serial"]),
            "status_label": status_label(r["status"]),
        }
        for r in rows
    ]


async def _revocation(certificate: dict[str, Any]) -> dict[str, Any] | None:
    """When and why it was revoked: its revocation row (a re-issue writes one too)."""
    if certificate["status"] != REVOKED:
        return None
    row = await revocation_of(int(certificate["id"]))
    if row is None:
        return None
    return {
        "at": row["revoked_at"],
        "reason_label": rules.reason_label(row["reason"]),
    }


async def _context(request: Req, certificate: dict[str, Any]) -> dict[str, Any]:
    operator = current_operator(request)
    application = (
        await Application.select(Application.id, Application.public_id, Application.reference)
        .where(Application.id == certificate["application"])
        .first()
    )
    assert application is not None
    pickup = await reissuing.pickup_of(certificate)
    serial = certificate["serial"]
    may_reissue = allowed(operator.role, Permission.REISSUE)
    open_reasons = reissuing.reasons_open(certificate, pickup) if may_reissue else []
    return {
        "page_title": _("証明書 %(serial)s") % {"serial": colon_serial(serial) or "-"},
        "certificate": certificate,
        "serial_text": colon_serial(serial),
        "status_label": status_label(certificate["status"]),
        "revocation": await _revocation(certificate),
        "key_origin_label": _("申請者の CSR（鍵はこのサービスでは作りません）")
        if certificate["key_origin"] == CSR
        else _("このサービスで生成（PKCS#12 で受け渡し）"),
        "pickup": pickup,
        "application": dict(application),
        "application_url": f"/console/applications/{application['public_id']}",
        "others": [
            c
            for c in await certificates_of(int(application["id"]))
            if c["public_id"] != certificate["public_id"]
        ],
        "deliveries": await list_events(serial=serial) if serial else [],
        "deliveries_url": "/console/webhooks"
        if allowed(operator.role, Permission.MANAGE_WEBHOOKS)
        else "",
        "reasons": [
            {"value": v, "label": label}
            for v, label in reissuing.reason_labels()
            if v in open_reasons
        ],
        "superseded_label": rules.reason_label(rules.Reason.SUPERSEDED),
        "base": f"{BASE}/{certificate['public_id']}",
    }


async def _certificate(public_id: str) -> dict[str, Any]:
    row = await Certificate.select().where(Certificate.public_id == public_id).first()
    if row is None:
        raise NotFoundException()
    return dict(row)


async def show(
    request: Req,
    certificate: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response[Any]:
    operator = current_operator(request)
    state = services(request)
    context = await _context(request, certificate)
    await record(
        "certificate.view",
        actor=operator.actor,
        target=f"certificate:{certificate['serial'] or certificate['public_id']}",
        client=client_address(request, state.settings.security.trusted_proxy),
        details={"application": context["application"]["reference"]},
    )
    context |= {
        "errors": errors or {},
        "values": values or {},
        "notice": request.query_params.get("notice", ""),
    }
    return page(request, PAGE, context, operator=operator, status=INVALID if errors else 200)


def check_reissue(values: dict[str, str], open_reasons: list[str]) -> dict[str, str]:
    """The re-issue form's errors (empty: valid)."""
    errors: dict[str, str] = {}
    if values.get("reason", "") not in open_reasons:
        errors["reason"] = _("再発行の理由を選んでください。")
    note = values.get("note", "").strip()
    if not note:
        errors["note"] = _("再発行の経緯を入力してください（監査ログに記録されます）。")
    elif len(note) > reissuing.NOTE_MAX:
        errors["note"] = _("再発行の経緯は%(n)s文字以内で入力してください。") % {
            "n": reissuing.NOTE_MAX
        }
    return errors


class CertificatesController(Controller):
    path = "/certificates"

    @get("/{public_id:str}", guards=VIEW)
    async def certificate(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await show(request, await _certificate(public_id))

    @post("/{public_id:str}/reissue", guards=[requires(Permission.REISSUE)])
    async def reissue(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        certificate = await _certificate(public_id)
        values = await form_values(request)
        pickup = await reissuing.pickup_of(certificate)
        errors = check_reissue(values, reissuing.reasons_open(certificate, pickup))
        if errors:
            return await show(request, certificate, errors=errors, values=values)
        state = services(request)
        try:
            new = await reissuing.reissue(
                public_id,
                values["reason"],
                values["note"].strip(),
                actor=Actor.operator(current_operator(request).id),
                settings=state.settings,
                outbox=state.outbox,
                queue=state.queue,
                client=client_address(request, state.settings.security.trusted_proxy),
            )
        except (reissuing.Lost, reissuing.NotReissuable):
            return see_other(f"{BASE}/{public_id}?notice=taken")
        except CAError:
            return see_other(f"{BASE}/{public_id}?notice=ca_error")
        return see_other(f"{BASE}/{new['public_id']}?notice=reissued")


async def latest_certificates(application_ids: list[int]) -> dict[int, dict[str, Any]]:
    """application id -> its newest certificate (url, serial) for the 発行済み tab's rows."""
    if not application_ids:
        return {}
    rows = (
        await Certificate.select(Certificate.application, Certificate.public_id, Certificate.serial)
        .where(Certificate.application.is_in(application_ids))
        .order_by(Certificate.id)
    )
    return {
        int(r["application"]): {
            "url": f"{BASE}/{r['public_id']}",
            "serial_text": colon_serial(r["serial"]),
        }
        for r in rows
    }
