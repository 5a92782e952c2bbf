"""The revoke service: the CA, the certificate and application revoked, the holder mailed,
certificate.revoked announced, the CRL regenerated, one audit row; exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from app.application.tables import Application, StatusChange
from app.application.workflow import Actor
from app.console.audit.tables import AuditEvent
from app.console.guards import CurrentOperator
from app.console.review.form import Decision
from app.console.review.rules import Action
from app.console.review.service import act
from app.db import is_unique_violation, utcnow
from app.issuance.ca import select
from app.issuance.ca.base import CertStatus
from app.issuance.tables import Certificate
from app.issuance.webhooks.tables import WebhookEvent
from app.revocation import service
from app.revocation.tables import Revocation
from tests.helpers import AGENT, PRINCIPAL, add_operator, submitted, text_body, wait_for_mail
from tests.integration.issuance.issuance_helpers import CHECKS, HOLDER, wait_issued
from tests.integration.revocation.conftest import issued_certificate, openssl
from tests.support.pkilint import lint_crl


async def _revoke(services: Any, certificate: dict[str, Any], reason: str, actor: Actor, **kw: Any):
    return await service.revoke(
        certificate["id"],
        reason,
        actor,
        settings=services.settings,
        outbox=services.outbox,
        ca=services_ca(services),
        **kw,
    )


def services_ca(services: Any) -> Any:
    return select(services.settings)


async def test_revoking_moves_everything_once_and_the_crl_shows_it(
    client: Any, smtp_sink: Any, services: Any, tmp_path: Path
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    operator = await add_operator("approver", "approver-revokes@example.jp")
    compromised = utcnow().replace(microsecond=0) - timedelta(hours=3)
    outcome = await _revoke(
        services,
        certificate,
        "keyCompromise",
        Actor.operator(operator),
        invalidity_date=compromised,
    )
    assert outcome.revoked_now and outcome.reason == "keyCompromise"
    row = await Certificate.select().where(Certificate.id == certificate["id"]).first()
    assert row is not None and row["status"] == "revoked"
    app_row = await Application.select().where(Application.id == certificate["application"]).first()
    assert app_row is not None and app_row["status"] == "revoked"
    change = await StatusChange.select().where(StatusChange.to_status == "revoked").first()
    assert change is not None and (change["actor"], change["actor_id"]) == (
        "operator",
        str(operator),
    )
    [record] = await Revocation.select().where(Revocation.certificate == certificate["id"])
    assert record["reason"] == "keyCompromise" and record["invalidity_date"] == compromised
    status = await services_ca(services).status(int(certificate["serial"], 16))
    assert status.status is CertStatus.REVOKED and status.reason is x509.ReasonFlags.key_compromise
    messages = await wait_for_mail(smtp_sink, HOLDER, count=4)  # link, submitted, pickup, revoked
    revoked = [m for m in messages if "失効しました" in text_body(m)]
    assert len(revoked) == 1 and certificate["serial"] in text_body(revoked[0])
    events = await WebhookEvent.select().where(WebhookEvent.event_type == "certificate.revoked")
    assert len(events) == 1 and certificate["serial"] in events[0]["body"]
    audits = await AuditEvent.select().where(AuditEvent.action == "certificate.revoke")
    assert len(audits) == 1 and audits[0]["actor"] == f"operator:{operator}"

    # The CRL (DER) lists it with its reason and invalidity date; openssl verify says revoked.
    crl = await services_ca(services).crl()
    (tmp_path / "crl.der").write_bytes(crl)
    text = openssl(
        "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text", cwd=tmp_path
    ).stdout
    assert certificate["serial"].upper() in text.replace(":", "").upper()
    assert "Key Compromise" in text and "Invalidity Date" in text
    openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem", cwd=tmp_path)
    chain = certificate["chain_pem"]
    (tmp_path / "chain.pem").write_text(chain)
    (tmp_path / "cert.pem").write_text(certificate["certificate_pem"])
    verify = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        "chain.pem",
        "-CRLfile",
        "crl.pem",
        "cert.pem",
        cwd=tmp_path,
        check=False,
    )
    assert verify.returncode != 0 and "certificate revoked" in (verify.stdout + verify.stderr)

    # The CRL route serves the same revocation (DER, application/pkix-crl), pkilint-clean.
    served = await client.get("/ca/crl")
    assert served.headers["content-type"] == "application/pkix-crl"
    listed = x509.load_der_x509_crl(served.content)
    entry = listed.get_revoked_certificate_by_serial_number(int(certificate["serial"], 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    assert lint_crl(served.content) == []

    again = await _revoke(services, certificate, "superseded", Actor.operator(operator))
    assert not again.revoked_now and again.reason == "keyCompromise"
    await asyncio.sleep(0.5)
    assert len(smtp_sink.to(HOLDER)) == 4
    assert await AuditEvent.count().where(AuditEvent.action == "certificate.revoke") == 1


async def test_racing_revocations_revoke_once(client: Any, smtp_sink: Any, services: Any) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    system = Actor.system("revoke_request")
    outcomes = await asyncio.gather(
        *(_revoke(services, certificate, "cessationOfOperation", system) for _ in range(6))
    )
    assert sum(o.revoked_now for o in outcomes) == 1
    assert {o.reason for o in outcomes} == {"cessationOfOperation"}
    assert await Revocation.count().where(Revocation.certificate == certificate["id"]) == 1
    assert await WebhookEvent.count().where(WebhookEvent.event_type == "certificate.revoked") == 1
    assert await AuditEvent.count().where(AuditEvent.action == "certificate.revoke") == 1
    assert await StatusChange.count().where(StatusChange.to_status == "revoked") == 1
    await wait_for_mail(smtp_sink, HOLDER, count=4)
    await asyncio.sleep(0.5)
    assert len(smtp_sink.to(HOLDER)) == 4


async def test_a_certificate_has_one_revocation_row(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    """The UNIQUE behind the conditional UPDATE: a second row for the certificate is refused."""
    certificate = await issued_certificate(client, smtp_sink, services)
    await _revoke(services, certificate, "none", Actor.system("test"))
    second = Revocation(certificate=certificate["id"], reason="superseded", revoked_at=utcnow())
    with pytest.raises(Exception) as raised:
        await Revocation.insert(second)
    assert is_unique_violation(raised.value), raised.value
    assert await Revocation.count().where(Revocation.certificate == certificate["id"]) == 1


async def test_no_reason_omits_the_reason_code(
    client: Any, smtp_sink: Any, services: Any, tmp_path: Path
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    await _revoke(services, certificate, "none", Actor.system("test"))
    crl = x509.load_der_x509_crl(await services_ca(services).crl())
    entry = crl.get_revoked_certificate_by_serial_number(int(certificate["serial"], 16))
    assert entry is not None
    assert not any(isinstance(e.value, x509.CRLReason) for e in entry.extensions)


async def test_an_agents_application_mails_the_holder_and_the_agent(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    reference = await submitted(client, smtp_sink, "agent")
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    email = f"approver-{reference}@example.jp"
    who = CurrentOperator(await add_operator("approver", email), email, "承認 太郎", "approver")
    await act(row["public_id"], Decision(Action.CLAIM), who, services)
    await act(row["public_id"], Decision(Action.APPROVE, CHECKS), who, services)
    await wait_issued(row["id"])
    certificate = await Certificate.select().where(Certificate.application == row["id"]).first()
    assert certificate is not None
    await _revoke(services, dict(certificate), "affiliationChanged", Actor.system("test"))
    for address in (AGENT, PRINCIPAL):
        messages = await wait_for_mail(smtp_sink, address, count=1)
        for _ in range(100):
            if any("失効しました" in text_body(m) for m in smtp_sink.to(address)):
                break
            await asyncio.sleep(0.1)
        assert any("失効しました" in text_body(m) for m in smtp_sink.to(address)), address
        assert messages
