"""The applicant's own CSR (keys made in an IC card or HSM): parsed, checked and described.
Pure functions; the CA writes the subject from the application, the CSR only brings the key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.i18n import _

# An RSA 4096 CSR is about 1,700 characters of PEM; anything far beyond is not a CSR.
CSR_MAX = 8000
RSA_SIZES = (2048, 3072, 4096)  # what the profile issues (app.issuance.profile.check_key)
GENERATED = "generated"  # the key pair is made here (the standard)
CSR = "csr"  # the applicant's CSR
KEY_SOURCES = (GENERATED, CSR)
_BEGIN = "-----BEGIN CERTIFICATE REQUEST-----"
_END = "-----END CERTIFICATE REQUEST-----"


@dataclass(frozen=True)
class CsrKey:
    """What the confirmation page and the console show of the CSR's key."""

    algorithm: str  # "RSA"
    size: int
    fingerprint: str  # SHA-256 of the SubjectPublicKeyInfo DER, colon-separated upper hex

    def description(self) -> str:
        return _(
            "{algorithm} {size}ビット（公開鍵のSHA-256フィンガープリント: {fingerprint}）"
        ).format(algorithm=self.algorithm, size=self.size, fingerprint=self.fingerprint)


def normalise(raw: str | None) -> str:
    """The PEM with its line endings and surrounding blanks tidied (as stored)."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return "\n".join(line.strip() for line in text.split("\n") if line.strip()) + (
        "\n" if text else ""
    )


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def load(pem: str) -> x509.CertificateSigningRequest:
    return x509.load_pem_x509_csr(pem.encode("ascii"))


def check_csr(raw: str | None) -> tuple[str, str | None]:
    """(the PEM as kept, the message or None): one PKCS#10 request in PEM, signed by its own
    key (proof of possession), with an RSA key of a size the profile issues."""
    if raw is not None and len(raw) > CSR_MAX:
        return "", _(
            "CSRが長すぎます（{maximum}文字以内）。CSRファイルの内容を確認してください。"
        ).format(maximum=CSR_MAX)
    pem = normalise(raw)
    if not pem:
        return "", _("CSRを入力してください（PEM形式）。")
    if not pem.isascii() or pem.count(_BEGIN) != 1 or pem.count(_END) != 1:
        return pem, _(
            "CSRの形式が正しくありません。「-----BEGIN CERTIFICATE REQUEST-----」から"
            "「-----END CERTIFICATE REQUEST-----」までを貼り付けてください。"
        )
    try:
        csr = load(pem)
    except ValueError:
        return pem, _("CSRを読み取れませんでした。PKCS#10形式（PEM）のCSRを貼り付けてください。")
    try:
        signed = csr.is_signature_valid
        public_key = csr.public_key()
    except (ValueError, TypeError, NotImplementedError):
        signed, public_key = False, None
    if not signed or public_key is None:
        return pem, _("CSRの署名を検証できませんでした。CSRを作成し直してください。")
    if not isinstance(public_key, rsa.RSAPublicKey):
        return pem, _("CSRの鍵の種類は使えません。RSA鍵（2048ビット以上）のCSRを作成してください。")
    if public_key.key_size not in RSA_SIZES:
        return pem, _(
            "CSRの鍵の長さ（{size}ビット）は使えません。2048・3072・4096ビットのRSA鍵で作成してください。"
        ).format(size=public_key.key_size)
    return pem, None


def key_of(pem: str) -> CsrKey | None:
    """The key of a CSR that passed check_csr (None otherwise)."""
    if check_csr(pem)[1] is not None:
        return None
    public_key = load(pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    return CsrKey("RSA", public_key.key_size, public_key_fingerprint(public_key))
