"""Opening a PKCS#12 file the way real readers do: openssl, and NSS's pk12util (Firefox)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def openssl_info(path: Path, pin: str) -> subprocess.CompletedProcess[str]:
    """`openssl pkcs12 -info -noout -passin pass:PIN`: returncode 0 when the PIN opens it."""
    return subprocess.run(
        ["openssl", "pkcs12", "-info", "-noout", "-passin", f"pass:{pin}", "-in", str(path)],
        capture_output=True,
        text=True,
    )


def nss_import(path: Path, pin: str, directory: Path) -> str:
    """Import into a fresh NSS database with `pk12util -i f.p12 -d sql:DIR -W PIN`: the
    database's key listing afterwards. AssertionError when pk12util refuses."""
    assert shutil.which("pk12util"), "pk12util (Debian libnss3-tools) is needed"
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"], check=True)
    imported = subprocess.run(
        ["pk12util", "-i", str(path), "-d", f"sql:{directory}", "-W", pin],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    listed = subprocess.run(
        ["certutil", "-K", "-d", f"sql:{directory}"], capture_output=True, text=True, check=True
    )
    return listed.stdout
