"""Steps of the issuance application in the browser: the form, 本人確認書類, 確認, 完了."""

from __future__ import annotations

import io
import re
import uuid

import pikepdf
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from e2e.conftest import LiveServer
from e2e.pages import htmx_settled, see_page
from e2e.steps_registration import open_link_and_see_application, register

APPLY_FORM = "発行申請情報入力"
DOCUMENTS = "本人確認書類のアップロード"
APPLY_CONFIRM = "発行申請内容の確認"
APPLY_COMPLETE = "発行申請の完了"
RECEIPT_SUBJECT = "発行申請を受け付けました"  # the mail after 申請する
PICKUP_SUBJECT = "証明書を発行しました"  # the mail once the CA has issued
REFERENCE = re.compile(r"^JC-[0-9A-Z]{4}-[0-9A-Z]{4}$")
TEXT_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "family_name_roman",
    "given_name_roman",
    "cert_email",
    "phone",
    "org_name",
    "org_name_en",
    "corporate_number",
    "qualification_number",
    "agent_name",
    "agent_org",
    "agent_phone",
)
# 本人 with an organisation (needs an employment document); 代理人 with a qualification.
SELF_ANSWERS = {
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "family_name_roman": "Yamada",
    "given_name_roman": "Taro",
    "phone": "03-1234-5678",
    "include_org": "yes",
    "org_name": "株式会社サンプル",
    "org_name_en": "Sample Co., Ltd.",
    "corporate_number": "7000012050002",
    "qualification": "none",
    "validity_years": "1",
}
AGENT_ANSWERS = {
    "family_name": "佐藤",
    "given_name": "花子",
    "family_name_kana": "サトウ",
    "given_name_kana": "ハナコ",
    "family_name_roman": "Sato",
    "given_name_roman": "Hanako",
    "phone": "06-1234-5678",
    "include_org": "no",
    "qualification": "JFBA",
    "qualification_number": "12345",
    "validity_years": "2",
    "agent_name": "鈴木 一郎",
    "agent_org": "鈴木法律事務所",
    "agent_phone": "03-9876-5432",
}


def field_id(name: str) -> str:
    return name.replace("_", "-")


def answers_for(applicant_type: str, cert_email: str) -> dict[str, str]:
    """A complete set of answers; cert_email is the registered address (本人) or the
    principal's (代理人)."""
    base = SELF_ANSWERS if applicant_type == "self" else AGENT_ANSWERS
    return {**base, "cert_email": cert_email}


def expected_subject(answers: dict[str, str]) -> list[tuple[str, str]]:
    """The subject lines (CN, O, OU, E) these answers make."""
    lines = [("CN", f"{answers['given_name_roman']} {answers['family_name_roman']}")]
    if answers.get("include_org") == "yes":
        lines += [("O", answers["org_name_en"]), ("OU", f"CN-{answers['corporate_number']}")]
    if answers.get("qualification", "none") != "none":
        lines.append(("OU", f"{answers['qualification']}-{answers['qualification_number']}"))
    return [*lines, ("E", answers["cert_email"])]


def subject_lines(page: Page, within: str = "main") -> list[tuple[str, str]]:
    rows = page.locator(f"{within} .subject__row")
    return [
        (row.locator("dt").inner_text().strip(), row.locator("dd").inner_text().strip())
        for row in rows.all()
    ]


def expect_preview(page: Page, lines: list[tuple[str, str]]) -> None:
    """The subject preview shows these lines, once htmx has brought it up to date (it asks
    200 ms after the last change, so waiting for quiet is not enough)."""
    rows = page.locator("#subject-preview .subject__row")
    expect(rows.locator("dt")).to_have_text([attribute for attribute, _ in lines])
    expect(rows.locator("dd")).to_have_text([value for _, value in lines])


def fill_application(page: Page, answers: dict[str, str], *, js: bool = True) -> None:
    """Answer the form in page order. With JS each field left is checked inline (and saved);
    ends with focus off the last text field, so no check is left to start on submit."""
    for name, value in answers.items():
        if name == "include_org":
            page.locator("#include-org" if value == "yes" else "#include-org-no").check()
        elif name == "validity_years":
            page.locator("#validity-years" if value == "1" else "#validity-years-2").check()
        elif name == "qualification":
            page.locator("#qualification").select_option(value)
        elif name == "key_source":
            page.locator("#key-source" if value == "generated" else "#key-source-csr").check()
        else:
            page.locator(f"#{field_id(name)}").fill(value)
    page.locator("h1").click()  # leaves the last field: its change event fires now
    if js:
        htmx_settled(page)


def expect_answers(page: Page, answers: dict[str, str]) -> None:
    """The form shows these answers (a draft reopened, or the page after a failed submit)."""
    for name, value in answers.items():
        if name in TEXT_FIELDS:
            expect(page.locator(f"#{field_id(name)}")).to_have_value(value)
        elif name == "qualification":
            expect(page.locator("#qualification")).to_have_value(value)
        else:
            radio = page.locator(f"input[name={name}][value='{value}']")
            expect(radio).to_be_checked()


