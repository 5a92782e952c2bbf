"""What the fuzz suite found, each kept as a plain regression test."""

from __future__ import annotations

from app.application.tables import ApplicationDocument
from tests.helpers import error_of, ready_application


async def test_an_upload_post_without_a_documents_field_asks_for_a_file(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink)
    before = await ApplicationDocument.count()
    response = await client.post("/apply/documents", data={"_csrf_token": csrf, "kind": "id_front"})
    assert response.status_code == 422
    assert error_of(response.text, "documents") == "アップロードするファイルを選択してください。"
    assert await ApplicationDocument.count() == before
