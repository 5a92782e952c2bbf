"""Decisions through the console's pages: the forms' messages (422, nothing changed), the
correction round trip for both applicant types (the mailed link, the marked fields, the
resubmission back in the queue with its history, the principal approving again), approval
by a second operator, rejection mailed with the ticket's reuse, and the decide race over
HTTP."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from app.application import workflow
from app.application.tables import Application
from app.registration.tables import Ticket
from tests.helpers import (
    AGENT,
    AGENT_ANSWERS,
    CSRF,
    GOOD_ANSWERS,
    PRINCIPAL,
    approval_link_in,
    error_of,
    fill_form,
    link_in,
    open_approval,
    operator_client,
    submit_application,
    submitted,
    text_body,
    title,
    wait_for_mail,
)

CHECKS = {
    f"check_{n}": "yes"
    for n in ("name_matches", "employment_matches", "corporate_number", "document_valid")
}


async def row_of(reference: str) -> dict[str, Any]:
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    return dict(row)


async def post(browser: Any, reference: str, action: str, **data: str) -> Any:
    """Open the application's page and post one of its forms."""
    url = f"/console/applications/{(await row_of(reference))['public_id']}"
    page = await browser.get(url)
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    return await browser.post(f"{url}/{action}", data={"_csrf_token": csrf, **data})


