"""Delivery backends: SMTP (aiosmtplib), .eml files, console. Errors are sorted into two kinds."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from app.settings import MailSettings

log = logging.getLogger("jcan.mail")


class TransientMailError(Exception):
    """Worth another try later: connection refused, timeouts, SMTP 4xx."""


class PermanentMailError(Exception):
    """Will not get better by retrying: SMTP 5xx, a refused recipient."""


class MailBackend(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class FileBackend:
    """Writes each message as <Message-ID>.eml under MAIL_DIR (one file per message id)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", str(message["Message-ID"]).strip("<>"))
        target = self.directory / f"{stem}.eml"
        temporary = target.with_suffix(".eml.tmp")
        temporary.write_bytes(message.as_bytes())
        os.replace(temporary, target)  # atomic: readers never see half a file


class ConsoleBackend:
    """Prints messages to standard output (development only)."""

    async def send(self, message: EmailMessage) -> None:
        print(message.as_string(), flush=True)


class SmtpBackend:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                timeout=s.smtp_timeout,
                tls_context=ssl.create_default_context() if s.smtp_security != "none" else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(400 <= r.code < 500 for r in exc.recipients):
                raise TransientMailError(f"recipient deferred: {_codes(exc)}") from exc
            raise PermanentMailError(f"recipient refused: {_codes(exc)}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                raise TransientMailError(f"SMTP {exc.code}") from exc
            raise PermanentMailError(f"SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientMailError(type(exc).__name__) from exc


def _codes(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return ",".join(str(r.code) for r in exc.recipients)


def backend_for(settings: MailSettings) -> MailBackend:
    if settings.backend == "smtp":
        return SmtpBackend(settings)
    if settings.backend == "console":
        return ConsoleBackend()
    return FileBackend(settings.mail_dir)
