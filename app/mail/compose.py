"""Composing messages from templates/mail: subject, plain text and HTML, a stable Message-ID."""

from __future__ import annotations

import base64
import email
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import Header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any, cast

import jinja2

from app.db import utcnow


@dataclass(frozen=True)
class Composed:
    template: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    message_id: str


def compose(
    env: jinja2.Environment, template: str, recipient: str, context: dict[str, Any], domain: str
) -> Composed:
    """Render mail/<template>.{txt,html}.jinja2; the subject is the txt's `subject` block."""
    text_template = env.get_template(f"mail/{template}.txt.jinja2")
    html_template = env.get_template(f"mail/{template}.html.jinja2")
    ctx = {**context, "recipient": recipient}
    subject_block = text_template.blocks["subject"]
    subject = "".join(subject_block(text_template.new_context(ctx))).strip()
    return Composed(
        template=template,
        recipient=recipient,
        subject=subject,
        body_text=text_template.render(ctx),
        body_html=html_template.render(ctx),
        message_id=make_msgid(idstring=secrets.token_hex(8), domain=domain),
    )


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard registry makes a new class for every header of every message; the
    classes only depend on the header name, so make each once (a third of the cost of
    building a message, measured by `make bench`)."""

    @functools.cache  # noqa: B019 - one registry for the process's life
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


MAIL_POLICY = policy.default.clone(header_factory=_CachedHeaderRegistry())


def to_email_message(
    *, mail_from: str, recipient: str, subject: str, text: str, html: str, message_id: str
) -> EmailMessage:
    """The MIME message for one outbox row; the same row always yields the same Message-ID."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


SMTPUTF8_POLICY = MAIL_POLICY.clone(utf8=True, linesep="\r\n")


@dataclass(frozen=True)
class Outgoing:
    """One message ready for the wire: the envelope and the whole message as bytes."""

    sender: str  # the envelope sender: the From address
    recipient: str
    message_id: str
    data: bytes  # RFC 5322, CRLF line ends
    smtputf8: bool  # an address is not ASCII: needs SMTPUTF8 (RFC 6531) from the server


def build_message(
    *,
    mail_from: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    date: datetime | None = None,
) -> Outgoing:
    """The outbox row as bytes: multipart/alternative, both parts UTF-8 in base64.

    Every message has this one shape, so it is written directly. The email package's
    EmailMessage made it at 1.5 ms a message, half of the mail worker's time (`make bench`);
    it still makes the rare message to or from an internationalised address. What is written
    here is checked against it, through the email package's own parser, in the tests.
    """
    name, sender = parseaddr(mail_from)
    for value in (mail_from, recipient, subject, message_id):
        if "\r" in value or "\n" in value:
            raise ValueError("line break in a mail header")
    if not (sender.isascii() and recipient.isascii()):
        message = to_email_message(
            mail_from=mail_from,
            recipient=recipient,
            subject=subject,
            text=text,
            html=html,
            message_id=message_id,
        )
        return Outgoing(
            sender, recipient, message_id, message.as_bytes(policy=SMTPUTF8_POLICY), True
        )
    boundary = "=_jcan_" + secrets.token_hex(8)
    lines = [
        "From: " + _address(name, sender),
        "To: " + recipient,
        "Subject: " + _header_text("Subject", subject),
        "Date: " + format_datetime(date or utcnow()),
        "Message-ID: " + message_id,
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    ]
    for subtype, body in (("plain", text), ("html", html)):
        lines += [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            _base64_lines(body),
        ]
    lines += [f"--{boundary}--", ""]
    return Outgoing(sender, recipient, message_id, "\r\n".join(lines).encode("ascii"), False)


def _address(name: str, address: str) -> str:
    if name.isascii():
        return formataddr((name, address))
    # RFC 2047 words of at most 75 characters, folded: one word per line
    words = Header(name, "utf-8", header_name="From").encode(linesep="\r\n")
    return f"{words} <{address}>"


def _header_text(name: str, value: str) -> str:
    """ASCII as it is (short enough for one line); anything else as RFC 2047 words."""
    if value.isascii() and len(name) + len(value) < 76:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _base64_lines(body: str) -> str:
    if not body.endswith("\n"):
        body += "\n"  # as the email package does: a text part ends with a line break
    encoded = base64.encodebytes(body.replace("\r\n", "\n").replace("\n", "\r\n").encode())
    return encoded.decode("ascii").replace("\n", "\r\n").rstrip("\r\n")


def readable(message: Outgoing) -> bytes:
    """The message with its text parts in 8bit UTF-8, for people reading .eml files and the
    console in development (the wire keeps base64: 8bit needs the server's 8BITMIME)."""
    parsed = email.message_from_bytes(message.data, policy=SMTPUTF8_POLICY)
    for part in parsed.walk():
        if part.get_content_maintype() == "text":
            cast(EmailMessage, part).set_content(
                part.get_content(), subtype=part.get_content_subtype(), cte="8bit"
            )
    return parsed.as_bytes(policy=SMTPUTF8_POLICY.clone(linesep="\n"))
