"""The SMTP backend on the wire: ASCII messages as written, internationalised addresses with
SMTPUTF8 when the server offers it and refused for good when it does not."""

from __future__ import annotations

import email
from dataclasses import replace
from email import policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.mail.backends import PermanentMailError, SmtpBackend
from app.mail.compose import build_message
from tests.support.services import free_port


class Keep:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture(params=[False, True], ids=["plain server", "SMTPUTF8 server"])
def server(request: pytest.FixtureRequest) -> Any:
    keep = Keep()
    controller = Controller(
        keep, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=request.param
    )
    controller.start()
    yield keep, controller, request.param
    controller.stop()


def message(recipient: str) -> Any:
    return build_message(
        mail_from="JCAN証明書LRA <no-reply@example.jp>",
        recipient=recipient,
        subject="【JCAN証明書】申請登録のご案内",
        text="本文\nhttps://example.com/apply/t/abc\n",
        html="<p>本文</p>",
        message_id="<wire@example.jp>",
    )


async def test_messages_reach_the_server_as_built(server, settings):
    keep, controller, smtputf8 = server
    backend = SmtpBackend(replace(settings.mail, smtp_host="127.0.0.1", smtp_port=controller.port))
    try:
        await backend.send(message("taro@example.com"))
        international = message("太郎@例え.jp")
        if smtputf8:
            await backend.send(international)
        else:
            with pytest.raises(PermanentMailError, match="SMTPUTF8"):
                await backend.send(international)
    finally:
        await backend.close()
    first = keep.envelopes[0]
    assert first.mail_from == "no-reply@example.jp" and first.rcpt_tos == ["taro@example.com"]
    parsed = email.message_from_bytes(first.original_content, policy=policy.default)
    assert parsed["Subject"] == "【JCAN証明書】申請登録のご案内"
    assert "https://example.com/apply/t/abc" in parsed.get_body(("plain",)).get_content()
    assert len(keep.envelopes) == (2 if smtputf8 else 1)
    if smtputf8:
        second = keep.envelopes[1]
        assert second.rcpt_tos == ["太郎@例え.jp"]
        assert "SMTPUTF8" in [o.upper() for o in second.mail_options]
        parsed = email.message_from_bytes(second.original_content, policy=policy.default)
        assert parsed["To"] == "太郎@例え.jp"
