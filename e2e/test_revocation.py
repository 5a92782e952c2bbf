"""Revocation in Chromium: the holder follows the header's 「失効申請」, asks with the reference and
the certificate's address, opens the mailed link, chooses 「秘密鍵の危殆化」 and 「失効を申請する」;
an approver 「失効する」 in the console's 失効申請 tab; the holder is mailed; the portal's CRL and
`openssl crl` / `openssl verify -crl_check` show the certificate revoked with its reason. With
and without JavaScript; axe-clean at 1280/320."""

from __future__ import annotations

import re
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.conftest import CAPTCHA_ANSWER, LiveServer
from e2e.steps_application import PICKUP_SUBJECT
from e2e.test_console_review import (
    APPROVER,
    assert_axe_clean_at_both_sizes,
    claim,
    open_from_queue,
    sign_in,
    submitted_application,
)


def _openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_holder_requests_approver_revokes_crl_shows_it(
    js: bool, contexts: Callable[..., BrowserContext], live_server: LiveServer, tmp_path: Path
) -> None:
    address, reference = submitted_application(contexts().new_page(), live_server)
    approver = sign_in(contexts(), live_server, APPROVER)
    open_from_queue(approver, live_server, reference, js=True)
    claim(approver, APPROVER[1])
    approve = approver.locator("form[action$='/approve']")
    for box in approve.locator("input[type=checkbox][name^=check_]").all():
        box.check()
    approve.get_by_role("button", name="承認").click()
    issued = live_server.wait_for_mail(address, subject=PICKUP_SUBJECT)
    assert "発行しました" in issued.subject, issued.subject

    holder = contexts(js=js).new_page()
    holder.goto(live_server.url("/"))
    holder.get_by_role("link", name="失効申請").click()
    expect(holder).to_have_url(live_server.url("/revoke"))
    expect(holder.locator("h1")).to_have_text("失効申請")
    if js:
        assert_axe_clean_at_both_sizes(holder, "the revocation page")
    holder.get_by_label("シリアル番号または受付番号").fill("not a number")
    holder.get_by_label("証明書に記載されたメールアドレス").fill(address)
    holder.get_by_label("画像に表示された文字").fill(CAPTCHA_ANSWER)
    holder.get_by_role("button", name="確認メールを送る").click()
    expect(holder.locator("#identifier-error")).to_contain_text("受付番号")
    assert holder.title().startswith("エラー")
    if js:
        assert_axe_clean_at_both_sizes(holder, "the revocation page with errors")
    before = len(live_server.mails_to(address))
    holder.get_by_label("シリアル番号または受付番号").fill(reference)
    holder.get_by_label("画像に表示された文字").fill(CAPTCHA_ANSWER)
    holder.get_by_role("button", name="確認メールを送る").click()
    expect(holder).to_have_url(live_server.url("/revoke/sent"))
    link = live_server.link_in(live_server.wait_for_mail(address, count=before + 1), "revoke")

    holder.goto(link)
    expect(holder).to_have_url(live_server.url("/revoke/request"))
    expect(holder.locator("main")).to_contain_text(address)
    if js:
        assert_axe_clean_at_both_sizes(holder, "the revocation request page")
    holder.get_by_label("秘密鍵の危殆化（鍵やPINの漏えい、盗難、紛失）").check()
    holder.get_by_role("button", name="失効を申請する").click()
    expect(holder).to_have_url(live_server.url("/revoke/done"))
    number = re.search(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}", holder.locator("main").inner_text())
    assert number is not None
    if js:
        assert_axe_clean_at_both_sizes(holder, "the revocation confirmation")

    console = contexts(js=js).new_page()
    console.context.add_cookies(approver.context.cookies())
    console.goto(live_server.url("/console/revocations"))
    expect(console.locator("h1")).to_have_text("失効申請")
    if js:
        assert_axe_clean_at_both_sizes(console, "the console's revocation queue")
    console.get_by_role("link", name=number.group(0)).click()
    if js:
        assert_axe_clean_at_both_sizes(console, "one revocation request")
    console.get_by_role("button", name="失効する").click()
    expect(console.get_by_role("status")).to_contain_text("証明書を失効しました")

    revoked = live_server.wait_for_mail(address, count=before + 3)
    assert "失効しました" in revoked.subject, revoked.subject
    serial = re.search(r"\(シリアル番号 ([0-9a-f]+)\)|シリアル番号 ([0-9a-f]+)", revoked.subject)
    assert serial is not None
    hex_serial = (serial.group(1) or serial.group(2)).upper()

    with urllib.request.urlopen(live_server.url("/ca/crl"), timeout=10) as answer:
        assert answer.headers["Content-Type"] == "application/pkix-crl"
        (tmp_path / "crl.der").write_bytes(answer.read())
    text = _openssl("crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text", cwd=tmp_path)
    assert hex_serial in text.stdout.replace(":", "").upper() and "Key Compromise" in text.stdout
    ca_dir = live_server.var_dir / "ca"
    chain = (ca_dir / "issuing.crt.pem").read_text() + (ca_dir / "root.crt.pem").read_text()
    (tmp_path / "chain.pem").write_text(chain)
    _openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem", cwd=tmp_path)
    cert = live_server.jcan("certificates", "show", hex_serial.lower())
    pem = cert[cert.index("-----BEGIN CERTIFICATE-----") :]
    (tmp_path / "cert.pem").write_text(pem)
    verify = _openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        "chain.pem",
        "-CRLfile",
        "crl.pem",
        "cert.pem",
        cwd=tmp_path,
    )
    assert "certificate revoked" in verify.stdout + verify.stderr, verify.stdout + verify.stderr
