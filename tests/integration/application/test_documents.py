"""本人確認書類: refusals said next to the field, at most six, encrypted at rest, never served."""

from __future__ import annotations

from app.application.storage import store_for
from app.application.tables import ApplicationDocument
from tests.helpers import (
    CSRF,
    GOOD_ANSWERS,
    error_of,
    fill_form,
    open_application,
    pdf_bytes,
    png_bytes,
    title,
    upload,
)


async def _documents_page(client, smtp_sink):
    csrf = await open_application(client, smtp_sink)
    await fill_form(client, csrf, GOOD_ANSWERS)
    return csrf


async def test_a_png_is_accepted_stored_encrypted_and_listed(client, smtp_sink, settings):
    csrf = await _documents_page(client, smtp_sink)
    original = png_bytes()
    response = await upload(client, csrf, [("免許証 表.PNG", original, "image/png")])
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "1件のファイルをアップロードしました" in page.text
    assert "免許証 表.png" in page.text
    row = await ApplicationDocument.select().first()
    assert row["content_type"] == "image/png" and row["kind"] == "id_front"
    stored = store_for(settings).directory / row["storage_name"]
    on_disk = stored.read_bytes()
    assert b"IHDR" not in on_disk  # encrypted, not the PNG
    assert store_for(settings).load(row["storage_name"]).startswith(b"\x89PNG")
    assert "static" not in str(stored)


async def test_refusals_name_the_file_and_the_reason_next_to_the_field(client, smtp_sink):
    csrf = await _documents_page(client, smtp_sink)
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    polyglot = png_bytes() + pdf_bytes()
    refused = [
        ("passport.pdf", html, "application/pdf", "HTML"),
        ("scan.pdf", pdf_bytes(javascript="app.alert('x')"), "application/pdf", "JavaScript"),
        ("front.png", polyglot, "image/png", "複数の形式"),
        ("huge.pdf", b"%PDF-1.4\n" + b"0" * (4 * 1024 * 1024), "application/pdf", "4MB"),
    ]
    for name, data, content_type, reason in refused:
        response = await upload(client, csrf, [(name, data, content_type)])
        assert response.status_code == 422
        assert title(response.text).startswith("エラー:")
        message = error_of(response.text, "documents")
        assert name in message and reason in message
        assert 'aria-invalid="true"' in response.text
    assert await ApplicationDocument.count() == 0
    ok = await upload(client, csrf, [("ok.pdf", pdf_bytes(), "application/pdf")])
    assert ok.status_code == 303
    assert await ApplicationDocument.count() == 1


async def test_one_upload_takes_one_file_so_each_file_gets_its_kind(client, smtp_sink):
    csrf = await _documents_page(client, smtp_sink)
    page = await client.get("/apply/documents")
    assert 'id="documents"' in page.text and " multiple" not in page.text
    assert "1回に1つのファイル" in page.text
    both = [("front.png", png_bytes(), "image/png"), ("back.png", png_bytes(), "image/png")]
    response = await upload(client, csrf, both, "id_front")
    assert response.status_code == 422
    assert "1回にアップロードできるファイルは1つです" in error_of(response.text, "documents")
    assert await ApplicationDocument.count() == 0  # neither stored as 表面
    for (name, data, content_type), kind in zip(both, ("id_front", "id_back"), strict=True):
        assert (await upload(client, csrf, [(name, data, content_type)], kind)).status_code == 303
    rows = await ApplicationDocument.select(ApplicationDocument.kind).order_by(
        ApplicationDocument.id
    )
    assert [r["kind"] for r in rows] == ["id_front", "id_back"]


async def test_no_more_than_six_files(client, smtp_sink):
    csrf = await _documents_page(client, smtp_sink)
    for i in range(6):
        one = [(f"page{i}.png", png_bytes(size=(64, 40 + i), color="gray"), "image/png")]
        assert (await upload(client, csrf, one)).status_code == 303
    page = await client.get("/apply/documents")
    assert "上限（6件）" in page.text and 'type="file"' not in page.text
    response = await upload(
        client, csrf, [("page6.png", png_bytes(size=(64, 50), color="gray"), "image/png")]
    )
    assert response.status_code == 422
    assert "6件まで" in error_of(response.text, "documents")
    assert await ApplicationDocument.count() == 6


async def test_nothing_chosen_says_so(client, smtp_sink):
    csrf = await _documents_page(client, smtp_sink)
    response = await client.post(
        "/apply/documents",
        data={"_csrf_token": csrf, "kind": "id_front", "action": "upload"},
        files=[("documents", ("", b"", "application/octet-stream"))],
    )
    assert response.status_code == 422
    assert "ファイルを選択してください" in error_of(response.text, "documents")


async def test_next_needs_the_documents_the_answers_require(client, smtp_sink):
    csrf = await _documents_page(client, smtp_sink)
    await upload(client, csrf, [("front.png", png_bytes(), "image/png")], "id_front")
    page = await client.get("/apply/documents")
    assert '<option value="employment" selected>' in page.text  # the next one still needed
    response = await client.post(
        "/apply/documents", data={"_csrf_token": csrf, "action": "next"}, follow_redirects=False
    )
    assert response.status_code == 422
    assert "在籍を証明する書類" in response.text
    await upload(client, csrf, [("member.pdf", pdf_bytes(), "application/pdf")], "employment")
    response = await client.post(
        "/apply/documents", data={"_csrf_token": csrf, "action": "next"}, follow_redirects=False
    )
    assert response.headers["location"] == "/apply/confirm"


async def test_a_document_can_be_deleted_with_its_file(client, smtp_sink, settings):
    csrf = await _documents_page(client, smtp_sink)
    await upload(client, csrf, [("front.png", png_bytes(), "image/png")])
    row = await ApplicationDocument.select().first()
    store = store_for(settings)
    assert store.exists(row["storage_name"])
    page = await client.get("/apply/documents")
    token = CSRF.search(page.text).group(1)
    response = await client.post(
        f"/apply/documents/{row['public_id']}/delete", data={"_csrf_token": token}
    )
    assert response.status_code == 303
    assert await ApplicationDocument.count() == 0
    assert not store.exists(row["storage_name"])


async def test_documents_are_never_served(client, smtp_sink):
    csrf = await _documents_page(client, smtp_sink)
    await upload(client, csrf, [("front.png", png_bytes(), "image/png")])
    row = await ApplicationDocument.select().first()
    for path in (
        f"/static/{row['storage_name']}",
        f"/apply/documents/{row['public_id']}",
        f"/documents/{row['storage_name']}",
    ):
        response = await client.get(path)
        assert response.status_code in (404, 405), path
        assert b"PNG" not in response.content


async def test_an_oversized_request_gets_a_japanese_page_not_a_500(client, smtp_sink):
    from app.application.controller import UPLOAD_BODY_LIMIT

    csrf = await _documents_page(client, smtp_sink)
    response = await upload(
        client, csrf, [("big.pdf", b"%PDF-1.4\n" + b"0" * UPLOAD_BODY_LIMIT, "application/pdf")]
    )
    assert response.status_code == 413
    assert "大きすぎます" in title(response.text)
    assert await ApplicationDocument.count() == 0
