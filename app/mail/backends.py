"""Delivery backends: SMTP (aiosmtplib), .eml files, console. Errors are sorted into two kinds."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
import time
from pathlib import Path
from typing import Protocol

import aiosmtplib

from app.mail.compose import Outgoing, readable
from app.settings import MailSettings

log = logging.getLogger("jcan.mail")


class TransientMailError(Exception):
    """Worth another try later: connection refused, timeouts, SMTP 4xx."""


class PermanentMailError(Exception):
    """Will not get better by retrying: SMTP 5xx, a refused recipient."""


class MailBackend(Protocol):
    async def send(self, message: Outgoing) -> None: ...


class FileBackend:
    """Writes each message as <Message-ID>.eml under MAIL_DIR (one file per message id)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: Outgoing) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: Outgoing) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", message.message_id.strip("<>"))
        target = self.directory / f"{stem}.eml"
        temporary = target.with_suffix(".eml.tmp")
        temporary.write_bytes(readable(message))
        os.replace(temporary, target)  # atomic: readers never see half a file


class ConsoleBackend:
    """Prints messages to standard output (development only)."""

    async def send(self, message: Outgoing) -> None:
        print(readable(message).decode("utf-8", "replace"), flush=True)


class SmtpBackend:
    """Sends over SMTP, keeping connections open between messages.

    A worker sends many messages: a fresh connection for each costs a TCP handshake, the
    greeting, EHLO (and STARTTLS/AUTH) and QUIT every time, which halved delivery speed in
    `make bench`. Idle connections wait in a small pool; each carries at most
    MESSAGES_PER_CONNECTION messages (servers limit that) and is dropped after any error.
    """

    MESSAGES_PER_CONNECTION = 20
    MAX_IDLE_SECONDS = 30.0  # well below the usual server idle timeouts (60-300 s)

    def __init__(self, settings: MailSettings, max_idle: int = 10) -> None:
        self.settings = settings
        self.max_idle = max_idle
        self._idle: list[tuple[aiosmtplib.SMTP, int, float]] = []  # client, sent, idle since

    async def send(self, message: Outgoing) -> None:
        try:
            await self._send(message)
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

    async def _send(self, message: Outgoing) -> None:
        reused = self._take_idle()
        if reused is not None:
            client, sent = reused
            try:
                await _transmit(client, message)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                client.close()  # the server closed it while idle: once more on a new one
            except BaseException:
                client.close()
                raise
            else:
                await self._put_back(client, sent + 1)
                return
        client = self._client()
        try:
            await client.connect()
            await _transmit(client, message)
        except BaseException:
            client.close()
            raise
        await self._put_back(client, 1)

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout,
            tls_context=ssl.create_default_context() if s.smtp_security != "none" else None,
        )

    def _take_idle(self) -> tuple[aiosmtplib.SMTP, int] | None:
        now = time.monotonic()
        while self._idle:
            client, sent, since = self._idle.pop()
            if client.is_connected and now - since < self.MAX_IDLE_SECONDS:
                return client, sent
            client.close()
        return None

    async def _put_back(self, client: aiosmtplib.SMTP, sent: int) -> None:
        if sent < self.MESSAGES_PER_CONNECTION and len(self._idle) < self.max_idle:
            self._idle.append((client, sent, time.monotonic()))
        else:
            await _quit(client)

    async def close(self) -> None:
        """QUIT every idle connection (worker shutdown)."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client, _, _ in idle))


async def _transmit(client: aiosmtplib.SMTP, message: Outgoing) -> None:
    options: list[str] = []
    if message.smtputf8:
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        if not client.supports_extension("smtputf8"):
            raise PermanentMailError("an internationalised address, and no SMTPUTF8 at the server")
        options = ["SMTPUTF8", "BODY=8BITMIME"]
    await client.sendmail(message.sender, [message.recipient], message.data, mail_options=options)


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def _codes(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return ",".join(str(r.code) for r in exc.recipients)


def backend_for(settings: MailSettings, concurrency: int = 10) -> MailBackend:
    """`concurrency`: how many sends may run at once (the worker's max_jobs). As many SMTP
    connections stay open: with fewer, every wave of sends opened and closed the rest again."""
    if settings.backend == "smtp":
        return SmtpBackend(settings, max_idle=concurrency)
    if settings.backend == "console":
        return ConsoleBackend()
    return FileBackend(settings.mail_dir)
