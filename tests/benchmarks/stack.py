"""The stack under test, started the production way: a scratch PostgreSQL database, a private
arq queue on its own Redis database, `jcan serve` (granian, one worker), `jcan worker`, and an
SMTP sink process. Everything started here is stopped and dropped again by stop()."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from app.settings import _ENV_NAMES, Settings
from tests.benchmarks import signin_load

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
JCAN = BIN / "jcan"

ADMIN_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Database 14 and a queue name of its own: the bench never touches anyone else's keys.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

COMPANY = "BENCH"
CAPTCHA_ANSWER = "246810"
TICKETS = 50  # one per connection of the registration load
WORKERS = 1  # granian workers, of the portal and of the bare framework alike


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after the grace period; always reaps the process."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(grace)


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process has had, in MB (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(ADMIN_DATABASE_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@dataclass
class Stack:
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jcan-bench-")))
    app_port: int = field(default_factory=free_port)
    sink_port: int = field(default_factory=free_port)
    bare_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    tickets: list[str] = field(default_factory=list)
    console_cookie: str = ""
    _logs: list[IO[bytes]] = field(default_factory=list)
    _database_created: bool = False

    @property
    def database(self) -> str:
        return f"jcan_bench_{self.run_id}"

    @property
    def database_url(self) -> str:
        parts = urlsplit(ADMIN_DATABASE_URL)
        return urlunsplit(parts._replace(path=f"/{self.database}"))

    @property
    def queue_name(self) -> str:
        return f"jcan:bench:{self.run_id}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def bare_url(self) -> str:
        """The bare framework's server (tests/benchmarks/bare.py)."""
        return f"http://127.0.0.1:{self.bare_port}"

    def environment(self) -> dict[str, str]:
        """The process environment of app, worker and CLI: ours, none of the caller's settings."""
        ours = {name for names in _ENV_NAMES.values() for name in names.values()}
        base = {k: v for k, v in os.environ.items() if k not in ours}
        return base | {
            "PICCOLO_CONF": "app.piccolo_conf",
            "APP_ENV": "test",  # CAPTCHA_TEST_ANSWER and BENCH_MODE are refused in production
            "BENCH_MODE": "true",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "BASE_URL": self.base_url,
            "VAR_DIR": str(self.workdir / "var"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": BENCH_REDIS_URL,
            "JOB_QUEUE_NAME": self.queue_name,
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.sink_port),
            "SMTP_TIMEOUT": "10",
            # The loads come from 50 client addresses (X-Forwarded-For, trusted as behind the
            # reverse proxy production needs), each far above the usual limit.
            "TRUSTED_PROXY": "true",
            "RATE_LIMIT_PER_MINUTE": "100000",
            "CAPTCHA_TEST_ANSWER": CAPTCHA_ANSWER,
            # The sign-in load: one operator's address, far above the usual per-minute limit.
            "CONSOLE_LOGIN_PER_MINUTE": "100000",
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._env = self.environment()
        asyncio.run(_admin(f'CREATE DATABASE "{self.database}"'))
        self._database_created = True
        self.jcan("migrate")
        self.jcan("ca", "init", "--if-missing")  # the CRL route and the OCSP responder need it
        self.jcan("companies", "add", COMPANY, "ベンチマーク株式会社")
        self.tickets = self.jcan("tickets", "issue", COMPANY, "--count", str(TICKETS)).split()
        asyncio.run(signin_load.add_operator(self.settings()))
        self.console_cookie = asyncio.run(signin_load.console_session(self.settings()))
        sink = [sys.executable, "-m", "tests.benchmarks.sink", str(self.sink_port)]
        self._spawn("sink", [*sink, str(self.links_file)])
        self._wait_for_port(self.sink_port, "the SMTP sink")
        serve = ["--host", "127.0.0.1", "--port", str(self.app_port), "--workers", str(WORKERS)]
        self._spawn("app", [str(JCAN), "serve", *serve])
        self._wait_for(lambda: self._answers(f"{self.base_url}/healthz"), "the app")
        bare = [sys.executable, "-m", "tests.benchmarks.bare", str(self.bare_port), str(WORKERS)]
        self._spawn("bare", bare)
        self._wait_for(lambda: self._answers(f"{self.bare_url}/bench/plain"), "the bare app")
        self._spawn("worker", [str(JCAN), "worker"])
        self._wait_for(
            lambda: (
                subprocess.run(
                    [str(JCAN), "worker", "--check"], env=self._env, capture_output=True
                ).returncode
                == 0
            ),
            "the arq worker",
        )

    def stop(self) -> None:
        for name in ("app", "bare", "worker", "sink"):
            if name in self.processes:
                stop_process(self.processes.pop(name))
        for log in self._logs:
            log.close()
        if self._database_created:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            self._database_created = False
        asyncio.run(self._forget_redis_keys())
        shutil.rmtree(self.workdir, ignore_errors=True)

    async def _forget_redis_keys(self) -> None:
        from redis.asyncio import Redis

        redis = Redis.from_url(BENCH_REDIS_URL)
        try:
            keys = [key async for key in redis.scan_iter(match=f"*{self.queue_name}*", count=1000)]
            # Cron job ids are not scoped by queue: find ours in our queue's sorted set.
            for job_id in await redis.zrange(self.queue_name, 0, -1):
                name = job_id.decode()
                keys += [f"arq:{kind}:{name}" for kind in ("job", "in-progress", "retry", "result")]
            for start in range(0, len(keys), 1000):
                await redis.delete(*keys[start : start + 1000])
        finally:
            await redis.aclose()

    # -- helpers ---------------------------------------------------------------------------

    def jcan(self, *args: str) -> str:
        result = subprocess.run(
            [str(JCAN), *args], env=self._env, capture_output=True, text=True, cwd=ROOT
        )
        if result.returncode != 0:
            raise RuntimeError(f"jcan {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        self._logs.append(log)
        self.processes[name] = subprocess.Popen(
            command, env=self._env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_for(self, ready: object, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():  # type: ignore[operator]
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited while waiting for {what}:\n{self.log(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def _wait_for_port(self, port: int, what: str) -> None:
        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        self._wait_for(listening, what)

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    # -- what the measurements need ---------------------------------------------------------

    def settings(self) -> Settings:
        """The settings app and worker run with, for measurements made in this process."""
        return Settings.from_env(self._env)

    @property
    def links_file(self) -> Path:
        """Where the SMTP sink writes the pickup links it receives (tests/benchmarks/sink.py)."""
        return self.workdir / "pickup-links.txt"

    def pickup_links(self) -> list[str]:
        path = self.links_file
        return path.read_text().split() if path.exists() else []

    def app_worker_pid(self) -> int:
        """The granian worker process (the child of `jcan serve` that runs the app)."""
        pids = children(self.processes["app"].pid)
        if not pids:
            raise RuntimeError("granian has no worker process")
        return max(pids, key=peak_rss_mb)

    def worker_pid(self) -> int:
        return self.processes["worker"].pid
