"""Step 1 (申請者確認情報の入力): the page, its fragments and every validation rule."""

from __future__ import annotations

from datetime import timedelta

from app.captcha.service import create_challenge, unseal
from app.captcha.tables import CaptchaChallenge
from app.db import utcnow
from app.registration.tables import Ticket
from tests.helpers import (
    CAPTCHA,
    CSRF,
    captcha_answer,
    check_step1_field,
    error_of,
    input_value,
    post_step1,
    step1_page,
    summary_links,
    title,
)


async def test_step1_without_type_disables_the_other_fields(client):
    response = await client.get("/register/step1")
    html = response.text
    assert response.status_code == 200
    assert "申請者確認情報の入力" in title(html)
    assert '<fieldset class="fieldset fieldset--plain" disabled' in html
    assert (
        "証明書の発行対象者本人が申請する場合は「本人」を、代理人が申請する場合は「代理人」を選択して下さい。"
        in html
    )
    assert 'aria-current="step"' not in html  # no flow until a type is chosen


async def test_choosing_self_shows_the_single_lane_flow_with_current_step(client):
    html = (await client.get("/register/step1?applicant_type=self")).text
    assert "disabled aria-describedby" not in html
    assert '<li class="flow__step flow__step--current" aria-current="step">申請者情報入力' in html
    assert html.count('<ol class="flow__steps"') == 1
    for step in ("確認メール受信", "発行申請情報入力", "数日後", "発行完了", "証明書を自動登録"):
        assert step in html
    assert "ご自身のメールアドレスを入力して下さい。" in html


async def test_choosing_agent_shows_two_lanes_and_the_agent_email_hint(client):
    html = (await client.get("/register/step1?applicant_type=agent")).text
    assert html.count('<ol class="flow__steps"') == 2
    assert "代理人作業" in html and "本人作業" in html and "申請情報承認" in html
    assert "代理人の方のメールアドレスを入力して下さい。" in html


