"""Browser suite fixtures: a live server of its own, mail pickup, Debian's Chromium."""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.support.cli import jcan as run_jcan
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parent.parent
JCAN = ROOT / ".venv" / "bin" / "jcan"
OUTPUT = Path(__file__).resolve().parent / "output"
SCREENSHOTS = OUTPUT / "screenshots"

CAPTCHA_ANSWER = "ABCDE"
COMPANY = "ISC"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 640}
MAIL_WAIT_SECONDS = 15.0
# Assertions wait as long as actions do (set_default_timeout below): CI shares its machine.
expect.set_options(timeout=10_000)
SERVER_LOG_TAIL = 80  # lines of the live server's log added to a failed test's report
START_WAIT_SECONDS = 30.0
STOP_WAIT_SECONDS = 10.0
# Variables of the developer's shell that would point the server at shared state.
ISOLATED_ENV = (
    "DATABASE_URL",
    "SQLITE_PATH",
    "MAIL_DIR",
    "REDIS_URL",
    "MAIL_BACKEND",
    "SMTP_HOST",
    "DOCUMENTS_DIR",
    "DOCUMENT_KEY",
)
# The emailed links: /apply/t/ (registration, or a declined application to correct),
# /approve/t/ (the principal's approval request) and /pickup/t/ (the certificate's pickup).
LINKS = {
    kind: re.compile(rf"https?://\S+/{kind}/t/[A-Za-z0-9_-]+")
    for kind in ("apply", "approve", "pickup", "revoke")
}


@dataclass(frozen=True)
class Mail:
    """One message the live server wrote to its mail directory."""

    stamp: int  # mtime_ns of the .eml file
    name: str
    recipients: tuple[str, ...]  # casefolded
    subject: str
    text: str  # the text/plain body


@dataclass
class LiveServer:
    """The app served by granian on its own port, database and mail directory."""

    base_url: str
    var_dir: Path
    env: dict[str, str]
    log_path: Path
    _tickets: list[str] = field(default_factory=list)
    _parsed: dict[Path, Mail] = field(default_factory=dict)

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}{path}"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def documents_dir(self) -> Path:
        return self.var_dir / "documents"

    @property
    def database(self) -> Path:
        return self.var_dir / "jcan.sqlite3"

    def jcan(self, *args: str, timeout: float = 60) -> str:
        done = run_jcan(*args, base_env=self.env, cwd=ROOT, timeout=timeout)
        assert done.returncode == 0, f"jcan {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    def add_tickets(self, numbers: list[str]) -> None:
        self._tickets.extend(numbers)

    def issue_ticket(self) -> str:
        """A ticket of the demo company that nobody has registered yet."""
        if not self._tickets:
            out = self.jcan("tickets", "issue", COMPANY, "--count", "10")
            self._tickets.extend(line.strip() for line in out.splitlines() if line.strip())
        assert self._tickets, "jcan tickets issue printed no ticket numbers"
        return self._tickets.pop(0)

    def _mail(self, path: Path) -> Mail:
        """One .eml file, parsed once."""
        if path not in self._parsed:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            recipients = [addr for _, addr in email.utils.getaddresses(message.get_all("To", []))]
            body = message.get_body(preferencelist=("plain",))
            self._parsed[path] = Mail(
                stamp=path.stat().st_mtime_ns,
                name=path.name,
                recipients=tuple(r.casefold() for r in recipients),
                subject=str(message.get("Subject", "")),
                text=body.get_content() if body is not None else "",
            )
        return self._parsed[path]

    def mails_to(self, address: str) -> list[Mail]:
        """The messages to `address`, oldest first."""
        if not self.mail_dir.is_dir():
            return []
        found = [self._mail(path) for path in self.mail_dir.glob("*.eml")]
        mine = [m for m in found if address.casefold() in m.recipients]
        return sorted(mine, key=lambda m: (m.stamp, m.name))

    def wait_for_mail(
        self,
        address: str,
        *,
        count: int = 1,
        timeout: float = MAIL_WAIT_SECONDS,
        subject: str = "",
    ) -> Mail:
        """The newest message to `address`, once `count` of them have arrived (counting only
        those whose subject contains `subject`, when given)."""
        deadline = time.monotonic() + timeout
        while True:
            mails = [m for m in self.mails_to(address) if subject in m.subject]
            if len(mails) >= count:
                return mails[-1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(mails)} mail(s) to {address} after {timeout:.0f}s, wanted {count}: "
                    f"{[m.subject for m in mails]}"
                )
            time.sleep(0.1)

    def link_in(self, mail: Mail, kind: str = "apply") -> str:
        """The /{kind}/t/ link of a message (kind: apply or approve)."""
        links = LINKS[kind].findall(mail.text)
        assert links, f"no /{kind}/t/ link in the mail {mail.subject!r}:\n{mail.text}"
        assert links[0].startswith(f"{self.base_url}/{kind}/t/"), links[0]
        return links[0]

    def wait_for_link(
        self,
        address: str,
        *,
        count: int = 1,
        kind: str = "apply",
        timeout: float = MAIL_WAIT_SECONDS,
    ) -> str:
        """The link of the newest message to `address`, once `count` of them have arrived."""
        return self.link_in(self.wait_for_mail(address, count=count, timeout=timeout), kind)

    def age_token(self, link: str, *, column: str) -> None:
        """Make the link's token expired (column=expires_at) or used (column=used_at).

        Writes the live database directly: the created_at value is in the past and in the
        format the app itself wrote, so no date formatting is guessed here.
        """
        assert column in ("expires_at", "used_at")
        table = "approval_token" if "/approve/t/" in link else "access_token"
        token = link.rsplit("/", 1)[1]
        digest = hashlib.sha256(token.encode()).hexdigest()
        with sqlite3.connect(self.database, timeout=10) as db:
            changed = db.execute(
                f'UPDATE {table} SET "{column}" = created_at WHERE token_hash = ?', (digest,)
            ).rowcount
        assert changed == 1, f"no access_token row for {link}"


