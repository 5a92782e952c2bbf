"""Every stored answer is bounded before anything is stored, every form body is bounded, and
posting the same thing twice (a replay, a double click) changes nothing the second time."""

from __future__ import annotations

import asyncio
import json

from app.application.tables import Application, ApplicationDocument
from tests.helpers import (
    GOOD_ANSWERS,
    error_of,
    input_value,
    open_application,
    png_bytes,
    title,
    upload,
)


async def _stored() -> dict[str, str]:
    row = await Application.select(Application.answers).first()
    return dict(json.loads(row["answers"]))


async def test_save_refuses_an_answer_over_its_maximum_and_stores_nothing(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    too_long = "ア" * 31
    response = await client.post(
        "/apply",
        data={**GOOD_ANSWERS, "family_name_kana": too_long, "_csrf_token": csrf, "action": "save"},
    )
    assert response.status_code == 422
    assert title(response.text).startswith("エラー: ")
    assert error_of(response.text, "family-name-kana") == (
        "フリガナ（セイ）は30文字以内で入力してください。"
    )
    assert input_value(response.text, "family-name-kana") == too_long  # kept in the form
    assert await _stored() == {}  # and nothing stored, not even the other answers


async def test_save_still_keeps_an_unfinished_draft_within_the_limits(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply",
        data={"family_name_kana": "ヤマダ", "phone": "03", "_csrf_token": csrf, "action": "save"},
    )
    assert response.status_code == 200
    assert (await _stored())["family_name_kana"] == "ヤマダ"


async def test_next_with_an_answer_over_its_maximum_stores_nothing(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply",
        data={**GOOD_ANSWERS, "org_name": "組" * 65, "_csrf_token": csrf, "action": "next"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "64文字以内" in error_of(response.text, "org-name")
    assert await _stored() == {}


async def test_an_inline_check_over_the_maximum_answers_422_and_stores_nothing(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply/fields/given_name_roman",
        data={**GOOD_ANSWERS, "given_name_roman": "T" * 200, "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "30文字以内" in response.text
    assert await _stored() == {}
    # Another field too long stops the draft too, though only the checked field is answered.
    other = await client.post(
        "/apply/fields/given_name",
        data={**GOOD_ANSWERS, "phone": "0" * 500, "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert await _stored() == {}
    assert other.status_code == 200


async def test_a_choice_that_is_not_offered_is_not_stored(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply",
        data={**GOOD_ANSWERS, "qualification": "X" * 40, "_csrf_token": csrf, "action": "save"},
    )
    assert response.status_code == 422
    assert error_of(response.text, "qualification") == "資格を選択してください。"
    assert await _stored() == {}


async def test_a_megabyte_answer_is_refused_with_the_413_page(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    response = await client.post(
        "/apply",
        data={
            **GOOD_ANSWERS,
            "family_name_kana": "ア" * 1_000_000,
            "_csrf_token": csrf,
            "action": "save",
        },
    )
    assert response.status_code == 413
    assert "大きすぎます" in title(response.text)
    assert await _stored() == {}
    inline = await client.post(
        "/apply/fields/family_name_kana",
        data={"family_name_kana": "ア" * 1_000_000, "_csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert inline.status_code == 413
    assert await _stored() == {}


async def test_the_approval_form_body_is_bounded_too(client):
    page = await client.get("/register/step1")
    from tests.helpers import CSRF

    csrf = CSRF.search(page.text).group(1)
    response = await client.post(
        "/approve", data={"_csrf_token": csrf, "decision": "decline", "reason": "x" * 300_000}
    )
    assert response.status_code == 413


async def test_the_same_upload_twice_keeps_one_document(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    image = png_bytes(color="navy")
    for _ in range(2):  # a replay of the upload POST
        response = await upload(client, csrf, [("front.png", image, "image/png")])
        assert response.status_code == 303
    assert await ApplicationDocument.count() == 1


async def test_a_double_click_on_upload_keeps_one_document(client, smtp_sink, settings):
    csrf = await open_application(client, smtp_sink)
    folder = settings.documents.directory

    def files() -> set[str]:
        return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()

    before = files()
    image = png_bytes(color="teal")
    responses = await asyncio.gather(
        *[upload(client, csrf, [("front.png", image, "image/png")]) for _ in range(3)]
    )
    assert [r.status_code for r in responses] == [303] * 3
    rows = await ApplicationDocument.select(ApplicationDocument.storage_name)
    assert len(rows) == 1
    # The other copies' files were removed again: one document, one file.
    assert files() - before == {rows[0]["storage_name"]}
