"""`jcan` as a real process, without paying its import for every command.

Each command is still its own process, with its own argv, environment, working directory,
stdout, stderr and exit status; what is shared is the interpreter's start-up: one warm process
per test session imports app.cli once and forks a child per command (a zygote, as Android and
forkserver do). The import is ~2.5 s on a quiet machine and several under load, and the suite
runs about a hundred commands per engine pass: started cold, they were a third of the
integration suite's time.

The zygote starts no thread and opens no connection before it forks (importing app.cli does
neither); the child runs `app.cli.main()` exactly as the console script does and leaves with
os._exit, so nothing of the parent's runs twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The zygote's program: read one JSON request per line, fork, answer the child's pid, then its
# exit status. The child points fds 0/1/2 at the request's files before anything runs.
_ZYGOTE = r"""
import io, json, os, sys, traceback
import app.cli

def child(request):
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["jcan", *request["args"]]
    code = 1
    try:
        code = app.cli.main(request["args"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    os._exit(code if isinstance(code, int) else 1)

answers = os.fdopen(int(sys.argv[1]), "w", buffering=1)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    answers.write(json.dumps({"pid": pid}) + "\n")
    _, status = os.waitpid(pid, 0)
    answers.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}) + "\n")
"""


class _Zygote:
    def __init__(self) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, str(write)],
            stdin=subprocess.PIPE,
            pass_fds=(write,),
            cwd=ROOT,
            env=dict(os.environ),
            text=True,
        )
        os.close(write)
        self.answers = os.fdopen(read, "r")
        self.owner = os.getpid()

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def _answer(self, deadline: float | None) -> dict[str, int] | None:
        ready, _, _ = select.select([self.answers], [], [], deadline)
        if not ready:
            return None
        line = self.answers.readline()
        if not line:
            raise RuntimeError("the jcan zygote exited")
        answer: dict[str, int] = json.loads(line)
        return answer

    def run(
        self, args: list[str], env: dict[str, str], cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="jcan-cli-") as directory:
            out, err = Path(directory, "stdout"), Path(directory, "stderr")
            request = {"args": args, "env": env, "cwd": str(cwd)}
            request |= {"stdout": str(out), "stderr": str(err)}
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            started = self._answer(30)
            if started is None:
                raise RuntimeError("the jcan zygote did not fork")
            finished = self._answer(timeout)
            if finished is None:
                # It may have ended just now (then the zygote has its status already): either
                # way its status is read here, never taken for the next command's answer.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(started["pid"], signal.SIGKILL)
                self._answer(30)
                raise subprocess.TimeoutExpired(["jcan", *args], timeout)
            return subprocess.CompletedProcess(
                ["jcan", *args], finished["status"], out.read_text(), err.read_text()
            )

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.answers.close()


_lock = threading.Lock()
_zygote: _Zygote | None = None


def jcan(
    *args: str,
    env: dict[str, str] | None = None,
    base_env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `jcan ARGS` as its own process in `base_env` (default: this process's environment)
    with `env` added. The result is subprocess.run's, in text mode."""
    global _zygote
    environment = {**(os.environ if base_env is None else base_env), **(env or {})}
    with _lock:
        if _zygote is None or not _zygote.alive():
            _zygote = _Zygote()
        return _zygote.run(list(args), dict(environment), cwd, timeout)


def stop() -> None:
    """End the zygote (pytest_unconfigure); the next jcan() starts a new one."""
    global _zygote
    with _lock:
        if _zygote is not None and _zygote.owner == os.getpid():
            _zygote.close()
        _zygote = None