def _wait_healthy(server: LiveServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"jcan serve exited with {process.returncode}:\n{server.log_path.read_text()}"
            )
        try:
            with urllib.request.urlopen(server.url("/healthz"), timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"jcan serve not healthy in {START_WAIT_SECONDS}s:\n{server.log_path.read_text()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (granian shuts its workers down), then SIGKILL our own process group."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        # start_new_session=True made the server the leader of a group of its own.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_WAIT_SECONDS)


@contextmanager
def serving(var_dir: Path, **settings: str) -> Iterator[LiveServer]:
    """A live server on a free port with its own database, mail and documents under
    `var_dir`, the demo data, and these extra settings (environment variables)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    env.update(
        PICCOLO_CONF="app.piccolo_conf",
        VAR_DIR=str(var_dir),
        APP_ENV="test",
        CAPTCHA_TEST_ANSWER=CAPTCHA_ANSWER,
        RATE_LIMIT_PER_MINUTE="1000",
        BASE_URL=base_url,
        MAIL_BACKEND="file",
        DOCUMENTS_DIR=str(var_dir / "documents"),
        DOCUMENT_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        PYTHONUNBUFFERED="1",
        **settings,
    )
    server = LiveServer(base_url, var_dir, env, var_dir / "server.log")
    server.jcan("migrate")
    server.jcan("ca", "init", "--if-missing")  # the local CA that issues after an approval
    demo = server.jcan("demo", "--count", "5")
    server.add_tickets([line.strip() for line in demo.splitlines() if line.startswith("  ")])
    assert server._tickets, f"jcan demo printed no tickets:\n{demo}"

    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(JCAN), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("jcan-var")) as server:
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's report ends with the live server's latest log lines (errors, jobs,
    mail): what the server did is half of what a browser test saw."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer) and server.log_path.is_file():
        lines = server.log_path.read_text(errors="replace").splitlines()[-SERVER_LOG_TAIL:]
        report.sections.append(("live server log (latest lines)", "\n".join(lines)))


# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    chromium = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def _new_context(browser: Browser, live_server: LiveServer, **options: object) -> BrowserContext:
    context = browser.new_context(
        base_url=live_server.base_url,
        viewport=DESKTOP,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        **options,  # type: ignore[arg-type]
    )
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(15_000)
    return context


@pytest.fixture
def contexts(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """Browser contexts of their own (each its own cookies: a second person, such as the
    principal), with or without JavaScript; all closed after the test."""
    opened: list[BrowserContext] = []

    def open_one(*, js: bool = True) -> BrowserContext:
        ctx = _new_context(browser, live_server, java_script_enabled=js)
        opened.append(ctx)
        return ctx

    yield open_one
    for ctx in opened:
        ctx.close()


@pytest.fixture
def context(contexts: Callable[..., BrowserContext]) -> BrowserContext:
    return contexts()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def nojs_context(contexts: Callable[..., BrowserContext]) -> BrowserContext:
    return contexts(js=False)


@pytest.fixture
def nojs_page(nojs_context: BrowserContext) -> Page:
    return nojs_context.new_page()


@pytest.fixture
def open_page(contexts: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """A page in a browser context of its own, with or without JavaScript."""

    def open_one(*, js: bool = True) -> Page:
        return contexts(js=js).new_page()

    return open_one


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
