"""Pickup over HTTP: the mailed link exchanged for a token-free page with the subject and the
validity, the PIN form's messages (422), the one download (a PKCS#12 openssl opens with that
PIN), the key gone in the same transaction, and what a second visit says."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from app.issuance.tables import Certificate, WrappedKey
from tests.helpers import CSRF, error_of, text_body, title
from tests.integration.issuance.issuance_helpers import approved, pickup_mails_to, wait_issued
from tests.support.pkcs12 import openssl_info

PICKUP = re.compile(r"http://testserver\.local(/pickup/t/[A-Za-z0-9_-]+)")


@pytest.fixture
def services(app: Any, ca_settings: Any) -> Any:  # ca_settings: the local CA exists
    return app.state.services


async def _pickup_page(client: Any, smtp_sink: Any, services: Any) -> tuple[str, str]:
    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    messages = await pickup_mails_to(smtp_sink)
    found = PICKUP.search(text_body(messages[-1]))
    assert found, text_body(messages[-1])
    link = found.group(1)
    opened = await client.get(link, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/pickup"
    page = await client.get("/pickup")
    assert page.status_code == 200
    return page.text, link


def _form(csrf: str, **values: str) -> dict[str, str]:
    return {"_csrf_token": csrf, "pin": "", "pin_confirm": "", "format": "standard"} | values


async def test_pickup_shows_the_certificate_and_downloads_it_once(
    client: Any, smtp_sink: Any, services: Any, tmp_path: Path
) -> None:
    html, link = await _pickup_page(client, smtp_sink, services)
    assert title(html).startswith("証明書の受け取り")
    assert "CN=Taro Yamada" in html and "有効期間の終了" in html
    assert "/pickup/t/" not in html
    csrf = CSRF.search(html).group(1)  # type: ignore[union-attr]

    short = await client.post("/pickup", data=_form(csrf, pin="short", pin_confirm="short"))
    assert short.status_code == 422
    assert "8文字以上" in error_of(short.text, "pin")
    assert title(short.text).startswith("エラー:")
    differ = await client.post(
        "/pickup",
        data=_form(csrf, pin="a-good-pin", pin_confirm="a-good-pin2", format="compatible"),
    )
    assert differ.status_code == 422
    assert "一致しません" in error_of(differ.text, "pin-confirm")
    assert 'value="compatible" checked' in differ.text

    [cert] = await Certificate.select()
    download = await client.post(
        "/pickup", data=_form(csrf, pin="a-good-pin", pin_confirm="a-good-pin")
    )
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-pkcs12")
    disposition = download.headers["content-disposition"]
    assert disposition == f'attachment; filename="Taro_Yamada-{cert["serial"]}.p12"'
    path = tmp_path / "f.p12"
    path.write_bytes(download.content)
    opened = await asyncio.to_thread(openssl_info, path, "a-good-pin")
    assert opened.returncode == 0, opened.stderr
    # The key is gone, the pickup recorded, in the download's transaction.
    assert await WrappedKey.count() == 0
    [cert] = await Certificate.select()
    assert cert["picked_up_at"] is not None

    again = await client.get("/pickup", follow_redirects=True)
    assert "受け取り済み" in title(again.text)
    assert "失効" in again.text and "もう一度発行申請" in again.text
    replay = await client.get(link, follow_redirects=True)
    assert "受け取り済み" in title(replay.text)


async def test_a_browser_without_the_token_gets_no_pickup_page(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    await _pickup_page(client, smtp_sink, services)
    client.cookies.clear()
    response = await client.get("/pickup", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/pickup/link/invalid"
    assert await WrappedKey.count() == 1


async def test_a_bad_link_says_so(client: Any) -> None:
    response = await client.get("/pickup/t/" + "x" * 43, follow_redirects=True)
    assert re.search("URLが正しくありません", title(response.text))