def next_to_documents(page: Page, live_server: LiveServer) -> None:
    page.get_by_role("button", name="次へ（本人確認書類）").click()
    see_page(page, live_server, "/apply/documents", DOCUMENTS)


def png_file(name: str, color: tuple[int, int, int] = (40, 90, 160)) -> FilePayload:
    """A small PNG, as a phone photo of an ID card would be (only much smaller)."""
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), color).save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


def pdf_file(name: str) -> FilePayload:
    """A one-page PDF, as a scanned certificate would be."""
    buffer = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        pdf.save(buffer)
    return {"name": name, "mimeType": "application/pdf", "buffer": buffer.getvalue()}


def fake_pdf_file(name: str = "fake.pdf") -> FilePayload:
    """Plain text wearing a .pdf name: the server judges by content and refuses it."""
    return {"name": name, "mimeType": "application/pdf", "buffer": b"not a PDF at all\n" * 20}


def upload(page: Page, live_server: LiveServer, kind: str, *files: FilePayload) -> None:
    """Choose the kind and the files, press アップロード: back on the list with them in it."""
    page.locator("#kind").select_option(kind)
    page.locator("#documents").set_input_files(list(files))
    page.get_by_role("button", name="アップロード").click()
    see_page(page, live_server, "/apply/documents", DOCUMENTS)
    expect(page.locator("#error-summary")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text(f"{len(files)}件のファイルをアップロード")
    names = page.locator(".documents__name")
    for file in files:
        expect(names.filter(has_text=file["name"])).to_have_count(1)


def upload_refused(page: Page, live_server: LiveServer, file: FilePayload) -> None:
    """A file the server refuses: 422, the reason next to the file field, nothing stored."""
    page.locator("#kind").select_option("other")
    page.locator("#documents").set_input_files([file])
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url == live_server.url("/apply/documents")
    ) as answered:
        page.get_by_role("button", name="アップロード").click()
    assert answered.value.status == 422, answered.value.status
    expect(page.locator("h1")).to_have_text(DOCUMENTS)
    expect(page).to_have_title(re.compile(r"^エラー: "))
    expect(page.locator("#documents-error")).to_contain_text(file["name"])
    described = page.locator("#documents").get_attribute("aria-describedby") or ""
    assert "documents-error" in described.split(), described
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator(".documents__name").filter(has_text=file["name"])).to_have_count(0)


def upload_required(
    page: Page, live_server: LiveServer, answers: dict[str, str]
) -> list[FilePayload]:
    """The documents this application needs (and an ID back side): returns what was sent."""
    sent = [png_file("menkyo-omote.png"), png_file("menkyo-ura.png", (90, 40, 160))]
    upload(page, live_server, "id_front", sent[0])
    upload(page, live_server, "id_back", sent[1])
    if answers.get("include_org") == "yes":
        sent.append(pdf_file("zaiseki-shomei.pdf"))
        upload(page, live_server, "employment", sent[-1])
    if answers.get("qualification", "none") != "none":
        sent.append(pdf_file("shikakusha-sho.pdf"))
        upload(page, live_server, "qualification", sent[-1])
    return sent


def next_to_confirm(page: Page, live_server: LiveServer) -> None:
    page.get_by_role("button", name="次へ（確認）").click()
    see_page(page, live_server, "/apply/confirm", APPLY_CONFIRM)


def submit_application(page: Page, live_server: LiveServer) -> str:
    """Agree and 申請する on 確認: 完了 with the 受付番号, which is returned."""
    page.locator("#agree").check()
    page.get_by_role("button", name="申請する").click()
    see_page(page, live_server, "/apply/complete", APPLY_COMPLETE)
    reference = page.locator(".reference strong").inner_text().strip()
    assert REFERENCE.match(reference), reference
    return reference


def apply_until_complete(
    page: Page,
    live_server: LiveServer,
    applicant_type: str,
    *,
    principal: str = "",
    js: bool = True,
    extra: dict[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """Registration to 発行申請の完了 along the happy path (`extra`: more answers, such as
    鍵の作成's CSR). Returns (agent's/applicant's address, answers). The reference is on the
    page."""
    ticket = live_server.issue_ticket()
    address = f"e2e-apply-{applicant_type}-{uuid.uuid4().hex[:10]}@example.com"
    link = register(page, live_server, ticket, address, applicant_type, js=js)
    open_link_and_see_application(page, live_server, link, ticket)
    answers = {**answers_for(applicant_type, principal or address), **(extra or {})}
    fill_application(page, answers, js=js)
    next_to_documents(page, live_server)
    upload_required(page, live_server, answers)
    next_to_confirm(page, live_server)
    submit_application(page, live_server)
    # The receipt, sent after the commit: waited for here, so that a caller counting this
    # address's mail from now on does not count it as the next one.
    live_server.wait_for_mail(address, subject=RECEIPT_SUBJECT)
    return address, answers