async def test_type_change_by_htmx_answers_only_the_step1_fragment(client):
    response = await client.get(
        "/register/step1?applicant_type=agent", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="step1-main">')
    assert "<html" not in response.text
    assert "代理人作業" in response.text
    assert "HX-Request" in response.headers["vary"]


async def test_boosted_navigation_gets_the_whole_page(client):
    response = await client.get(
        "/register/step1", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in response.text


async def test_choose_button_without_javascript_redirects_to_the_chosen_type(client):
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    response = await client.post(
        "/register/step1",
        data={"_csrf_token": csrf, "applicant_type": "agent", "action": "choose"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/register/step1?applicant_type=agent"


async def test_empty_submit_shows_every_error_in_page_order_with_error_title(client):
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    response = await client.post("/register/step1", data={"_csrf_token": csrf})
    html = response.text
    assert response.status_code == 422
    assert title(html).startswith("エラー: ")
    assert [anchor for anchor, _ in summary_links(html)] == [
        "applicant-type",
        "company-code",
        "ticket-number",
        "email",
        "email-confirm",
        "captcha-answer",
    ]
    assert "data-error-summary autofocus" in html


async def test_invalid_values_are_kept_except_the_captcha_answer(client):
    response = await post_step1(
        client, email="not-an-email", email_confirm="not-an-email", captcha_answer="WRONG"
    )
    html = response.text
    assert response.status_code == 422
    assert input_value(html, "email") == "not-an-email"
    assert input_value(html, "email-confirm") == "not-an-email"
    assert input_value(html, "ticket-number") == client.tickets[0]
    assert input_value(html, "captcha-answer") == ""
    assert 'option value="ISC" selected' in html
    assert 'value="self" checked' in html


async def test_failed_submit_shows_a_new_challenge(client):
    _html, csrf, captcha_id = await step1_page(client)
    response = await client.post(
        "/register/step1",
        data={"_csrf_token": csrf, "applicant_type": "self", "captcha_id": captcha_id},
    )
    new_id = CAPTCHA.search(response.text).group(1)
    assert new_id != captcha_id


async def test_error_fields_are_tied_to_their_messages(client):
    html = (await post_step1(client, email="bad")).text
    assert 'aria-describedby="email-hint email-error" aria-invalid="true"' in html
    assert '<p id="email-error" class="error-message">' in html


async def test_email_syntax_is_checked(client):
    for bad in ("taro", "taro@", "@example.com", "taro@@example.com", "taro example@example.com"):
        html = (await post_step1(client, email=bad, email_confirm=bad)).text
        assert (
            error_of(html, "email")
            == "メールアドレスの形式が正しくありません。（例: taro@example.co.jp）"
        ), bad


async def test_email_longer_than_254_characters_is_refused(client):
    address = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".example.jp"
    assert len(address) > 254
    html = (await post_step1(client, email=address, email_confirm=address)).text
    assert error_of(html, "email") == "メールアドレスは254文字以内で入力してください。"


async def test_emails_must_match(client):
    html = (await post_step1(client, email_confirm="jiro@example.com")).text
    assert (
        error_of(html, "email-confirm") == "メールアドレスと（確認）メールアドレスが一致しません。"
    )


async def test_full_width_email_is_normalised_and_accepted(client):
    response = await post_step1(
        client, email="ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", email_confirm="taro@example.com"
    )
    assert response.status_code == 303


async def test_unknown_company_is_refused(client):
    html = (await post_step1(client, company_code="NOPE")).text
    assert error_of(html, "company-code") == "選択された企業コードは登録されていません。"


async def test_malformed_ticket_is_refused(client):
    for bad in ("1234", "ABCD-EFGH-JKMN-234U", "ABCD-EFGH-JKMN-2345-6789"):
        html = (await post_step1(client, ticket_number=bad)).text
        assert error_of(html, "ticket-number").startswith(
            "チケット番号の形式が正しくありません。"
        ), bad


async def test_unknown_ticket_and_another_companys_ticket_get_the_same_message(client):
    unknown = (await post_step1(client, ticket_number="ZZZZ-ZZZZ-ZZZZ-ZZZZ")).text
    foreign = (await post_step1(client, ticket_number=client.other_tickets[0])).text
    assert error_of(unknown, "ticket-number") == error_of(foreign, "ticket-number")
    assert "選択した企業コードでは使用できません" in error_of(unknown, "ticket-number")


async def test_used_ticket_is_refused(client):
    await Ticket.update({Ticket.used_at: utcnow()}).where(Ticket.number == client.tickets[0])
    html = (await post_step1(client)).text
    assert error_of(html, "ticket-number") == "このチケット番号は既に発行申請に使用されています。"


async def test_ticket_is_normalised_from_lower_case_spaces_and_full_width(client):
    ticket = client.tickets[0]
    messy = " " + ticket.lower().replace("-", " ") + " "
    assert (await post_step1(client, ticket_number=messy)).status_code == 303
    full_width = ticket.translate(
        str.maketrans(
            "0123456789ABCDEFGHJKMNPQRSTVWXYZ-",
            "０１２３４５６７８９ＡＢＣＤＥＦＧＨＪＫＭＮＰＱＲＳＴＶＷＸＹＺ－",
        )
    )
    assert (await post_step1(client, ticket_number=full_width)).status_code == 303


async def test_wrong_captcha_answer_is_refused(client):
    html = (await post_step1(client, captcha_answer="XXXXX")).text
    assert error_of(html, "captcha-answer").startswith("画像の文字が正しくありません。")


async def test_captcha_answer_is_case_and_width_insensitive(client, app):
    from dataclasses import replace

    s = app.state.services
    letters = replace(s.settings.registration, captcha_test_answer="AbCdE")
    challenge = create_challenge(letters, client.captcha_key)
    response = await post_step1(client, captcha_id=challenge.public_id, captcha_answer="abcde")
    assert response.status_code == 303
    _, _, captcha_id = await step1_page(client)
    full_width = captcha_answer(client, captcha_id).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    response = await post_step1(
        client,
        ticket_number=client.tickets[1],
        captcha_id=captcha_id,
        captcha_answer=full_width,
    )
    assert response.status_code == 303


async def test_captcha_is_usable_once(client):
    _html, _csrf, captcha_id = await step1_page(client)
    answer = captcha_answer(client, captcha_id)
    first = await post_step1(client, captcha_id=captcha_id, captcha_answer=answer)
    second = await post_step1(client, captcha_id=captcha_id, captcha_answer=answer)
    assert first.status_code == 303
    assert second.status_code == 422
    assert error_of(second.text, "captcha-answer").startswith("画像の文字が正しくありません。")
    # The use is the one row a challenge ever writes, and it stays until the challenge expires.
    used = await CaptchaChallenge.select().where(
        CaptchaChallenge.public_id == unseal(captcha_id, client.captcha_key).use_id
    )
    assert len(used) == 1 and used[0]["used_at"] is not None


async def test_a_forged_or_altered_challenge_id_is_refused(client, app):
    _html, _csrf, captcha_id = await step1_page(client)
    answer = captcha_answer(client, captcha_id)
    flipped = captcha_id[:20] + ("A" if captcha_id[20] != "A" else "B") + captcha_id[21:]
    forged = create_challenge(
        app.state.services.settings.registration, b"x" * 32
    ).public_id  # sealed with another key
    for bad in (flipped, forged, captcha_id[:-4]):
        response = await post_step1(client, captcha_id=bad, captcha_answer=answer)
        assert response.status_code == 422
        assert error_of(response.text, "captcha-answer").startswith(
            "画像の文字が正しくありません。"
        )
        assert (await client.get(f"/captcha/{bad}/image.png")).status_code == 404
    assert await CaptchaChallenge.count() == 0  # a refused id writes nothing


async def test_captcha_expires_after_ten_minutes(client, app):
    before = utcnow().replace(microsecond=0)
    _html, _csrf, captcha_id = await step1_page(client)
    sealed = unseal(captcha_id, client.captcha_key)
    assert before + timedelta(minutes=10) <= sealed.expires_at
    assert sealed.expires_at <= utcnow() + timedelta(minutes=10)
    settings = app.state.services.settings.registration
    old = create_challenge(settings, client.captcha_key, now=utcnow() - timedelta(minutes=10))
    answer = captcha_answer(client, old.public_id)
    assert (await client.get(f"/captcha/{old.public_id}/image.png")).status_code == 404
    response = await post_step1(client, captcha_id=old.public_id, captcha_answer=answer)
    assert error_of(response.text, "captcha-answer").startswith(
        "画像の有効期限（10分）が切れました。"
    )


async def test_refresh_captcha_without_javascript_keeps_values_and_shows_no_errors(client):
    _html, csrf, captcha_id = await step1_page(client)
    response = await client.post(
        "/register/step1",
        data={
            "_csrf_token": csrf,
            "applicant_type": "self",
            "company_code": "ISC",
            "ticket_number": "ABCD",
            "email": "taro@example.com",
            "captcha_id": captcha_id,
            "action": "refresh_captcha",
        },
    )
    assert response.status_code == 200
    assert CAPTCHA.search(response.text).group(1) != captcha_id
    assert input_value(response.text, "ticket-number") == "ABCD"
    assert input_value(response.text, "email") == "taro@example.com"
    assert summary_links(response.text) == []


async def test_refresh_captcha_by_htmx_returns_only_the_captcha_block(client):
    response = await client.get("/register/captcha", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div class="captcha" id="captcha-block">')
    assert CAPTCHA.search(response.text)


async def test_inline_check_answers_the_field_fragment_with_its_error(client):
    response = await check_step1_field(
        client, "ticket_number", applicant_type="self", company_code="ISC", ticket_number="12"
    )
    assert response.status_code == 422
    body = response.text
    assert body.lstrip().startswith('<div class="field field--error" id="ticket-number-field">')
    assert "<html" not in body
    assert 'hx-swap-oob="innerHTML:#live-region"' in body
    assert error_of(body, "ticket-number").startswith("チケット番号の形式が正しくありません。")


async def test_inline_check_of_a_good_value_has_no_error_and_shows_it_normalised(client):
    response = await check_step1_field(
        client, "ticket_number", company_code="ISC", ticket_number=client.tickets[0].lower()
    )
    assert response.status_code == 200
    assert error_of(response.text, "ticket-number") == ""
    assert input_value(response.text, "ticket-number") == client.tickets[0]


async def test_inline_check_of_email_confirmation_mismatch(client):
    response = await check_step1_field(
        client, "email_confirm", email="a@example.com", email_confirm="b@example.com"
    )
    assert (
        error_of(response.text, "email-confirm")
        == "メールアドレスと（確認）メールアドレスが一致しません。"
    )


async def test_inline_checks_without_htmx_answer_the_whole_page(client):
    """No JavaScript or htmx: each field endpoint answers step 1 itself, with the field
    checked and the answers kept (never a fragment, never a 500)."""
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    answers = {
        "_csrf_token": csrf,
        "applicant_type": "self",
        "company_code": "ISC",
        "ticket_number": "12",
        "email": "taro@example.com",
        "email_confirm": "jiro@example.com",
    }
    for name in ("company_code", "ticket_number", "email", "email_confirm"):
        response = await client.post(f"/register/step1/fields/{name}", data=answers)
        assert response.status_code in (200, 422), (name, response.status_code)
        assert "<html" in response.text and "申請者確認情報の入力" in response.text
        assert input_value(response.text, "email") == "taro@example.com"
    ticket = await client.post("/register/step1/fields/ticket_number", data=answers)
    assert ticket.status_code == 422 and title(ticket.text).startswith("エラー:")
    assert error_of(ticket.text, "ticket-number").startswith("チケット番号の形式")
    assert "hx-swap-oob" not in ticket.text
    confirm = await client.post("/register/step1/fields/email_confirm", data=answers)
    assert "一致しません" in error_of(confirm.text, "email-confirm")


async def test_inline_check_of_an_unknown_field_is_not_found(client):
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    response = await client.post(
        "/register/step1/fields/captcha_answer", data={"_csrf_token": csrf}
    )
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text


async def test_changing_the_type_without_javascript_keeps_the_answers(client):
    html, csrf, captcha_id = await step1_page(client, "self")
    assert "申請者の変更を反映する" in html
    assert 'value="choose">申請者を選択する' not in html  # never the default button once chosen
    response = await client.post(
        "/register/step1",
        data={
            "_csrf_token": csrf,
            "applicant_type": "agent",
            "company_code": "ISC",
            "ticket_number": client.tickets[0],
            "email": "agent@example.com",
            "captcha_id": captcha_id,
            "action": "choose",
        },
    )
    assert response.status_code == 200
    assert "代理人の方のメールアドレスを入力して下さい。" in response.text
    assert input_value(response.text, "email") == "agent@example.com"
    assert input_value(response.text, "ticket-number") == client.tickets[0]


async def test_no_challenge_is_made_before_a_type_is_chosen(client):
    html = (await client.get("/register/step1")).text
    assert "captcha_id" not in html and "/captcha/" not in html


async def test_enter_on_a_radio_before_any_field_chooses_the_type(client):
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    response = await client.post(
        "/register/step1",
        data={"_csrf_token": csrf, "applicant_type": "self"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/register/step1?applicant_type=self"


async def test_the_first_submit_button_is_the_hidden_default_next(client):
    html, _, _ = await step1_page(client)
    form = html[html.index("<form") :]
    first_button = form[form.index("<button") : form.index(">", form.index("<button")) + 1]
    assert first_button == '<button type="submit" hidden tabindex="-1">'


async def test_an_inline_check_asks_the_database_only_for_its_own_field(client):
    from app.registration.service import check_fields

    used = client.tickets[0]
    await Ticket.update({Ticket.used_at: utcnow()}).where(Ticket.number == used)
    cleaned = {"company_code": "ISC", "ticket_number": used, "email": "a@example.com"}
    ticket_error = (await check_fields(cleaned, {}))["ticket_number"]
    assert ticket_error
    assert await check_fields(cleaned, {}, only="ticket_number") == {"ticket_number": ticket_error}
    assert await check_fields(cleaned, {}, only="email") == {}
    assert await check_fields(cleaned, {}, only="company_code") == {}
    unknown = {**cleaned, "company_code": "NOPE"}
    only_company = await check_fields(unknown, {}, only="company_code")
    assert set(only_company) == {"company_code"}
    assert set(await check_fields(unknown, {}, only="ticket_number")) == {"company_code"}
