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

# The zygote's program: say it is ready once app.cli is imported, then read one JSON request per
# line, fork, answer the child's pid, then its exit status, each answer carrying the request's
# number. The child points fds 0/1/2 at the request's files before anything runs, and arms
# faulthandler so that a hang can be shown (SIGABRT dumps every thread's stack to its stderr).
_ZYGOTE = r"""
import faulthandler, io, json, os, sys, traceback
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
    faulthandler.enable(file=sys.stderr, all_threads=True)
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
answers.write(json.dumps({"ready": os.getpid()}) + "\n")
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    answers.write(json.dumps({"n": request["n"], "pid": pid}) + "\n")
    _, status = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(status)
    answers.write(json.dumps({"n": request["n"], "status": status}) + "\n")
"""

# How long the zygote may take to import app.cli (seconds; ~2.5 on a quiet machine, several
# under the CI's load), and to fork once it has.
_IMPORT_DEADLINE = 120.0
_FORK_DEADLINE = 30.0


class ZygoteError(RuntimeError):
    """The zygote did not answer as it must; it has been thrown away."""


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
        self.ready = False
        self.requests = 0

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def _line(self, deadline: float) -> dict[str, int] | None:
        ready, _, _ = select.select([self.answers], [], [], deadline)
        if not ready:
            return None
        line = self.answers.readline()
        if not line:
            raise ZygoteError("the jcan zygote exited")
        answer: dict[str, int] = json.loads(line)
        return answer

    def _answer(self, n: int, key: str, deadline: float) -> int | None:
        """The answer `key` to request `n`, or None after `deadline` seconds. Any other line
        means the two sides are out of step: an error, never taken for this command's answer."""
        answer = self._line(deadline)
        if answer is None:
            return None
        if answer.get("n") != n or key not in answer:
            raise ZygoteError(f"the jcan zygote answered {answer}, expected {key} of request {n}")
        return answer[key]

    def run(
        self, args: list[str], env: dict[str, str], cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        if not self.ready:
            if self._line(_IMPORT_DEADLINE) is None:
                raise ZygoteError(f"the jcan zygote did not import app.cli in {_IMPORT_DEADLINE} s")
            self.ready = True
        self.requests += 1
        n = self.requests
        with tempfile.TemporaryDirectory(prefix="jcan-cli-") as directory:
            out, err = Path(directory, "stdout"), Path(directory, "stderr")
            request = {"n": n, "args": args, "env": env, "cwd": str(cwd)}
            request |= {"stdout": str(out), "stderr": str(err)}
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            pid = self._answer(n, "pid", _FORK_DEADLINE)
            if pid is None:
                raise ZygoteError(f"the jcan zygote did not fork in {_FORK_DEADLINE} s")
            status = self._answer(n, "status", timeout)
            if status is None:
                # Show where it hangs: faulthandler writes every thread's stack to its stderr
                # on SIGABRT; then make sure it is gone. The zygote is thrown away after this
                # (see jcan()), so one hang fails one command, not the ones after it.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGABRT)
                if self._line(5) is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(
                    ["jcan", *args], timeout, output=_read(out), stderr=_read(err)
                )
            return subprocess.CompletedProcess(["jcan", *args], status, _read(out), _read(err))

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.answers.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


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
        try:
            return _zygote.run(list(args), dict(environment), cwd, timeout)
        except BaseException:
            # A timeout, a zygote out of step, an interrupt: whatever it was, the next command
            # gets a new zygote rather than this one's leftovers.
            with contextlib.suppress(Exception):
                _zygote.process.kill()
                _zygote.close()
            _zygote = None
            raise


def stop() -> None:
    """End the zygote (pytest_unconfigure); the next jcan() starts a new one."""
    global _zygote
    with _lock:
        if _zygote is not None and _zygote.owner == os.getpid():
            _zygote.close()
        _zygote = None
