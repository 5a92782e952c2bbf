"""Identity documents for operators: decrypted from the store, images as they were stored
(re-encoded at upload), PDFs rendered page by page to PNG with pypdfium2 on the server, so the
raw PDF never reaches the operator's browser."""

from __future__ import annotations

import io
import threading
from typing import Any

import anyio.to_thread
import pypdfium2

from app.application.storage import DocumentStore
from app.application.tables import ApplicationDocument

PDF = "application/pdf"
MAX_PAGES = 10  # shown per document; identity documents are a page or two
SCALE = 1.5  # 108 dpi: readable, about 300 kB a page
# PDFium is not thread-safe: one rendering at a time per process.
_PDFIUM = threading.Lock()


class NoSuchPage(LookupError):
    """The document has no such page (or is not this application's)."""


async def document_of(application_id: int, public_id: str) -> dict[str, Any] | None:
    row = (
        await ApplicationDocument.select()
        .where(
            (ApplicationDocument.application == application_id)
            & (ApplicationDocument.public_id == public_id)
        )
        .first()
    )
    return dict(row) if row else None


def _page_count(content: bytes) -> int:
    with _PDFIUM:
        pdf = pypdfium2.PdfDocument(content)
        try:
            return min(len(pdf), MAX_PAGES)
        finally:
            pdf.close()


def _render(content: bytes, number: int) -> bytes:
    with _PDFIUM:
        pdf = pypdfium2.PdfDocument(content)
        try:
            if not 1 <= number <= min(len(pdf), MAX_PAGES):
                raise NoSuchPage(number)
            page = pdf[number - 1]
            image = page.render(scale=SCALE).to_pil()
            page.close()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


async def pages_of(store: DocumentStore, document: dict[str, Any]) -> int:
    """How many page images the document is shown as: a PDF's pages are counted once (the
    file decrypted and parsed) and kept in its row, so a view of the application does not
    decrypt every PDF again."""
    if document["content_type"] != PDF:
        return 1
    if document.get("page_count") is not None:
        return int(document["page_count"])
    content = await anyio.to_thread.run_sync(store.load, document["storage_name"])
    count = await anyio.to_thread.run_sync(_page_count, content)
    await ApplicationDocument.update({ApplicationDocument.page_count: count}).where(
        ApplicationDocument.id == document["id"]
    )
    return count


async def page_image(
    store: DocumentStore, document: dict[str, Any], number: int
) -> tuple[bytes, str]:
    """(image bytes, media type) of page `number` (1-based)."""
    content = await anyio.to_thread.run_sync(store.load, document["storage_name"])
    if document["content_type"] != PDF:
        if number != 1:
            raise NoSuchPage(number)
        return content, document["content_type"]
    return await anyio.to_thread.run_sync(_render, content, number), "image/png"
