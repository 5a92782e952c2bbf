"""発行申請情報入力: server-side checks, inline checks, the draft kept as one goes."""

from __future__ import annotations

import json
import re

from app.application.tables import Application
from tests.helpers import (
    GOOD_ANSWERS,
    error_of,
    fill_form,
    input_value,
    link_in,
    open_application,
    register,
    summary_links,
    title,
    wait_for_mail,
)


async def test_the_form_starts_with_the_registration_email_for_self(client, smtp_sink):
    await open_application(client, smtp_sink)
    page = await client.get("/apply")
    assert title(page.text).startswith("発行申請情報入力")
    assert input_value(page.text, "cert-email") == "taro@example.com"
    assert 'id="agent-name"' not in page.text
    assert 'aria-current="step"' in page.text


async def test_agent_form_asks_for_the_agent_and_not_their_own_address(client, smtp_sink):
    await open_application(client, smtp_sink, "agent", "agent@example.net")
    page = await client.get("/apply")
    assert input_value(page.text, "cert-email") == ""
    for field in ("agent-name", "agent-org", "agent-phone"):
        assert f'id="{field}"' in page.text


async def test_failed_next_shows_every_error_and_keeps_what_was_typed(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    bad = {
        **GOOD_ANSWERS,
        "family_name_kana": "Yamada",
        "family_name_roman": "山田",
        "corporate_number": "1000012050002",
        "phone": "12",
    }
    response = await fill_form(client, csrf, bad)
    assert response.status_code == 422
    assert title(response.text).startswith("エラー:")
    targets = [href for href, _ in summary_links(response.text)]
    assert targets == ["family-name-kana", "family-name-roman", "phone", "corporate-number"]
    assert "全角カタカナ" in error_of(response.text, "family-name-kana")
    assert "検査用数字" in error_of(response.text, "corporate-number")
    assert input_value(response.text, "corporate-number") == "1000012050002"
    assert input_value(response.text, "family-name-roman") == "山田"
    assert 'aria-describedby="corporate-number-hint corporate-number-error"' in response.text
    # The draft keeps what was typed, even though it is not valid yet.
    saved = json.loads((await Application.select(Application.answers).first())["answers"])
    assert saved["corporate_number"] == "1000012050002"


async def test_inline_check_answers_the_one_field_and_keeps_the_draft(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply/fields/corporate_number",
        data={**GOOD_ANSWERS, "corporate_number": "7000012050003", "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith(
        '<div class="field field--error" id="corporate-number-field"'
    )
    assert "検査用数字" in response.text
    assert 'hx-swap-oob="innerHTML:#live-region"' in response.text
    saved = json.loads((await Application.select(Application.answers).first())["answers"])
    assert saved["family_name"] == "山田"
    good = await client.post(
        "/apply/fields/family_name_kana",
        data={**GOOD_ANSWERS, "family_name_kana": "やまだ", "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert good.status_code == 200
    assert 'value="ヤマダ"' in good.text and "error-message" not in good.text


async def test_inline_check_swaps_only_the_message_and_syncs_on_the_field(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    page = await client.get("/apply")
    control = re.search(r'<input[^>]*id="family-name-kana"[^>]*>', page.text).group(0)
    assert 'hx-target="#family-name-kana-message"' in control
    assert 'hx-select="#family-name-kana-message"' in control
    assert 'hx-sync="closest .field:replace"' in control
    response = await client.post(
        "/apply/fields/family_name_kana",
        data={**GOOD_ANSWERS, "family_name_kana": "Yama", "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    message = re.search(
        r'<div id="family-name-kana-message" class="field__message">(.*?)</div>',
        response.text,
        re.S,
    )
    assert message and "全角カタカナ" in message.group(1)
    state = re.search(r"<input[^>]*data-field-state[^>]*>", response.text).group(0)
    assert 'aria-invalid="true"' in state
    assert 'aria-describedby="family-name-kana-hint family-name-kana-error"' in state


async def test_inline_check_without_htmx_answers_the_whole_page(client, smtp_sink):
    """A client without JavaScript (or htmx) that posts to a field endpoint gets the form
    page with that field checked and everything it sent kept, not a fragment or a 500."""
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply/fields/corporate_number",
        data={**GOOD_ANSWERS, "corporate_number": "1000012050002", "_csrf_token": csrf},
    )
    assert response.status_code == 422
    assert "<html" in response.text and title(response.text).startswith("エラー:")
    assert "検査用数字" in error_of(response.text, "corporate-number")
    assert input_value(response.text, "family-name") == "山田"
    assert "hx-swap-oob" not in response.text
    preview = await client.post(
        "/apply/fields/subject_preview", data={**GOOD_ANSWERS, "_csrf_token": csrf}
    )
    assert preview.status_code == 200 and "<html" in preview.text


async def test_inline_check_of_an_unknown_field_is_not_found(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply/fields/agent_name", data={"_csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 404  # a self application has no agent fields


async def test_choosing_a_value_clears_the_choice_error(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    failed = await fill_form(client, csrf, {**GOOD_ANSWERS, "validity_years": ""})
    assert "有効期間を選択してください" in error_of(failed.text, "validity-years")
    response = await client.post(
        "/apply/fields/validity_years",
        data={**GOOD_ANSWERS, "validity_years": "2", "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div class="field" id="validity-years-field"')
    assert "error-message" not in response.text
    assert 'value="2" checked' in response.text


async def test_subject_preview_follows_the_answers(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply/fields/subject_preview",
        data={
            **GOOD_ANSWERS,
            "qualification": "ACT1",
            "qualification_number": "998",
            "_csrf_token": csrf,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="panel subject-preview"')
    for expected in ("Taro Yamada", "Sample Co., Ltd.", "CN-7000012050002", "ACT1-998"):
        assert expected in response.text


async def test_save_keeps_the_draft_and_the_link_resumes_it(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply",
        data={"_csrf_token": csrf, "action": "save", "family_name": "山田", "phone": "bad"},
    )
    assert response.status_code == 200
    assert "一時保存しました" in response.text
    link = link_in((await wait_for_mail(smtp_sink, "taro@example.com"))[-1])
    client.cookies.clear()
    await client.get(link)
    page = await client.get("/apply")
    assert input_value(page.text, "family-name") == "山田"
    assert input_value(page.text, "phone") == "bad"


async def test_good_answers_go_on_to_documents_or_back_to_confirm(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await fill_form(client, csrf, GOOD_ANSWERS)
    assert response.headers["location"] == "/apply/documents"
    again = await fill_form(client, csrf, GOOD_ANSWERS, **{"return": "confirm"})
    assert again.headers["location"] == "/apply/confirm"
    saved = json.loads((await Application.select(Application.answers).first())["answers"])
    assert saved["family_name_roman"] == "Yamada"


async def test_draft_moves_to_a_new_registration_of_the_same_ticket_and_email(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    await fill_form(client, csrf, {**GOOD_ANSWERS, "family_name": "継続"})
    client.cookies.clear()
    await register(client)  # the same ticket and address again: a new link
    link = link_in((await wait_for_mail(smtp_sink, "taro@example.com", count=2))[-1])
    await client.get(link)
    page = await client.get("/apply")
    assert input_value(page.text, "family-name") == "継続"
    assert await Application.count() == 1


async def test_draft_does_not_move_to_someone_else_registering_the_ticket(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    await fill_form(client, csrf, {**GOOD_ANSWERS, "family_name": "隠岐"})
    client.cookies.clear()
    await register(client, email="other@example.com", email_confirm="other@example.com")
    link = link_in((await wait_for_mail(smtp_sink, "other@example.com"))[-1])
    await client.get(link)
    page = await client.get("/apply")
    assert "隠岐" not in page.text
    assert await Application.count() == 2


async def test_expired_link_while_filling_in_keeps_the_draft(client, smtp_sink):
    from datetime import timedelta

    from app.db import utcnow
    from app.registration.tables import AccessToken

    csrf = await open_application(client, smtp_sink)
    await fill_form(client, csrf, {**GOOD_ANSWERS, "family_name": "保存済"})
    await AccessToken.update({AccessToken.expires_at: utcnow() - timedelta(minutes=1)}).where(
        AccessToken.id > 0
    )
    response = await fill_form(client, csrf, {**GOOD_ANSWERS, "family_name": "期限"})
    assert response.status_code == 303
    assert response.headers["location"] == "/apply/link/expired"
    page = await client.get("/apply/link/expired")
    assert "入力途中の申請内容は保存されています" in page.text
    saved = json.loads((await Application.select(Application.answers).first())["answers"])
    assert saved["family_name"] == "保存済"
