"""Document operations: keep accepted uploads (encrypted), list, delete, sweep abandoned drafts."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from app.application import states
from app.application.documents import (
    MAX_FILES,
    DocumentRefused,
    inspect_document,
    safe_display_name,
)
from app.application.requirements import KINDS, OTHER
from app.application.storage import DocumentStore
from app.application.tables import Application, ApplicationDocument, ApprovalToken, StatusChange
from app.db import utcnow, write_transaction
from app.i18n import _

log = logging.getLogger("jcan.application")

# A draft nobody touched for this long, never submitted, is deleted with its documents: the
# link lives 3 days, and an expired one is answered "expired" for a week after.
ABANDONED_DRAFT_AGE = timedelta(days=10)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class UploadResult:
    accepted: list[str]
    refused: list[str]  # one Japanese sentence per refused file, naming it


async def documents_of(application_id: int) -> list[dict[str, Any]]:
    rows = (
        await ApplicationDocument.select(
            ApplicationDocument.public_id,
            ApplicationDocument.kind,
            ApplicationDocument.display_name,
            ApplicationDocument.content_type,
            ApplicationDocument.size,
            ApplicationDocument.created_at,
        )
        .where(ApplicationDocument.application == application_id)
        .order_by(ApplicationDocument.id)
    )
    return [dict(r) for r in rows]


async def add_documents(
    application_id: int,
    kind: str,
    uploads: list[Upload],
    store: DocumentStore,
    engine: Engine,
) -> UploadResult:
    """Inspect each file (off the event loop), store the accepted ones encrypted, and record
    them while the application is still a draft and holds fewer than MAX_FILES."""
    kind = kind if kind in KINDS else OTHER
    accepted: list[str] = []
    refused: list[str] = []
    for upload in uploads:
        typed_extension = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else ""
        shown = safe_display_name(upload.filename, typed_extension.lower() or "?")
        try:
            inspected = await asyncio.to_thread(inspect_document, upload.data, upload.filename)
        except DocumentRefused as exc:
            refused.append(_("{name}: {reason}").format(name=shown, reason=exc.message))
            continue
        storage_name = await asyncio.to_thread(store.save, inspected.content)
        recorded = await _record(
            application_id,
            kind,
            safe_display_name(upload.filename, inspected.extension),
            inspected.content_type,
            inspected.content,
            storage_name,
            engine,
        )
        if recorded is None or recorded[1] is False:  # refused, or this very file is there
            await asyncio.to_thread(store.delete, storage_name)
        if recorded is None:
            refused.append(
                _("{name}: アップロードできるファイルは{count}件までです。").format(
                    name=shown, count=MAX_FILES
                )
            )
            continue
        accepted.append(recorded[0])
    return UploadResult(accepted, refused)


async def _record(
    application_id: int,
    kind: str,
    display_name: str,
    content_type: str,
    content: bytes,
    storage_name: str,
    engine: Engine,
) -> tuple[str, bool] | None:
    """The row, counted under the write lock so two uploads at once cannot pass MAX_FILES:
    (public id, True when added). The same content of the same kind is kept once, so a
    replayed or double-clicked upload finds its document there (False) and adds nothing."""
    public_id = secrets.token_hex(16)
    sha256 = hashlib.sha256(content).hexdigest()
    async with write_transaction(engine):
        query = Application.select(Application.id).where(
            (Application.id == application_id) & (Application.status == states.DRAFT)
        )
        if engine.engine_type == "postgres":  # SQLite's IMMEDIATE transaction already locks
            query = query.lock_rows()
        application = await query.first()
        if application is None:
            return None
        same = (
            await ApplicationDocument.select(ApplicationDocument.public_id)
            .where(
                (ApplicationDocument.application == application_id)
                & (ApplicationDocument.kind == kind)
                & (ApplicationDocument.sha256 == sha256)
            )
            .first()
        )
        if same is not None:
            return str(same["public_id"]), False
        count = await ApplicationDocument.count().where(
            ApplicationDocument.application == application_id
        )
        if count >= MAX_FILES:
            return None
        await ApplicationDocument.insert(
            ApplicationDocument(
                public_id=public_id,
                application=application_id,
                kind=kind,
                display_name=display_name,
                content_type=content_type,
                size=len(content),
                sha256=sha256,
                storage_name=storage_name,
                created_at=utcnow(),
            )
        )
    return public_id, True


async def delete_document(application_id: int, public_id: str, store: DocumentStore) -> bool:
    """Remove one document of a draft (row first, then the file)."""
    draft = await Application.exists().where(
        (Application.id == application_id) & (Application.status == states.DRAFT)
    )
    if not draft:
        return False
    rows = (
        await ApplicationDocument.delete()
        .where(
            (ApplicationDocument.application == application_id)
            & (ApplicationDocument.public_id == public_id)
        )
        .returning(ApplicationDocument.storage_name)
    )
    for row in rows:
        await asyncio.to_thread(store.delete, row["storage_name"])
    return bool(rows)


async def delete_abandoned_drafts(
    now: datetime, store: DocumentStore, batch_size: int = 100
) -> int:
    """One batch of never-submitted drafts untouched for ABANDONED_DRAFT_AGE, with their
    documents (rows, then the encrypted files)."""
    cutoff = now - ABANDONED_DRAFT_AGE
    rows = (
        await Application.select(Application.id)
        .where(
            (Application.status == states.DRAFT)
            & Application.submitted_at.is_null()
            & (Application.updated_at <= cutoff)
        )
        .limit(batch_size)
    )
    ids = [r["id"] for r in rows]
    if not ids:
        return 0
    files = await ApplicationDocument.select(ApplicationDocument.storage_name).where(
        ApplicationDocument.application.is_in(ids)
    )
    await ApplicationDocument.delete().where(ApplicationDocument.application.is_in(ids))
    await ApprovalToken.delete().where(ApprovalToken.application.is_in(ids))
    await StatusChange.delete().where(StatusChange.application.is_in(ids))
    await Application.delete().where(
        Application.id.is_in(ids)
        & (Application.status == states.DRAFT)
        & Application.submitted_at.is_null()
    )
    for row in files:
        await asyncio.to_thread(store.delete, row["storage_name"])
    log.info("deleted %d abandoned drafts", len(ids))
    return len(ids)
