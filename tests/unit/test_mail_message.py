"""Messages written directly read back, through the email package's parser, exactly as the
email package's own EmailMessage of the same row does."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.utils import parseaddr

import pytest

from app.mail.compose import build_message, readable, to_email_message

DATE = datetime(2026, 11, 24, 12, 34, 56, tzinfo=UTC)
LONG_JA = "【JCAN証明書】申請登録を受け付けました（発行申請情報の入力のご案内）" * 3
SUBJECTS = ["Hello", "【JCAN証明書】申請登録のご案内", LONG_JA, "A" * 120, "100% sure: = ? _"]
TEXTS = [
    "本文\nhttps://example.com/apply/t/abc\n",
    "no final newline",
    "crlf\r\nlines\r\n",
    "長い行" * 200,
    "",
]
SENDERS = [
    "noreply@example.com",
    "JCAN証明書オンライン発行システム <noreply@example.com>",
    '"Doe, John" <john@example.com>',
]
RECIPIENTS = ["taro@example.com", "o'brien+tag@sub.example.co.jp"]


def fields(**overrides: str) -> dict[str, str]:
    """A message's fields: plain defaults, overridden by keyword."""
    return {
        "mail_from": "noreply@example.com",
        "recipient": "taro@example.com",
        "subject": "件名",
        "text": "本文",
        "html": "<p>本文</p>",
        "message_id": "<1@example.com>",
    } | overrides


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def reference(**values: str) -> email.message.EmailMessage:
    message = to_email_message(**values)  # type: ignore[arg-type]
    return parse(message.as_bytes(policy=policy.SMTP))


def summary(message: email.message.EmailMessage) -> dict[str, str]:
    def body(kind: str) -> str:
        part = message.get_body((kind,))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    return {
        "From": str(message["From"]),
        "To": str(message["To"]),
        "Subject": str(message["Subject"]),
        "Message-ID": str(message["Message-ID"]),
        "Auto-Submitted": str(message["Auto-Submitted"]),
        "type": message.get_content_type(),
        "plain": body("plain"),
        "html": body("html"),
        "defects": repr(message.defects + [d for p in message.walk() for d in p.defects]),
    }


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("mail_from", SENDERS)
@pytest.mark.parametrize("recipient", RECIPIENTS)
def test_reads_back_as_the_email_package_message(subject, text, mail_from, recipient):
    row = fields(
        mail_from=mail_from, recipient=recipient, subject=subject, text=text, html=f"<p>{text}</p>"
    )
    built = build_message(**row, date=DATE)
    assert not built.smtputf8
    assert built.recipient == recipient and built.sender.endswith("example.com")
    parsed = parse(built.data)
    expected = summary(reference(**row))
    # From is checked against what was asked for: the email package folds a long Japanese
    # display name into two encoded words and its own parser then reads a space between them.
    raw_from = built.data.split(b"\r\nTo: ")[0].decode().removeprefix("From: ")
    assert parseaddr(str(make_header(decode_header(raw_from)))) == parseaddr(mail_from)
    assert parsed["From"].addresses[0].addr_spec == parseaddr(mail_from)[1]
    assert summary(parsed) | {"From": ""} == expected | {"defects": "[]", "From": ""}
    assert parsed["Date"].datetime == DATE
    lines = built.data.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines), max(lines, key=len)
    assert b"\n" not in built.data.replace(b"\r\n", b"")


def test_an_internationalised_address_takes_the_smtputf8_path():
    built = build_message(**fields(recipient="太郎@例え.jp"))
    assert built.smtputf8
    assert not built.data.startswith(b"From ")  # no mbox separator line
    assert b"\n" not in built.data.replace(b"\r\n", b"")
    parsed = parse(built.data)
    assert str(parsed["To"]) == "太郎@例え.jp"
    assert parsed.get_body(("plain",)).get_content().strip() == "本文"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "field", ["recipient", "subject", "message_id", "mail_from"], ids=lambda f: f
)
def test_a_line_break_in_a_header_is_refused(field):
    values = fields()
    with pytest.raises(ValueError):
        build_message(**fields(**{field: values[field] + "\r\nBcc: victim@example.com"}))


def test_the_readable_copy_for_files_shows_the_text_and_reads_back_the_same():
    built = build_message(
        **fields(
            mail_from="JCAN証明書LRA <no-reply@example.jp>",
            subject="【JCAN証明書】申請登録のご案内",
            text="本文です。\nhttps://example.com/apply/t/abc\n",
            html="<p>本文です。</p>",
        )
    )
    copy = readable(built)
    assert "本文です。".encode() in copy and b"https://example.com/apply/t/abc" in copy
    assert summary(parse(copy)) == summary(parse(built.data))
