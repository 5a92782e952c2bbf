"""An interleaved A/B of two versions of the app on one machine, one database, one run.

    python -m tests.benchmarks.ab BASE [review_queue review_search ...] [--rounds 4] [--seconds 5]

A is BASE (a commit, checked out in a temporary worktree), B is this working tree. Both serve
the same database (migrated by B, seeded once; with a review page among the keys, the
review's 100,000 applications and 1,000,000 audit rows) with the same settings, one granian
worker each, side by side; each round loads every key on both, A then B or B then A in turn.
Prints each side's median requests/s and p99 with every round's figures.

Why: the machines this runs on move by tens of percent between two runs of the same code
(the 2026-12-03 session measured the same application page at 250 and 143 req/s minutes
apart), so "before" and "after" runs far apart cannot show a change of 10%. Interleaving puts
both sides under the same moments of the machine. Not a replacement for `make bench`.
A older than B's migrations runs on B's schema: compare commits whose schema A can read.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks import review_load
from tests.benchmarks.run import Bench
from tests.benchmarks.stack import BIN, ROOT, Stack, free_port, stop_process
from tests.benchmarks.web_load import Scenario, ensure_wrk


def _worktree(base: str) -> Path:
    """BASE checked out apart from this tree, its catalogs compiled (they are not in git)."""
    where = Path(tempfile.mkdtemp(prefix="jcan-ab-")) / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", str(where), base], cwd=ROOT, check=True
    )
    subprocess.run(
        [str(BIN / "pybabel"), "compile", "-d", str(where / "app/locale"), "-D", "messages"],
        check=True,
        capture_output=True,
    )
    return where


def _serve_base(stack: Stack, tree: Path, port: int) -> subprocess.Popen[bytes]:
    """A's server: B's environment (its secret key too: environment() makes a new one) and
    database, A's code (first on the import path)."""
    env = dict(stack._env, PYTHONPATH=str(tree), BASE_URL=f"http://127.0.0.1:{port}")
    log = (stack.workdir / "server-a.log").open("wb")
    serve = ["-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, *serve, "--workers", "1"],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/healthz"
    stack._wait_for(lambda: stack._answers(url), "the base version's app")
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.ab")
    parser.add_argument("base", help="the commit to compare this working tree against")
    parser.add_argument("keys", nargs="*", default=["review_queue", "review_search"])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    ensure_wrk()
    tree = _worktree(args.base)
    stack = Stack()
    base_server = None
    try:  # the worktree is removed whatever happens from here
        stack.start()
        bench = Bench(stack, args.seconds)
        connections: dict[str, int] = {}
        if any(key in review_load.KEYS for key in args.keys):
            seeded = review_load.seed(stack.settings())
            cookie = f"jcan_csrf={bench.session.csrf}; jcan_console={seeded.cookie}"
            for key, (label, path) in review_load.paths(seeded).items():
                bench.scenarios[key] = Scenario(key, label, path, headers=(("Cookie", cookie),))
                connections[key] = review_load.CONNECTIONS
        ports = {"A": free_port(), "B": stack.app_port}
        base_server = _serve_base(stack, tree, ports["A"])
        seen: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for round_number in range(args.rounds):
            for key in args.keys:
                for side in "AB" if round_number % 2 == 0 else "BA":
                    stack.app_port = ports[side]
                    result = bench.load(key, connections=connections.get(key))
                    seen.setdefault((key, side), []).append((result.rps, result.p99_ms))
        stack.app_port = ports["B"]
        print(f"A = {args.base}, B = this working tree; {args.rounds} rounds of {args.seconds} s")
        for key in args.keys:
            for side in "AB":
                rps = [r for r, _ in seen[(key, side)]]
                p99 = [p for _, p in seen[(key, side)]]
                print(
                    f"{key:24s} {side}: {statistics.median(rps):6.0f} req/s "
                    f"({', '.join(f'{r:.0f}' for r in rps)}), p99 {statistics.median(p99):6.1f} ms "
                    f"({', '.join(f'{p:.1f}' for p in p99)})"
                )
    finally:
        if base_server is not None:
            stop_process(base_server)
        stack.stop()
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
        shutil.rmtree(tree.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
