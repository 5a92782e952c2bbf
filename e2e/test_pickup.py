"""Issuing and pickup in Chromium: an approver approves in the console, the in-process runner
issues the certificate, the pickup mail arrives, the applicant chooses a PIN and downloads the
PKCS#12 (a Playwright download) that openssl and NSS's pk12util open with that PIN; a second
visit says it was received. With JavaScript (標準) and without (互換); axe-clean at 1280/320."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.conftest import LiveServer
from e2e.steps_application import PICKUP_SUBJECT
from e2e.test_console_review import (
    APPROVER,
    assert_axe_clean_at_both_sizes,
    claim,
    open_from_queue,
    sign_in,
    status_is,
    submitted_application,
)
from tests.support.pkcs12 import nss_import, openssl_info

PIN = "e2e-Pin-2468"


@pytest.mark.parametrize(
    ("js", "fmt"), [(True, "standard"), (False, "compatible")], ids=["js", "nojs"]
)
def test_approve_issue_pickup_and_open_the_file(
    js: bool,
    fmt: str,
    contexts: Callable[..., BrowserContext],
    live_server: LiveServer,
    tmp_path: Path,
) -> None:
    address, reference = submitted_application(contexts().new_page(), live_server)
    mails_before = len(live_server.mails_to(address))

    approver = sign_in(contexts(), live_server, APPROVER)
    open_from_queue(approver, live_server, reference, js=True)
    claim(approver, APPROVER[1])
    approve = approver.locator("form[action$='/approve']")
    for box in approve.locator("input[type=checkbox][name^=check_]").all():
        box.check()
    approve.get_by_role("button", name="承認").click()
    expect(approver.get_by_role("status")).to_contain_text("現在の状態: 承認済み")

    mail = live_server.wait_for_mail(address, subject=PICKUP_SUBJECT, timeout=60)
    assert len(live_server.mails_to(address)) == mails_before + 1
    assert reference in mail.subject and "発行しました" in mail.subject, mail.subject
    approver.reload()
    status_is(approver, "発行済み")

    applicant = contexts(js=js).new_page()  # the holder's browser, with or without JavaScript
    applicant.goto(live_server.link_in(mail, "pickup"))
    expect(applicant).to_have_url(live_server.url("/pickup"))
    expect(applicant.locator("h1")).to_have_text("証明書の受け取り")
    expect(applicant.locator("main")).to_contain_text("CN=")
    if js:
        assert_axe_clean_at_both_sizes(applicant, "the pickup page")

    applicant.get_by_label("PIN", exact=True).fill("short")
    applicant.get_by_label("PIN（確認）").fill("short")
    applicant.get_by_role("button", name="ダウンロード").click()
    expect(applicant.locator("#pin-error")).to_contain_text("8文字以上")
    assert applicant.title().startswith("エラー")
    if js:
        assert_axe_clean_at_both_sizes(applicant, "the pickup page with errors")

    applicant.get_by_label("PIN", exact=True).fill(PIN)
    applicant.get_by_label("PIN（確認）").fill(PIN)
    applicant.locator(f"input[name=format][value={fmt}]").check()
    with applicant.expect_download() as info:
        applicant.get_by_role("button", name="ダウンロード").click()
    download = info.value
    assert download.suggested_filename.endswith(".p12"), download.suggested_filename
    assert download.suggested_filename.startswith("Taro_Yamada-"), download.suggested_filename
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    opened = openssl_info(path, PIN)
    assert opened.returncode == 0, opened.stderr
    assert "Taro Yamada" in nss_import(path, PIN, tmp_path / "nss")

    applicant.goto(live_server.url("/pickup"))
    expect(applicant.locator("h1")).to_have_text("この証明書は受け取り済みです")
    expect(applicant.locator("main")).to_contain_text("失効")
    if js:
        assert_axe_clean_at_both_sizes(applicant, "the already-received page")
