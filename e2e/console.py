"""Console helpers for the browser suites: a signed-in operator's cookie, planted by a script
run against the live server's database (so a suite need not walk the sign-in pages)."""

from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import BrowserContext

from e2e.conftest import ROOT, LiveServer


def plant_session(
    context: BrowserContext, live_server: LiveServer, script: str, *args: str
) -> None:
    """Run `script` (Python printing a console session id on its last line) with the live
    server's environment and give `context` that session's cookie."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=live_server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    raw = done.stdout.strip().splitlines()[-1]
    context.add_cookies(
        [{"name": "jcan_console", "value": raw, "url": live_server.url("/console")}]
    )
