"""A few HTTP loads without the rest of `make bench`, to try a change quickly.

    python -m tests.benchmarks.quick [ceiling step1 inline ...] [--seconds 10]

Prints each load's requests/s, p50, p99 and its ratio to the ceiling (measured first). Not
a replacement for `make bench`: no CAPTCHA interference, mail, sweep or memory, nothing written.
"""

from __future__ import annotations

import argparse
import sys

from tests.benchmarks.run import WARM_UP_SECONDS
from tests.benchmarks.stack import CAPTCHA_ANSWER, COMPANY, Stack
from tests.benchmarks.web_load import Load, ensure_wrk, open_session, scenarios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.quick")
    parser.add_argument("keys", nargs="*", default=["step1", "inline", "registration"])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    ensure_wrk()
    stack = Stack()
    try:
        stack.start()
        session = open_session(stack.base_url, stack.tickets, CAPTCHA_ANSWER, COMPANY)
        loads = scenarios(session)
        ceiling = 0.0
        for key in ["ceiling", *args.keys]:
            Load(stack.base_url, loads[key], session, WARM_UP_SECONDS).run()
            result = Load(stack.base_url, loads[key], session, args.seconds).run()
            ceiling = ceiling or result.rps
            print(
                f"{key}: {result.rps:.0f} req/s ({100 * result.rps / ceiling:.1f}%), "
                f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
                + ("" if result.clean else f", NOT CLEAN: {result}"),
                flush=True,
            )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