async def test_a_correction_round_trip_for_a_self_application(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    reference = await submitted(client, smtp_sink)
    async with operator_client(app, "reviewer", name="審査 一郎") as reviewer:
        assert (await post(reviewer, reference, "claim")).status_code == 303
        refused = await post(reviewer, reference, "correct", fix_family_name="yes")
        assert refused.status_code == 422 and title(refused.text).startswith("エラー")
        assert error_of(refused.text, "message") == "申請者へのメッセージを入力してください。"
        assert (await row_of(reference))["status"] == "in_review"
        sent = await post(
            reviewer,
            reference,
            "correct",
            fix_family_name="yes",
            fix_documents="yes",
            message="本人確認書類の姓と一致しません。",
        )
        assert sent.status_code == 303 and sent.headers["location"].endswith("notice=correct")
        assert "修正依頼中（1件）" in (await reviewer.get("/console")).text

        mail = (await wait_for_mail(smtp_sink, "taro@example.com", 3))[-1]
        assert "本人確認書類の姓と一致しません。" in text_body(mail)
        opened = await client.get(link_in(mail), follow_redirects=False)
        assert opened.headers["location"] == "/apply"
        form = await client.get("/apply")
        assert "LRAから申請内容の修正を依頼されました" in form.text
        assert "本人確認書類の姓と一致しません。" in form.text
        hint = form.text.split('id="family-name-hint"')[1][:80]
        assert "LRAから修正を依頼された項目です" in hint
        assert form.text.count("【LRAから修正を依頼された項目です】") == 1  # only the family name
        assert (await row_of(reference))["status"] == "draft"
        assert "修正依頼中（1件）" in (await reviewer.get("/console")).text  # being corrected

        csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
        corrected = await fill_form(client, csrf, {**GOOD_ANSWERS, "family_name": "山本"})
        assert corrected.status_code == 303
        done = await submit_application(client, csrf)
        assert done.headers["location"] == "/apply/complete"
        row = await row_of(reference)
        assert row["status"] == "submitted" and row["correction"] == ""
        moves = [(c["from_status"], c["to_status"]) for c in await workflow.history(row["id"])]
        assert moves[-4:] == [
            ("submitted", "in_review"),
            ("in_review", "correction_requested"),
            ("correction_requested", "draft"),
            ("draft", "submitted"),
        ]
        queue = await reviewer.get("/console")
        assert "審査待ち（1件）" in queue.text and "山本 太郎" in queue.text

        # reviewed again: recommended by the reviewer, approved by an approver
        assert (await post(reviewer, reference, "claim")).status_code == 303
        assert (await post(reviewer, reference, "recommend", **CHECKS)).status_code == 303
    async with operator_client(app, "approver", name="承認 花子") as approver:
        unticked = await post(approver, reference, "approve")
        assert unticked.status_code == 422
        assert (
            error_of(unticked.text, "checklist") == "確認項目をすべて確認してから承認してください。"
        )
        approved = await post(approver, reference, "approve", **CHECKS)
        assert approved.headers["location"].endswith("notice=approve")
        assert (await row_of(reference))["status"] == "approved"
        assert "承認済み（1件）" in (await approver.get("/console")).text


async def test_after_a_correction_the_principal_approves_again(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    reference = await submitted(client, smtp_sink, "agent")
    async with operator_client(app, "reviewer") as reviewer:
        await post(reviewer, reference, "claim")
        sent = await post(
            reviewer, reference, "correct", fix_phone="yes", message="電話番号を確認してください。"
        )
        assert sent.status_code == 303
    mail = (await wait_for_mail(smtp_sink, AGENT, 4))[-1]
    assert "電話番号を確認してください。" in text_body(mail)
    await client.get(link_in(mail))
    form = await client.get("/apply")
    csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    await fill_form(client, csrf, {**AGENT_ANSWERS, "phone": "03-9999-0000"})
    done = await submit_application(client, csrf)
    assert done.headers["location"] == "/apply/complete"
    assert (await row_of(reference))["status"] == "awaiting_principal"
    request = (await wait_for_mail(smtp_sink, PRINCIPAL, 2))[-1]
    await open_approval(client, approval_link_in(request))
    csrf = CSRF.search((await client.get("/approve")).text).group(1)  # type: ignore[union-attr]
    await client.post("/approve", data={"_csrf_token": csrf, "decision": "approve", "agree": "yes"})
    assert (await row_of(reference))["status"] == "principal_approved"


async def test_a_rejection_is_mailed_and_the_ticket_freed_when_chosen(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    reference = await submitted(client, smtp_sink)
    async with operator_client(app, "reviewer") as reviewer:
        await post(reviewer, reference, "claim")
        refused = await post(reviewer, reference, "reject", reason="other")
        assert refused.status_code == 422
        assert (
            error_of(refused.text, "reject-text")
            == "「その他」を選んだ場合は、理由を入力してください。"
        )
        assert error_of(refused.text, "ticket-reusable").startswith("チケットを再度使えるように")
        done = await post(
            reviewer,
            reference,
            "reject",
            reason="corporate_number",
            reject_text="番号をご確認ください。",
            ticket_reusable="yes",
        )
        assert done.headers["location"].endswith("notice=reject")
    row = await row_of(reference)
    assert row["status"] == "rejected"
    ticket = await Ticket.select().where(Ticket.id == row["ticket"]).first()
    assert ticket is not None and ticket["used_at"] is None
    body = text_body((await wait_for_mail(smtp_sink, "taro@example.com", 3))[-1])
    assert "法人番号と組織名が一致しませんでした。" in body and "番号をご確認ください。" in body


async def test_of_two_approvers_deciding_at_once_one_wins_and_the_other_is_told(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    services = app.state.services
    services.settings = replace(
        services.settings, review=replace(services.settings.review, approvals=2)
    )
    reference = await submitted(client, smtp_sink)
    async with operator_client(app, "reviewer") as reviewer:
        await post(reviewer, reference, "claim")
        await post(reviewer, reference, "recommend", **CHECKS)
    async with (
        operator_client(app, "approver", "a1@example.jp", "承認 一") as first,
        operator_client(app, "approver", "a2@example.jp", "承認 二") as second,
    ):
        url = f"/console/applications/{(await row_of(reference))['public_id']}"
        tokens = [CSRF.search((await b.get(url)).text).group(1) for b in (first, second)]  # type: ignore[union-attr]
        answers = await asyncio.gather(
            first.post(f"{url}/approve", data={"_csrf_token": tokens[0], **CHECKS}),
            second.post(
                f"{url}/reject",
                data={
                    "_csrf_token": tokens[1],
                    "reason": "other",
                    "reject_text": "重複",
                    "ticket_reusable": "no",
                },
            ),
        )
        notices = sorted(a.headers["location"].rsplit("=", 1)[1] for a in answers)
        assert notices in (["approve", "taken"], ["reject", "taken"]), notices
        loser = answers[0] if answers[0].headers["location"].endswith("taken") else answers[1]
        browser = first if loser is answers[0] else second
        told = await browser.get(loser.headers["location"])
        assert "他のオペレーターが先にこの申請を操作した" in told.text
    assert (await row_of(reference))["status"] in ("approved", "rejected")


async def test_with_four_eyes_the_page_tells_the_recommender_why_they_may_not_approve(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    services = app.state.services
    services.settings = replace(
        services.settings, review=replace(services.settings.review, approvals=2)
    )
    reference = await submitted(client, smtp_sink)
    why = "この申請の承認を推薦したのはあなたです。推薦した人は承認できません。"
    async with (
        operator_client(app, "approver", "a1@example.jp", "承認 一") as first,
        operator_client(app, "approver", "a2@example.jp", "承認 二") as second,
    ):
        await post(first, reference, "claim")
        held = await post(first, reference, "approve", **CHECKS)  # four-eyes: not offered
        assert held.status_code == 303 and held.headers["location"].endswith("notice=taken")
        assert (await row_of(reference))["status"] == "in_review"
        assert (await post(first, reference, "recommend", **CHECKS)).status_code == 303
        url = f"/console/applications/{(await row_of(reference))['public_id']}"
        mine = await first.get(url)
        assert why in mine.text and "承認 一が承認を推薦しました。" in mine.text
        assert f'action="{url}/approve"' not in mine.text
        refused = await post(first, reference, "approve", **CHECKS)
        assert refused.headers["location"].endswith("notice=taken")
        assert (await row_of(reference))["status"] == "recommended"
        other = await second.get(url)
        assert why not in other.text and f'action="{url}/approve"' in other.text
        assert (await post(second, reference, "approve", **CHECKS)).status_code == 303
    assert (await row_of(reference))["status"] == "approved"
