"""A real django-ca server for the suite: its own cached virtualenv, a throwaway CA, a free port.

`running_server()` builds once, cached under ~/.cache/jcan/django-ca-<version>, a virtualenv
with django-ca from PyPI and a template project: a minimal Django project (SQLite, a file cache
shared by the server and the command line, the CA keys in a file storage), migrated, with a
test root and issuing CA (RSA 2048, REST API enabled on the issuing one) and an API user. Each
run copies the template into a temporary folder, starts `runserver` on a free port, waits
(bounded) until the API answers, and at the end stops the server and removes the folder.
Imports nothing of the app.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import free_port

VERSION = "3.2"
REQUIREMENT = f"django-ca[api]=={VERSION}.*"
CACHE_ROOT = Path(os.environ.get("JCAN_CACHE_DIR") or Path.home() / ".cache" / "jcan")
VENV = CACHE_ROOT / f"django-ca-{VERSION}"
INSTALL_TIMEOUT = 900.0  # a cold install downloads ~40 packages (2-3 minutes here)
READY_TIMEOUT = 120.0
USERNAME = "jcan-ra"
PASSWORD = "jcan-ra-test-password"
ROOT_NAME = "jcan-test-root"
ISSUING_NAME = "jcan-test-issuing"
PUBLIC_HOSTNAME = "ca.example.jp"
IDENTITIES = (ROOT_NAME, ISSUING_NAME, USERNAME, PASSWORD)
RUNSERVER = (str(VENV / "bin" / "django-admin"), "runserver", "--noreload", "--skip-checks")

SETTINGS = """\
from pathlib import Path
HERE = Path(__file__).resolve().parent
SECRET_KEY = "jcan-test-only-django-ca-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "jcan_dca_urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_object_actions",
    "django_ca",
]
# Concurrent signing requests (runserver is threaded): wait for SQLite's write lock.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": HERE / "db.sqlite3",
                         "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"}}}
# One cache for the server and the command line (generate_crls refreshes what the server serves).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": str(HERE / "cache")}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "django-ca": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(HERE / "files"), "file_permissions_mode": 0o600,
                    "directory_permissions_mode": 0o700},
    },
}
# The API checks the password on every request (Basic auth): the default PBKDF2 (1,000,000
# rounds) would cost ~0.5 s of CPU per call here. Test-only; production keeps the default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CA_ENABLE_REST_API = True
# What certificates carry for relying parties (CRL, OCSP, caIssuers): a public name, as in a
# real deployment (pkilint flags internal names); the RA itself talks to 127.0.0.1:<port>.
CA_DEFAULT_HOSTNAME = "{public}"
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}
"""

URLS = """\
from django.urls import include, path
urlpatterns = [path("django_ca/", include("django_ca.urls"))]
"""

# One process for all setup steps (each django-admin call would pay Django's start-up again).
BOOTSTRAP = """\
import json, sys
import django
django.setup()
from django.core.management import call_command
from django_ca.api.utils import create_api_user
from django_ca.models import CertificateAuthority
root_name, issuing_name, username, password = sys.argv[1:5]
call_command("migrate", verbosity=0)
call_command("init_ca", "--key-type", "RSA", "--key-size", "2048", "--path-length", "1",
             root_name, "CN=JCAN TEST ROOT - NOT FOR PRODUCTION,O=JCAN Test,C=JP")
root = CertificateAuthority.objects.get(name=root_name)
call_command("init_ca", "--key-type", "RSA", "--key-size", "2048", "--path-length", "0",
             "--parent", root.serial, issuing_name,
             "CN=JCAN TEST ISSUING CA - NOT FOR PRODUCTION,O=JCAN Test,C=JP")
issuing = CertificateAuthority.objects.get(name=issuing_name)
call_command("edit_ca", "--api-enable", issuing.serial)
create_api_user(username, password, change_certificateauthority=False)
print(json.dumps({"root": root.serial, "issuing": issuing.serial}))
"""


@dataclass(frozen=True)
class DjangoCAServer:
    url: str  # http://127.0.0.1:<port> (django-ca lives under /django_ca/)
    ca_serial: str  # the issuing CA the API signs with (hex, as django-ca writes it)
    root_serial: str
    username: str
    password: str
    directory: Path
    timings: dict[str, float]

    def refresh_crls(self) -> None:
        """Regenerate and cache the CRLs now (what django-ca's periodic task does; the
        `generate_crls` command of 3.2 fails with a TypeError, so the task is called)."""
        self.manage(
            "shell",
            "-c",
            "from django_ca.celery.messages import UseCertificateAuthoritiesTaskArgs as A; "
            "from django_ca.tasks import generate_crls; "
            f"generate_crls(A(serials=[{self.ca_serial!r}], force=True))",
        )

    def manage(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
        """Run a django-admin command against this server's project (e.g. generate_crls)."""
        return subprocess.run(
            [str(VENV / "bin" / "django-admin"), *args],
            env=_env(self.directory),
            capture_output=True,
            timeout=timeout,
            check=True,
        )


