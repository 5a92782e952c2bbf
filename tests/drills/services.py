"""The moving parts of the failure drills: an SMTP sink we can delay, stop and make refuse;
a private redis-server we can stop and restart on the same port; `jcan worker` processes."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from email import policy
from pathlib import Path
from typing import IO, Any

from tests.support.services import RUN_ID

# Set in the environment of every process a drill starts, so a final check can find leftovers.
MARKER = "JCAN_DRILL_RUN"
JCAN = Path(sys.executable).parent / "jcan"  # the jcan next to the running interpreter


def marked_environment(**overrides: str) -> dict[str, str]:
    return {**os.environ, MARKER: RUN_ID, **overrides}


def leftover_processes() -> list[int]:
    """Process ids still running with this run's marker in their environment."""
    needle = f"{MARKER}={RUN_ID}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    """What a process runs (for a failure message); empty when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:300]


async def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05
) -> Any:
    """Poll a (sync or async) condition until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


class DrillSink:
    """An aiosmtpd server on a fixed port. It records each message when its DATA arrives
    (before any delay, so a copy whose sender died mid-answer still counts), can hold its
    DATA answer, refuse DATA with a given reply, and be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Any] = []
        self.answered = 0  # DATA commands answered with 250
        self.data_commands = 0
        self.delays: list[float] = []  # seconds to hold the next DATA answers, one per command
        self.data_reply: str | None = None  # e.g. "554 5.7.1 rejected"
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Any]:
        return [m for m in list(self.messages) if m["To"] == address]


class _Handler:
    def __init__(self, sink: DrillSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sink = self.sink
        sink.data_commands += 1
        if sink.data_reply:
            return sink.data_reply
        sink.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        if sink.delays:
            await asyncio.sleep(sink.delays.pop(0))
        sink.answered += 1
        return "250 Message accepted for delivery"


class RedisServer:
    """A redis-server of our own (no persistence), so a drill can stop it and bring it back
    on the same port without touching the shared Redis."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            env=marked_environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self._answers_ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"redis-server on {self.port} did not start: {self.log()}")
            time.sleep(0.05)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]


class WorkerProcess:
    """`jcan worker` as a subprocess, its output in a log file."""

    def __init__(self, environment: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(JCAN), "worker"], env=environment, stdout=self._log, stderr=subprocess.STDOUT
        )

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    async def exited(self, timeout: float) -> int:
        await wait_until(lambda: self.process.poll() is not None, timeout, "the worker to exit")
        return int(self.process.returncode)

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __repr__(self) -> str:
        return f"<worker pid={self.process.pid} log:\n{self.log()[-3000:]}>"


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after the grace period; always reaps the process."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(grace)
