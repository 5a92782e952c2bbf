"""鍵の作成 on the application form: the applicant's CSR checked (PEM, signature, key type and
size, length), described for 確認, and the standard (a key made here) when unanswered."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization

from app.application import bounds, csr
from app.application.form import applicable, check_application, display_value, shown_fields
from tests.helpers import GOOD_ANSWERS
from tests.support.csr import ec_csr, rsa_csr, tampered

KEY, GOOD = rsa_csr(2048)


def _check(**answers: str) -> tuple[dict[str, str], dict[str, str]]:
    return check_application({**GOOD_ANSWERS, **answers}, "self")


def test_a_good_csr_is_kept_and_described() -> None:
    cleaned, errors = _check(key_source="csr", csr_pem="\r\n  " + GOOD.replace("\n", "\r\n"))
    assert errors == {}
    assert cleaned["key_source"] == "csr" and cleaned["csr_pem"] == GOOD
    spki = KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(spki).hexdigest().upper()
    shown = display_value("csr_pem", cleaned)
    assert shown.startswith("RSA 2048ビット")
    assert ":".join(digest[i : i + 2] for i in range(0, 64, 2)) in shown
    assert "csr_pem" in shown_fields(cleaned, "self")


def test_unanswered_is_the_standard_and_the_csr_does_not_apply() -> None:
    cleaned, errors = _check()
    assert errors == {} and cleaned["key_source"] == "generated" and cleaned["csr_pem"] == ""
    assert not applicable("csr_pem", cleaned)
    assert "csr_pem" not in shown_fields(cleaned, "self")
    # A CSR typed, then the standard chosen again: the CSR is not kept.
    cleaned, errors = _check(key_source="generated", csr_pem=GOOD)
    assert errors == {} and cleaned["csr_pem"] == ""
    assert display_value("key_source", cleaned) == "この窓口で作成する（標準）"


def test_an_offer_not_made_is_refused() -> None:
    _cleaned, errors = _check(key_source="token")
    assert errors["key_source"] == "鍵の作成方法を選択してください。"


def test_missing_and_unparseable_csrs() -> None:
    assert "入力してください" in _check(key_source="csr", csr_pem="  ")[1]["csr_pem"]
    assert "形式が正しくありません" in _check(key_source="csr", csr_pem="hello")[1]["csr_pem"]
    two = GOOD + GOOD
    assert "形式が正しくありません" in _check(key_source="csr", csr_pem=two)[1]["csr_pem"]
    garbled = GOOD.replace(GOOD.splitlines()[2], "A" * 64)
    cleaned, errors = _check(key_source="csr", csr_pem=garbled)
    assert "読み取れませんでした" in errors["csr_pem"]
    assert cleaned["csr_pem"] == garbled  # kept, to be corrected


def test_a_bad_signature_is_refused() -> None:
    _cleaned, errors = _check(key_source="csr", csr_pem=tampered(GOOD))
    assert "署名を検証できませんでした" in errors["csr_pem"]


def test_small_and_non_rsa_keys_are_refused() -> None:
    _key, small = rsa_csr(1024)
    assert "1024ビット" in _check(key_source="csr", csr_pem=small)[1]["csr_pem"]
    assert "鍵の種類は使えません" in _check(key_source="csr", csr_pem=ec_csr())[1]["csr_pem"]
    assert csr.key_of(small) is None


def test_oversized_input_is_refused_before_parsing_and_not_stored() -> None:
    huge = GOOD + "A" * csr.CSR_MAX
    _cleaned, errors = _check(key_source="csr", csr_pem=huge)
    assert "長すぎます" in errors["csr_pem"]
    stored = bounds.storage_errors({**GOOD_ANSWERS, "csr_pem": huge}, "self")
    assert "長すぎます" in stored["csr_pem"]
    assert (
        bounds.storage_errors({**GOOD_ANSWERS, "key_source": "csr", "csr_pem": GOOD}, "self") == {}
    )
    assert "key_source" in bounds.storage_errors({**GOOD_ANSWERS, "key_source": "x"}, "self")
