"""HTTP load with wrk: the scenarios, their Lua scripts, and the numbers wrk reports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tests.benchmarks import signin_load

LUA = Path(__file__).resolve().parent / "lua"
CONNECTIONS = 50
# Client addresses sent in X-Forwarded-For (TEST-NET-2: a header only, never a destination).
CLIENT_PREFIX = "198.51.100."


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when it is missing and apt-get can."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk is missing: installing Debian's package `wrk` ...", flush=True)
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if subprocess.run(install, **quiet, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], **quiet, check=False)
            subprocess.run(install, **quiet, check=False)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "make bench needs wrk (the HTTP load generator) and could not install it: "
        "run `sudo apt-get install wrk` (Debian/Ubuntu) and try again"
    )


@dataclass(frozen=True)
class Session:
    """What every scripted client carries: a CSRF cookie/token pair, tickets, a challenge."""

    csrf: str
    tickets: tuple[str, ...]
    captcha_id: str
    answer: str
    company: str
    console: str = ""  # a signed-in console session's cookie value


def open_session(
    base_url: str, tickets: list[str], answer: str, company: str, console: str = ""
) -> Session:
    """A CSRF token (from the cookie the app sets) and one live CAPTCHA challenge id."""
    with urllib.request.urlopen(f"{base_url}/bench/plain", timeout=10) as response:
        cookies = response.headers.get_all("set-cookie") or []
    csrf = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("jcan_csrf="))
    request = urllib.request.Request(
        f"{base_url}/register/step1?applicant_type=self", headers={"Cookie": f"jcan_csrf={csrf}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read().decode()
    match = re.search(r'name="captcha_id" value="([^"]+)"', page)
    assert match, "step 1 shows no CAPTCHA challenge"
    return Session(csrf, tuple(tickets), match.group(1), answer, company, console)


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    path: str
    method: str = "GET"
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    script: str = ""  # a Lua file under lua/ for scripted (stateful) clients
    per_connection_state: bool = False  # one wrk thread per connection
    server: str = "app"  # "bare": the bare framework's server (tests/benchmarks/bare.py)
    console: bool = False  # carries the signed-in console session's cookie too

    def lua(self, session: Session) -> str:
        """The whole wrk script: prelude (globals and the fixed request), scenario, report."""
        tickets = ", ".join(json.dumps(t) for t in session.tickets)
        lines = [
            f"CSRF = {json.dumps(session.csrf)}",
            f"TICKETS = {{{tickets}}}",
            f"ANSWER = {json.dumps(session.answer)}",
            f"COMPANY = {json.dumps(session.company)}",
            f"CLIENTS = {CONNECTIONS}",
            f"CLIENT_PREFIX = {json.dumps(CLIENT_PREFIX)}",
            f"wrk.method = {json.dumps(self.method)}",
            'wrk.headers["Cookie"] = "jcan_csrf=" .. CSRF',
        ]
        if self.console:
            cookie = f"; jcan_console={session.console}"
            lines.append(f'wrk.headers["Cookie"] = wrk.headers["Cookie"] .. {json.dumps(cookie)}')
        for name, value in self.headers:
            lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
        if self.body:
            lines.append(f"wrk.body = {json.dumps(self.body)}")
        parts = ["\n".join(lines)]
        if self.script:
            parts.append((LUA / self.script).read_text())
        parts.append((LUA / "report.lua").read_text())
        return "\n\n".join(parts) + "\n"


def scenarios(session: Session) -> dict[str, Scenario]:
    """Every HTTP scenario of the run, keyed by name."""
    email = "bench@example.jp"
    # What htmx posts for the email field's inline check: the whole form (hx-include="closest
    # form"), with the CSRF token in a header, company and ticket already filled in.
    inline_form = "&".join(
        f"{k}={quote(v, safe='')}"
        for k, v in [
            ("_csrf_token", session.csrf),
            ("applicant_type", "self"),
            ("company_code", session.company),
            ("ticket_number", session.tickets[0]),
            ("email", email),
            ("email_confirm", ""),
            ("captcha_id", session.captcha_id),
            ("captcha_answer", ""),
        ]
    )
    htmx = (
        ("HX-Request", "true"),
        ("HX-Trigger", "email"),
        ("HX-Target", "email-field"),
        ("HX-Current-URL", "/register/step1?applicant_type=self"),
        ("x-csrftoken", session.csrf),
        ("Content-Type", "application/x-www-form-urlencoded"),
    )
    all_ = [
        Scenario(
            "bare",
            "bare framework: plain-text handler, Litestar without middleware",
            "/bench/plain",
            server="bare",
        ),
        Scenario(
            "ceiling", "middleware only: /bench/plain behind the portal's stack", "/bench/plain"
        ),
        Scenario("top", "top page", "/"),
        Scenario("crl", "CRL route (cached, pre-signed file)", "/ca/crl"),
        Scenario("step1", "step 1 page", "/register/step1?applicant_type=self"),
        Scenario(
            "inline",
            "inline validation (htmx)",
            "/register/step1/fields/email",
            method="POST",
            body=inline_form,
            headers=htmx,
        ),
        Scenario(
            # The email check needs no query; the ticket's asks the database (company cached).
            "inline_ticket",
            "inline validation, ticket number (one query)",
            "/register/step1/fields/ticket_number",
            method="POST",
            body=inline_form,
            headers=tuple(
                (k, {"HX-Trigger": "ticket_number", "HX-Target": "ticket-number-field"}.get(k, v))
                for k, v in htmx
            ),
        ),
        Scenario(
            "queue",
            "console queue page (signed in)",
            "/console/applications",
            console=True,
        ),
        Scenario(
            "captcha",
            "CAPTCHA image",
            f"/captcha/{session.captcha_id}/image.png",
            script="clients.lua",  # rate-limited: many clients, as in life
        ),
        Scenario(
            "registration",
            "registration sequence",
            "/register/step1",
            script="registration.lua",
            per_connection_state=True,
        ),
        Scenario(
            "signin",
            "sign-in (password step, argon2id verify)",
            "/console/login",
            method="POST",
            body=signin_load.login_form(session.csrf),
            headers=(("Content-Type", "application/x-www-form-urlencoded"),),
            script="signin.lua",
        ),
    ]
    return {s.key: s for s in all_}


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors and timeouts
    bad_status: int  # answers other than 2xx/3xx
    completed: int  # scripted sequences finished (registrations)
    failures: int  # scripted steps answered unexpectedly

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def sequences_per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return self.requests > 0 and not (self.errors or self.bad_status or self.failures)


class Load:
    """One wrk process against one scenario; start() and finish() so two can overlap."""

    def __init__(
        self,
        base_url: str,
        scenario: Scenario,
        session: Session,
        seconds: float,
        connections: int = CONNECTIONS,
    ) -> None:
        self.scenario = scenario
        descriptor, name = tempfile.mkstemp(prefix=f"jcan-bench-{scenario.key}-", suffix=".lua")
        with os.fdopen(descriptor, "w") as script:
            script.write(scenario.lua(session))
        self.script = Path(name)
        threads = connections if scenario.per_connection_state else 1
        self.command = [
            ensure_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(self.script),
            base_url + scenario.path,
        ]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Load:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return self

    def finish(self) -> LoadResult:
        assert self.process is not None
        out, err = self.process.communicate()
        self.script.unlink(missing_ok=True)
        line = next((x for x in out.splitlines() if x.startswith("BENCH-JSON ")), None)
        if self.process.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed on {self.scenario.key}:\n{out}\n{err}")
        data = json.loads(line.removeprefix("BENCH-JSON "))
        errors = sum(data[f"errors_{k}"] for k in ("connect", "read", "write", "timeout"))
        return LoadResult(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            p50_ms=data["p50_us"] / 1000,
            p90_ms=data["p90_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            max_ms=data["max_us"] / 1000,
            errors=errors,
            bad_status=data["errors_status"],
            completed=data["completed"],
            failures=data["failures"],
        )

    def run(self) -> LoadResult:
        return self.start().finish()
