"""Profile one HTTP scenario: py-spy samples the granian worker while wrk loads it.

    python -m tests.benchmarks.profile step1 [--seconds 10] [--top 40]
    python -m tests.benchmarks.profile review_search   # review_queue, review_application too

Prints the functions holding the most samples (inclusive and own time, by file:function)
and keeps the collapsed stacks (py-spy's raw format, for flame graph tools) in var/bench/.
py-spy comes with the `bench` extra (`pip install -e ".[bench]"`, which `make bench` does).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.benchmarks import review_load
from tests.benchmarks.stack import CAPTCHA_ANSWER, COMPANY, ROOT, Stack
from tests.benchmarks.web_load import CONNECTIONS, Load, Scenario, Session, open_session, scenarios

OUT = ROOT / "var" / "bench"
REVIEW = review_load.KEYS


def summarise(collapsed: Path, top: int) -> str:
    """Inclusive and own sample counts per frame from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "", "inclusive  own    frame"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:6.1f}%  {100 * own[frame] / total:5.1f}%  {frame}")
    lines += ["", "own time, top frames:"]
    for frame, count in own.most_common(top // 2):
        lines.append(f"{100 * count / total:6.1f}%  {frame}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "file.py:function", per function not per line
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    marker = "site-packages/"
    path = path.split(marker, 1)[1] if marker in path else path.replace(str(ROOT) + "/", "")
    return f"{path}:{name}"


def _review_scenario(stack: Stack, session: Session, key: str) -> tuple[Scenario, int]:
    """One of the review's pages over review_load's 100,000 applications (seeded first, about
    a minute), at its 10 connections."""
    print("seeding the review's rows ...", flush=True)
    seeded = review_load.seed(stack.settings())
    label, path = review_load.paths(seeded)[key]
    cookie = f"jcan_csrf={session.csrf}; jcan_console={seeded.cookie}"
    return Scenario(key, label, path, headers=(("Cookie", cookie),)), review_load.CONNECTIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.profile")
    parser.add_argument("scenario")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--process", choices=["app", "worker"], default="app")
    parser.add_argument(
        "--gil", action="store_true", help="only samples where a thread holds the GIL (CPU)"
    )
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    OUT.mkdir(parents=True, exist_ok=True)
    collapsed = OUT / f"profile-{args.scenario}.txt"
    stack = Stack()
    try:
        stack.start()
        session = open_session(
            stack.base_url, stack.tickets, CAPTCHA_ANSWER, COMPANY, stack.console_cookie
        )
        connections = CONNECTIONS
        if args.scenario in REVIEW:
            scenario, connections = _review_scenario(stack, session, args.scenario)
        else:
            scenario = scenarios(session)[args.scenario]
        Load(stack.base_url, scenario, session, 2, connections).run()  # warm up
        load = Load(stack.base_url, scenario, session, args.seconds + 1, connections).start()
        pid = stack.app_worker_pid() if args.process == "app" else stack.worker_pid()
        subprocess.run(
            [py_spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds))]
            + ["--rate", "200", "--format", "raw", "--output", str(collapsed), "--nonblocking"]
            + (["--gil"] if args.gil else []),
            check=True,
            capture_output=True,
        )
        result = load.finish()
    finally:
        stack.stop()
    print(f"{args.scenario}: {result.rps:.0f} requests/s, p99 {result.p99_ms:.1f} ms")
    print(summarise(collapsed, args.top))
    print(f"\ncollapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
