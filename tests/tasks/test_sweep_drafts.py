"""Abandoned drafts: removed with their encrypted files, and only those."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from app.application.storage import store_for
from app.application.tables import Application, ApplicationDocument
from app.application.uploads import ABANDONED_DRAFT_AGE
from app.db import utcnow
from app.registration.tables import Ticket
from tasks import sweep
from tests.helpers import insert_registration


@pytest.mark.parametrize("seed", range(4))
async def test_sweep_removes_only_old_never_submitted_drafts_and_their_files(
    client, settings, seed, monkeypatch
):
    rng = random.Random(seed)
    now = utcnow()
    store = store_for(settings)
    ticket = await Ticket.select(Ticket.id, Ticket.company).first()
    expected_gone: set[int] = set()
    files: dict[int, list[str]] = {}
    for i in range(rng.randint(3, 15)):
        registration = await insert_registration(
            ticket, f"01DRAFT{seed:04d}{i:015d}", "d@example.com", now
        )
        age = rng.choice([ABANDONED_DRAFT_AGE, timedelta(0)]) + timedelta(
            seconds=rng.choice([-1, 1]) * rng.randint(1, 10**5)
        )
        status = rng.choice(["draft", "draft", "submitted", "principal_declined"])
        submitted = status != "draft" or rng.random() < 0.2
        application = (
            await Application.insert(
                Application(
                    public_id=f"01APP{seed:04d}{i:017d}",
                    registration=registration,
                    ticket=ticket["id"],
                    applicant_type="self",
                    status=status,
                    updated_at=now - age,
                    submitted_at=now - age if submitted else None,
                )
            ).returning(Application.id)
        )[0]["id"]
        files[application] = []
        for j in range(rng.randint(0, 3)):
            name = store.save(b"document")
            files[application].append(name)
            await ApplicationDocument.insert(
                ApplicationDocument(
                    public_id=f"{seed:02d}{i:03d}{j:02d}".ljust(32, "0"),
                    application=application,
                    display_name="x.pdf",
                    content_type="application/pdf",
                    size=8,
                    sha256="0" * 64,
                    storage_name=name,
                )
            )
        if status == "draft" and not submitted and age >= ABANDONED_DRAFT_AGE:
            expected_gone.add(application)

    monkeypatch.setattr(sweep, "MAX_BATCHES", 1000)
    ctx = {"now": now, "sweep_batch_size": rng.randint(1, 4), "settings": settings}
    counts = await sweep.sweep_expired(ctx)
    assert counts["abandoned_drafts"] == len(expected_gone)
    remaining = {r["id"] for r in await Application.select(Application.id)}
    assert remaining == set(files) - expected_gone
    for application, names in files.items():
        for name in names:
            assert store.exists(name) is (application not in expected_gone)
    assert (await sweep.sweep_expired(ctx))["abandoned_drafts"] == 0