def _env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO", "VIRTUAL"))}
    env["PYTHONPATH"] = str(directory)
    env["DJANGO_SETTINGS_MODULE"] = "jcan_dca_settings"
    env["PATH"] = f"{VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def ensure_virtualenv() -> float:
    """Create the cached virtualenv unless complete; returns the seconds it took (0 if cached).
    A lock keeps parallel runs (other worktrees) from building the same folder at once."""
    ready = VENV / ".ready"
    if ready.exists():
        return 0.0
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(CACHE_ROOT / f"django-ca-{VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            return time.monotonic() - started
        shutil.rmtree(VENV, ignore_errors=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
            subprocess.run(
                [
                    str(VENV / "bin" / "pip"),
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    REQUIREMENT,
                ],
                check=True,
                timeout=INSTALL_TIMEOUT,
                capture_output=True,
            )
        except subprocess.CalledProcessError as error:
            shutil.rmtree(VENV, ignore_errors=True)
            output = (error.stderr or b"").decode(errors="replace")[-2000:]
            raise RuntimeError(f"installing {REQUIREMENT} failed:\n{output}") from error
        except BaseException:
            shutil.rmtree(VENV, ignore_errors=True)
            raise
        ready.write_text(REQUIREMENT + "\n")
    return time.monotonic() - started


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_ready(server: subprocess.Popen[bytes], url: str, log: Path, deadline: float) -> None:
    auth = "Basic " + b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{url}/django_ca/api/ca/", headers={"Authorization": auth})
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"django-ca runserver exited with {server.returncode}:\n{_tail(log)}"
            )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(0.1)
    raise RuntimeError(
        f"django-ca did not answer {url} within {READY_TIMEOUT:.0f} s ({last}):\n{_tail(log)}"
    )


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


def _write_project(directory: Path) -> None:
    (directory / "jcan_dca_settings.py").write_text(SETTINGS.replace("{public}", PUBLIC_HOSTNAME))
    (directory / "jcan_dca_urls.py").write_text(URLS)


def ensure_template() -> tuple[Path, float]:
    """The migrated database with the test CAs and the API user, made once per version of this
    harness (a digest of the project it writes) and copied for each run: (folder, seconds)."""
    digest = hashlib.sha256("".join((SETTINGS, URLS, BOOTSTRAP, PUBLIC_HOSTNAME)).encode())
    template = VENV / f"ca-{digest.hexdigest()[:12]}"
    if (template / "serials.json").exists():
        return template, 0.0
    started = time.monotonic()
    with open(CACHE_ROOT / f"django-ca-{VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (template / "serials.json").exists():
            return template, time.monotonic() - started
        building = Path(tempfile.mkdtemp(prefix="building-", dir=VENV))
        try:
            _write_project(building)
            (building / "bootstrap.py").write_text(BOOTSTRAP)
            result = subprocess.run(
                [str(VENV / "bin" / "python"), str(building / "bootstrap.py"), *IDENTITIES],
                env=_env(building),
                capture_output=True,
                timeout=READY_TIMEOUT,
            )
            if result.returncode != 0:
                raise RuntimeError(f"django-ca setup failed:\n{result.stderr.decode()[-3000:]}")
            serials = result.stdout.decode().strip().splitlines()[-1]
            (building / "serials.json").write_text(serials)
            shutil.rmtree(building / "cache", ignore_errors=True)
            building.rename(template)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    return template, time.monotonic() - started


@contextlib.contextmanager
def running_server() -> Iterator[DjangoCAServer]:
    """A django-ca 3.2 server with its own copy of the test CA's database; stopped and removed
    on exit (what it signed goes with it)."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    timings["install"] = ensure_virtualenv()
    template, timings["setup"] = ensure_template()
    directory = Path(tempfile.mkdtemp(prefix="jcan-django-ca-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        port = free_port()
        step = time.monotonic()
        shutil.copytree(template, directory, dirs_exist_ok=True)
        serials = json.loads((directory / "serials.json").read_text())
        timings["copy"] = time.monotonic() - step
        step = time.monotonic()
        log = directory / "server.log"
        with open(log, "wb") as out:
            server = subprocess.Popen(
                [*RUNSERVER, f"127.0.0.1:{port}"],
                env=_env(directory),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        url = f"http://127.0.0.1:{port}"
        _wait_ready(server, url, log, started + READY_TIMEOUT + timings["install"])
        timings["serve"] = time.monotonic() - step
        timings["total"] = time.monotonic() - started
        yield DjangoCAServer(
            url=url,
            ca_serial=serials["issuing"],
            root_serial=serials["root"],
            username=USERNAME,
            password=PASSWORD,
            directory=directory,
            timings=timings,
        )
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":  # `python -m tests.support.django_ca [--hold]`: start one, print timings
    with running_server() as running:
        print(json.dumps({"url": running.url, "ca": running.ca_serial, **running.timings}))
        print(f"project: {running.directory}", flush=True)
        if "--hold" in sys.argv:
            with contextlib.suppress(KeyboardInterrupt):
                time.sleep(3600)
