"""The CSR path in Chromium: 鍵の作成 「自分で作成したCSRを提出する」 with a CSR made outside
(as an IC card or HSM would), a broken one refused next to the field, the key and its
fingerprint on 確認; approved in the console, issued for that CSR; the pickup page offers the
certificate as PEM and .p7b (no PIN), both opened by openssl; axe-clean at 1280/320."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from e2e.conftest import LiveServer
from e2e.steps_application import PICKUP_SUBJECT, apply_until_complete
from e2e.test_console_review import (
    APPROVER,
    assert_axe_clean_at_both_sizes,
    claim,
    open_from_queue,
    sign_in,
)
from tests.support.csr import rsa_csr


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True)


def test_apply_with_a_csr_and_download_the_certificate(
    contexts: Callable[..., BrowserContext], live_server: LiveServer, tmp_path: Path
) -> None:
    _key, csr = rsa_csr(2048)
    page = contexts().new_page()
    address, _answers = apply_until_complete(
        page, live_server, "self", extra={"key_source": "csr", "csr_pem": csr}
    )
    reference = page.locator(".reference strong").inner_text().strip()
    mails_before = len(live_server.mails_to(address))

    approver = sign_in(contexts(), live_server, APPROVER)
    open_from_queue(approver, live_server, reference, js=True)
    expect(approver.locator("main")).to_contain_text("自分で作成したCSRを提出する")
    expect(approver.locator("main")).to_contain_text("RSA 2048ビット")
    claim(approver, APPROVER[1])
    approve = approver.locator("form[action$='/approve']")
    for box in approve.locator("input[type=checkbox][name^=check_]").all():
        box.check()
    approve.get_by_role("button", name="承認").click()
    expect(approver.get_by_role("status")).to_contain_text("現在の状態: 承認済み")

    mail = live_server.wait_for_mail(address, subject=PICKUP_SUBJECT, timeout=60)
    assert len(live_server.mails_to(address)) == mails_before + 1
    assert reference in mail.subject and "発行しました" in mail.subject, mail.subject
    applicant = contexts().new_page()
    applicant.goto(live_server.link_in(mail, "pickup"))
    expect(applicant).to_have_url(live_server.url("/pickup"))
    expect(applicant.locator("h1")).to_have_text("証明書の受け取り")
    expect(applicant.locator("main")).to_contain_text("CN=Taro Yamada")
    expect(applicant.locator("input[name=pin]")).to_have_count(0)
    assert_axe_clean_at_both_sizes(applicant, "the pickup page of a CSR certificate")

    files = {}
    for name, suffix in (("証明書（PEM）", ".pem"), ("PKCS#7（.p7b）", ".p7b")):
        with applicant.expect_download() as info:
            applicant.get_by_role("link", name=name).click()
        download = info.value
        assert download.suggested_filename.startswith("Taro_Yamada-")
        assert download.suggested_filename.endswith(suffix), download.suggested_filename
        files[suffix] = tmp_path / download.suggested_filename
        download.save_as(files[suffix])
    shown = _openssl("x509", "-noout", "-subject", "-in", str(files[".pem"]))
    assert shown.returncode == 0 and "Taro Yamada" in shown.stdout, shown.stderr
    printed = _openssl("pkcs7", "-print_certs", "-inform", "DER", "-in", str(files[".p7b"]))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("BEGIN CERTIFICATE") == 3

    applicant.reload()  # still there: no key to destroy, the link lives until it expires
    expect(applicant.get_by_role("link", name="証明書（PEM）")).to_be_visible()
