"""Browser suite fixtures: a live server of its own, mail pickup, Debian's Chromium."""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

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
START_WAIT_SECONDS = 30.0
STOP_WAIT_SECONDS = 10.0
# Variables of the developer's shell that would point the server at shared state.
ISOLATED_ENV = ("DATABASE_URL", "SQLITE_PATH", "MAIL_DIR", "REDIS_URL", "MAIL_BACKEND", "SMTP_HOST")
LINK = re.compile(r"https?://\S+/apply/t/[A-Za-z0-9_-]+")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """The app served by granian on its own port, database and mail directory."""

    base_url: str
    var_dir: Path
    env: dict[str, str]
    log_path: Path
    _tickets: list[str] = field(default_factory=list)
    _parsed: dict[Path, tuple[int, str, str]] = field(default_factory=dict)

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}{path}"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def database(self) -> Path:
        return self.var_dir / "jcan.sqlite3"

    def jcan(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            [str(JCAN), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
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

    def _mail(self, path: Path) -> tuple[int, str, str]:
        """(mtime_ns, recipient, text/plain body) of one .eml file, parsed once."""
        if path not in self._parsed:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            recipients = [addr for _, addr in email.utils.getaddresses(message.get_all("To", []))]
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            self._parsed[path] = (path.stat().st_mtime_ns, ",".join(recipients).casefold(), text)
        return self._parsed[path]

    def mails_to(self, address: str) -> list[str]:
        """Plain-text bodies of the messages to `address`, oldest first."""
        if not self.mail_dir.is_dir():
            return []
        found = []
        for path in self.mail_dir.glob("*.eml"):
            stamp, recipients, text = self._mail(path)
            if address.casefold() in recipients.split(","):
                found.append((stamp, path.name, text))
        return [text for _, _, text in sorted(found)]

    def wait_for_link(
        self, address: str, *, count: int = 1, timeout: float = MAIL_WAIT_SECONDS
    ) -> str:
        """The link of the newest message to `address`, once `count` of them have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            texts = self.mails_to(address)
            if len(texts) >= count:
                links = LINK.findall(texts[-1])
                assert links, f"no /apply/t/ link in the mail to {address}:\n{texts[-1]}"
                assert links[0].startswith(self.base_url + "/apply/t/"), links[0]
                return links[0]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(texts)} mail(s) to {address} after {timeout:.0f}s, wanted {count}"
                )
            time.sleep(0.1)

    def age_token(self, link: str, *, column: str) -> None:
        """Make the link's token expired (column=expires_at) or used (column=used_at).

        Writes the live database directly: the created_at value is in the past and in the
        format the app itself wrote, so no date formatting is guessed here.
        """
        assert column in ("expires_at", "used_at")
        token = link.rsplit("/", 1)[1]
        digest = hashlib.sha256(token.encode()).hexdigest()
        with sqlite3.connect(self.database, timeout=10) as db:
            changed = db.execute(
                f'UPDATE access_token SET "{column}" = created_at WHERE token_hash = ?', (digest,)
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


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("jcan-var")
    port = _free_port()
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
        PYTHONUNBUFFERED="1",
    )
    server = LiveServer(base_url, var_dir, env, var_dir / "server.log")
    server.jcan("migrate")
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
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    ctx = _new_context(browser, live_server)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def nojs_context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    ctx = _new_context(browser, live_server, java_script_enabled=False)
    yield ctx
    ctx.close()


@pytest.fixture
def nojs_page(nojs_context: BrowserContext) -> Page:
    return nojs_context.new_page()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
