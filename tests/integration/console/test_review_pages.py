"""The review's pages: the queue (tabs with counts, search, keyset pages, htmx fragment), one
application (answers, subject DN, agent and principal, history, documents as images, PDFs
rendered on the server), who may open them, and the audit rows every view writes."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

from PIL import Image

from app.application import workflow
from app.application.tables import Application, ApplicationDocument
from app.application.workflow import Actor
from app.console.audit.tables import AuditEvent
from app.console.review import queue
from app.db import write_transaction
from app.registration.companies import issue_tickets
from app.registration.tables import Company
from tests.helpers import (
    CSRF,
    operator_client,
    pdf_bytes,
    submitted,
    title,
)

REF = re.compile(r'<a href="/console/applications/([0-9A-Z]+)">(JC-[0-9A-Z-]+)</a>')
IMAGES = re.compile(r'<img src="([^"]+)"')


async def public_id_of(reference: str) -> str:
    row = (
        await Application.select(Application.public_id)
        .where(Application.reference == reference)
        .first()
    )
    assert row is not None
    return str(row["public_id"])


async def test_the_queue_is_the_home_with_tabs_counts_and_what_waits(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    reference = await submitted(client, smtp_sink)
    async with operator_client(app, "reviewer") as reviewer:
        home = await reviewer.get("/console")
        assert home.status_code == 200 and "審査待ち（1件）" in home.text
        assert "審査中（0件）" in home.text and "却下（0件）" in home.text
        assert [ref for _pid, ref in REF.findall(home.text)] == [reference]
        assert "山田 太郎" in home.text and "ヤマダ タロウ" in home.text and "ISC" in home.text
        listed = await AuditEvent.select().where(AuditEvent.action == "application.list").first()
        assert listed is not None and reference in listed["details"]
        assert (await reviewer.get("/console/applications?tab=in_review")).text.count("JC-") == 0


async def test_the_queue_escapes_what_people_typed(client: Any, app: Any, smtp_sink: Any) -> None:
    """The queue's rows print the portal's own values as they are (templates/console/review/
    queue.html.jinja2): the names and the company code, typed by people, are escaped."""
    reference = await submitted(client, smtp_sink)
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    answers = {
        **json.loads(row["answers"]),
        "family_name": '<b>"山田"</b>',
        "given_name": "&太郎'",
        "family_name_kana": "<i>ヤマダ",
    }
    await Application.update({Application.answers: json.dumps(answers)}).where(
        Application.id == row["id"]
    )
    await Company.update({Company.code: "I<S>C"}).where(Company.code == "ISC")
    async with operator_client(app, "reviewer") as reviewer:
        home = await reviewer.get("/console")
    assert home.status_code == 200 and reference in home.text
    assert "&lt;b&gt;&#34;山田&#34;&lt;/b&gt; &amp;太郎&#39;" in home.text
    assert "&lt;i&gt;ヤマダ タロウ" in home.text and "<td>I&lt;S&gt;C</td>" in home.text
    assert "<b>" not in home.text and "<i>" not in home.text and "I<S>C" not in home.text


async def test_admins_may_not_see_applications(client: Any, app: Any, smtp_sink: Any) -> None:
    reference = await submitted(client, smtp_sink)
    public_id = await public_id_of(reference)
    async with operator_client(app, "admin") as admin:
        home = await admin.get("/console")
        assert home.status_code == 200 and reference not in home.text
        assert (await admin.get("/console/applications")).status_code == 403
        assert (await admin.get(f"/console/applications/{public_id}")).status_code == 403
    assert await AuditEvent.count().where(AuditEvent.action == "application.view") == 0


async def test_search_by_reference_company_name_in_any_script_and_email(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    reference = await submitted(client, smtp_sink)
    async with operator_client(app, "reviewer") as reviewer:
        for q in (
            reference,
            reference.lower(),
            "isc",
            "山田",
            "ヤマダ",
            "yamada",
            "TARO@example",
            "taro@EXAMPLE.com",
        ):
            found = await reviewer.get("/console/applications", params={"tab": "waiting", "q": q})
            assert reference in found.text, q
        for q in ("鈴木", "JC-0000-0000", "OTHER", "%", "_"):
            found = await reviewer.get("/console/applications", params={"tab": "waiting", "q": q})
            assert reference not in found.text and "該当する申請はありません。" in found.text, q
        assert (await reviewer.get("/console/applications?tab=made-up")).status_code == 400
        assert (await reviewer.get("/console/applications?after=x")).status_code == 400


async def test_keyset_pages_oldest_first_both_ways(
    client: Any, app: Any, smtp_sink: Any, monkeypatch: Any
) -> None:
    numbers = [*client.tickets, *await issue_tickets("ISC", 2)]
    for n, number in enumerate(numbers):
        await submitted(client, smtp_sink, email=f"p{n}@example.com", ticket_number=number)
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    async with operator_client(app, "reviewer") as reviewer:
        first = await reviewer.get("/console/applications")
        refs = [ref for _p, ref in REF.findall(first.text)]
        assert len(refs) == 2 and "before=" not in first.text
        later = re.search(r'href="(/console/applications\?tab=waiting&amp;after=\d+)"', first.text)
        assert later
        second = await reviewer.get(later.group(1).replace("&amp;", "&"))
        refs2 = [ref for _p, ref in REF.findall(second.text)]
        assert len(refs2) == 2 and not set(refs) & set(refs2)
        earlier = re.search(
            r'href="(/console/applications\?tab=waiting&amp;before=\d+)"', second.text
        )
        assert earlier
        back = await reviewer.get(earlier.group(1).replace("&amp;", "&"))
        assert [ref for _p, ref in REF.findall(back.text)] == refs
        fragment = await reviewer.get(
            later.group(1).replace("&amp;", "&"),
            headers={"HX-Request": "true", "HX-Target": "queue-results"},
        )
        assert fragment.text.lstrip().startswith('<div id="queue-results">')
        assert "<html" not in fragment.text


async def test_a_tab_of_two_states_pages_them_merged_in_order_both_ways(
    client: Any, smtp_sink: Any, monkeypatch: Any
) -> None:
    """審査待ち holds `submitted` and `principal_approved`: each state is read in index order
    and the page is the first rows of both, so they interleave by submission time."""
    numbers = [*client.tickets, *await issue_tickets("ISC", 3)]
    for n, number in enumerate(numbers):
        await submitted(client, smtp_sink, email=f"m{n}@example.com", ticket_number=number)
    rows = await Application.select(Application.id, Application.submitted_at).order_by(
        Application.submitted_at
    )
    # Alternate the states, and make the order by time the reverse of the order by id.
    base = rows[0]["submitted_at"]
    for n, row in enumerate(rows):
        status = "principal_approved" if n % 2 else "submitted"
        at = base + timedelta(minutes=len(rows) - n)
        await Application.update({Application.status: status, Application.submitted_at: at}).where(
            Application.id == row["id"]
        )
    expected = [row["id"] for row in reversed(rows)]
    waiting = queue.tab_named("waiting")
    assert waiting is not None
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    seen: list[int] = []
    page = await queue.page(waiting)
    pages = [page]
    while True:
        seen += [int(r["id"]) for r in page.rows]
        if page.later is None:
            break
        page = await queue.page(waiting, after=page.later)
        pages.append(page)
    assert seen == expected
    assert [len(p.rows) for p in pages] == [2, 2, 2]
    back = await queue.page(waiting, before=pages[-1].rows[0]["id"])
    assert [int(r["id"]) for r in back.rows] == expected[2:4]
    assert await queue.counts() == {**{t.name: 0 for t in queue.tabs()}, "waiting": 6}


async def test_the_tabs_counts_are_kept_a_moment_and_counted_again_after_a_move(
    client: Any, smtp_sink: Any, monkeypatch: Any
) -> None:
    """The queue's tab counts (queue.recent_counts) are kept for COUNTS_FRESH_FOR seconds;
    a status change made in this process has them counted again at once."""
    reference = await submitted(client, smtp_sink)
    assert (await queue.recent_counts())["waiting"] == 1
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    # A change that no move of this process made (another process's): kept figures still.
    await Application.update({Application.status: "rejected"}).where(Application.id == row["id"])
    assert (await queue.recent_counts())["waiting"] == 1
    monkeypatch.setattr(queue, "COUNTS_FRESH_FOR", 0.0)  # ... until they are too old
    assert (await queue.recent_counts()) == {**{t.name: 0 for t in queue.tabs()}, "rejected": 1}
    monkeypatch.setattr(queue, "COUNTS_FRESH_FOR", 3600.0)
    await Application.update({Application.status: "submitted"}).where(Application.id == row["id"])
    assert (await queue.recent_counts())["rejected"] == 1  # kept
    row = await Application.select().where(Application.id == row["id"]).first()
    assert row is not None
    async with write_transaction(Application._meta.db):
        assert await workflow.move(row, "in_review", Actor.operator(1)) is not None
    assert (await queue.recent_counts()) == {**{t.name: 0 for t in queue.tabs()}, "in_review": 1}


async def test_one_application_shows_answers_subject_history_and_documents_audited(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    reference = await submitted(client, smtp_sink)
    public_id = await public_id_of(reference)
    async with operator_client(app, "reviewer", name="審査 一郎") as reviewer:
        page = await reviewer.get(f"/console/applications/{public_id}")
        assert page.status_code == 200 and title(page.text).startswith(f"申請 {reference}")
        for text in (
            "CN",
            "Taro Yamada",
            "Sample Co., Ltd.",
            "CN-7000012050002",
            "taro@example.com",
            "株式会社サンプル",
        ):
            assert text in page.text, text
        assert (
            "https://www.houjin-bangou.nta.go.jp/henkorireki-johoto.html?selHouzinNo=7000012050002"
            in page.text
        )
        assert "入力中 → 申請済み" in page.text and "申請者" in page.text
        assert "担当する" in page.text
        images = IMAGES.findall(page.text)
        assert len(images) == 2  # id_front and employment, PNGs
        shown = await reviewer.get(images[0])
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(shown.content)).size == (64, 40)
        assert "no-store" in shown.headers["cache-control"]
        assert (await reviewer.get(images[0].replace("/pages/1", "/pages/2"))).status_code == 404
        viewed = await AuditEvent.select().where(AuditEvent.action == "application.view").first()
        assert viewed is not None and viewed["target"] == f"application:{reference}"
        document = await AuditEvent.select().where(AuditEvent.action == "document.view").first()
        assert document is not None and '"page":1' in document["details"]
        # the claim, then the history names the operator
        claimed = await reviewer.post(
            f"/console/applications/{public_id}/claim",
            data={"_csrf_token": CSRF.search(page.text).group(1)},  # type: ignore[union-attr]
        )
        assert claimed.status_code == 303
        after = await reviewer.get(claimed.headers["location"])
        assert (
            "この申請の担当になりました。" in after.text and "オペレーター 審査 一郎" in after.text
        )
        assert "審査中（1件）" in (await reviewer.get("/console")).text


async def test_a_pdf_is_shown_as_page_images_rendered_on_the_server(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    reference = await submitted(client, smtp_sink)
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    # a PDF document added to the stored application, as an upload would have stored it
    from app.application.storage import store_for

    store = store_for(app.state.services.settings)
    content = pdf_bytes()
    await ApplicationDocument.insert(
        ApplicationDocument(
            public_id="d" * 32,
            application=row["id"],
            kind="other",
            display_name="extra.pdf",
            content_type="application/pdf",
            size=len(content),
            sha256="0" * 64,
            storage_name=store.save(content),
        )
    )
    async with operator_client(app, "auditor") as auditor:  # read-only, may view
        page = await auditor.get(f"/console/applications/{row['public_id']}")
        assert "PDF、1ページ" in page.text and "担当する" not in page.text
        url = f"/console/applications/{row['public_id']}/documents/{'d' * 32}/pages/1"
        assert url in page.text
        shown = await auditor.get(url)
        assert shown.headers["content-type"] == "image/png" and shown.content.startswith(b"\x89PNG")
        assert b"%PDF" not in shown.content
        assert Image.open(io.BytesIO(shown.content)).size == (300, 300)  # 200 pt at 1.5
        # Counted once, kept in its row: the next view needs neither the file nor PDFium.
        stored = (
            await ApplicationDocument.select()
            .where(ApplicationDocument.public_id == "d" * 32)
            .first()
        )
        assert stored is not None and stored["page_count"] == 1
        store.delete(stored["storage_name"])
        again = await auditor.get(f"/console/applications/{row['public_id']}")
        assert again.status_code == 200 and "PDF、1ページ" in again.text
