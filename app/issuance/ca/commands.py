"""`jcan ca init [--if-missing] | show` and `jcan crl [--output FILE] [--pem]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from app import db
from app.issuance.ca import keystore, select
from app.issuance.ca.base import CAError
from app.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ca = sub.add_parser("ca", help="the local CA (CA_BACKEND=local)").add_subparsers(
        dest="action", required=True
    )
    init = ca.add_parser("init", help="make the root and issuing CA under VAR_DIR/ca")
    init.add_argument(
        "--if-missing", action="store_true", help="do nothing (exit 0) when the CA exists"
    )
    ca.add_parser("show", help="print the CA certificates and where their files are")
    crl = sub.add_parser("crl", help="write the current CRL (DER) to a file or stdout")
    crl.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    crl.add_argument("--pem", action="store_true", help="PEM instead of DER")


def init(settings: Settings, if_missing: bool) -> int:
    paths = keystore.Paths(settings.ca_dir)
    existing = paths.existing()
    if existing:
        if if_missing:
            print(f"local CA exists in {paths.directory}")
            return 0
        names = ", ".join(path.name for path in existing)
        print(f"refusing to overwrite the local CA in {paths.directory} ({names})", file=sys.stderr)
        return 1
    hierarchy, root_key = keystore.make_hierarchy(settings, db.utcnow())
    keystore.save(settings, hierarchy, root_key)
    print(f"local CA created in {paths.directory}")
    _print(hierarchy.issuing, paths.issuing_cert, paths.issuing_key)
    _print(hierarchy.root, paths.root_cert, paths.root_key)
    return 0


def show(settings: Settings) -> int:
    paths = keystore.Paths(settings.ca_dir)
    try:
        issuing, root = keystore.load_certificates(settings)
    except CAError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    _print(issuing, paths.issuing_cert, paths.issuing_key)
    _print(root, paths.root_cert, paths.root_key)
    print(f"CRL file: {paths.crl}{'' if paths.crl.exists() else ' (not signed yet)'}")
    return 0


def _print(cert: x509.Certificate, cert_path: Path, key_path: Path) -> None:
    print(f"subject:     {cert.subject.rfc4514_string()}")
    print(f"issuer:      {cert.issuer.rfc4514_string()}")
    print(f"serial:      {format(cert.serial_number, 'x')}")
    print(f"not before:  {cert.not_valid_before_utc.isoformat()}")
    print(f"not after:   {cert.not_valid_after_utc.isoformat()}")
    print(f"SHA-256:     {cert.fingerprint(hashes.SHA256()).hex(':').upper()}")
    print(f"SHA-1:       {cert.fingerprint(hashes.SHA1()).hex(':').upper()}")
    print(f"certificate: {cert_path}")
    print(f"key:         {key_path}")
    print()


async def crl(settings: Settings, output: Path | None, pem: bool) -> int:
    """Needs the database (the revoked entries): run through cli._with_db."""
    try:
        der = await select(settings).crl()
    except CAError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    data = der
    if pem:
        data = x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        keystore.write_atomically(output, data)
    return 0
