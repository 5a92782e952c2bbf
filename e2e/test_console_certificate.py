"""The certificate page in Chromium: approve → the runner issues → the 発行済み tab links to the
certificate page (serial, pickup waiting, the certificate.issued delivery) → the approver
re-issues it on the holder's request → the new certificate's page, and a new pickup mail to the
holder; the old one shows 失効 (新しい証明書への切り替え, from its revocation row). Axe-clean
at 1280/320."""

from __future__ import annotations

import re
from collections.abc import Callable

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


def test_the_certificate_page_and_a_reissue(
    contexts: Callable[..., BrowserContext], live_server: LiveServer
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
    live_server.wait_for_mail(address, subject=PICKUP_SUBJECT, timeout=60)
    approver.reload()
    status_is(approver, "発行済み")

    approver.goto(live_server.url("/console/applications?tab=issued"))
    approver.get_by_role("link", name=f"申請 {reference} の証明書").click()
    expect(approver).to_have_url(re.compile(r"/console/certificates/[0-9A-Z]{26}$"))
    old_url = approver.url
    main = approver.locator("main")
    expect(main).to_contain_text("受け取り待ちです")
    expect(main).to_contain_text("certificate.issued")
    expect(approver.locator("h1 code")).to_have_text(re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2})+$"))
    assert_axe_clean_at_both_sizes(approver, "the certificate page")

    approver.get_by_role("button", name="再発行").click()  # nothing chosen: errors, 422
    expect(approver.locator("#note-error")).to_contain_text("再発行の経緯")
    assert_axe_clean_at_both_sizes(approver, "the certificate page with errors")
    approver.get_by_label("本人からの申し出（ファイルや PIN の紛失など）").check()
    approver.get_by_label("経緯").fill("本人から電話で紛失の連絡（12月2日）")
    approver.get_by_role("button", name="再発行").click()
    expect(approver.get_by_role("status")).to_contain_text("再発行を受け付けました")
    assert approver.url != old_url

    mail = live_server.wait_for_mail(address, count=2, subject=PICKUP_SUBJECT, timeout=60)
    assert reference in mail.subject, mail.subject
    assert len(live_server.mails_to(address)) == mails_before + 2
    approver.goto(old_url)
    expect(approver.locator("main")).to_contain_text("新しい証明書への切り替え")
    expect(approver.get_by_role("button", name="再発行")).to_have_count(0)
    approver.get_by_role("link", name=f"申請 {reference} へ戻る").click()
    expect(approver.locator("h1")).to_contain_text(f"申請 {reference}")
    expect(approver.get_by_role("link", name=re.compile("^証明書 "))).to_have_count(2)
