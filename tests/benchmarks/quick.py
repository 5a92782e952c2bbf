"""A few HTTP loads without the rest of `make bench`, to try a change quickly.

    python -m tests.benchmarks.quick [step1 inline ...] [--captcha] [--seconds 10]

Prints each load's requests/s, p50 and p99 and its share of the bare framework (measured
first; `ceiling` is the portal's middleware-only handler);
with --captcha, each load again while CAPTCHA images are drawn. Not a replacement for
`make bench`: no mail, sweep or memory, and nothing is written.
"""

from __future__ import annotations

import argparse
import sys

from tests.benchmarks.run import Bench
from tests.benchmarks.stack import Stack
from tests.benchmarks.web_load import ensure_wrk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.quick")
    parser.add_argument("keys", nargs="*", default=["ceiling", "step1", "inline", "registration"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--captcha", action="store_true", help="again while images are drawn")
    args = parser.parse_args(argv)
    ensure_wrk()
    stack = Stack()
    try:
        stack.start()
        bench = Bench(stack, args.seconds)
        bare = bench.load("bare").rps
        for key in args.keys:
            alone = bench.load(key)
            print(f"    {key}: {100 * alone.rps / bare:.1f}% of the bare framework", flush=True)
            if args.captcha:
                loaded = bench.load(key, background=bench.scenarios["captcha"])
                move = loaded.p99_ms / alone.p99_ms - 1
                print(f"    {key}: p99 moves {100 * move:+.0f}% while images are drawn")
        for problem in bench.broken:
            print("NOT CLEAN:", problem)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
