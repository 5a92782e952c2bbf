"""Tables of issuance: the certificate (one per approval), its pickup link and the wrapped key."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.application.tables import Application
from app.links.tables import TokenColumns

REQUESTED = "requested"  # the CSR is stored, the CA has not answered (or its answer is not stored)
ISSUED = "issued"
REVOKED = "revoked"

GENERATED = "generated"  # the key pair was made here (worker), delivered as PKCS#12
CSR = "csr"  # the applicant sent a CSR; no key is ever made here


class Certificate(Table, tablename="certificate"):
    """One certificate per approval: created with the CSR before the CA is asked (request_id
    is the CA's idempotency key), completed with the CA's answer."""

    id: Serial
    public_id = Varchar(length=26, unique=True, index=True)
    application = ForeignKey(references=Application, null=False, index=True)
    request_id = Varchar(length=64, unique=True)
    status = Varchar(length=16, default=REQUESTED, index=True)
    key_origin = Varchar(length=16, default=GENERATED)
    csr_pem = Text()
    subject = Text(default="")  # RFC 4514 string of what was asked for, then what was issued
    serial = Varchar(length=40, unique=True, null=True, default=None)  # lower-case hex
    not_before = Timestamptz(null=True, default=None)
    not_after = Timestamptz(null=True, default=None)
    fingerprint = Varchar(length=64, null=True, default=None)  # SHA-256 of the DER, hex
    certificate_pem = Text(default="")
    chain_pem = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    issued_at = Timestamptz(null=True, default=None)
    picked_up_at = Timestamptz(null=True, default=None)
    pickup_mail = Integer(null=True, default=None)  # the held outbox row, released at issue
    # When a job last took the right to ask the CA for this request (one caller at a time:
    # app.issuance.service.lease_ca_call); cleared when that call failed.
    ca_asked_at = Timestamptz(null=True, default=None)


class PickupToken(TokenColumns, Table, tablename="certificate_pickup"):
    """The mailed pickup link (app.links: only the token's hash stored)."""

    id: Serial
    certificate = ForeignKey(references=Certificate, null=False, unique=True)


class WrappedKey(Table, tablename="certificate_wrapped_key"):
    """The generated private key, AES-256-GCM under a key derived (HKDF-SHA256) from the
    pickup token (app.issuance.keys). Deleted at pickup and when the link expires."""

    id: Serial
    certificate = ForeignKey(references=Certificate, null=False, unique=True)
    wrapped = Text()  # base64url(salt | nonce | ciphertext+tag)
    created_at = Timestamptz(default=TimestamptzNow())
