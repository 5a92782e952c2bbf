"""Identity documents: only real PDF, JPEG and PNG files are accepted, judged by content;
active content, polyglots and bombs are refused; images come back without metadata."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, Pdf, String
from PIL import ExifTags, Image, PngImagePlugin

from app.application import documents
from app.application.documents import (
    MAX_BYTES,
    DocumentRefused,
    inspect_document,
    safe_display_name,
)

# --- fixtures made in code ---------------------------------------------------------------


def pdf_bytes(build: Callable[[Pdf], None] | None = None, **save: object) -> bytes:
    pdf = Pdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    if build:
        build(pdf)
    out = io.BytesIO()
    pdf.save(out, **save)  # type: ignore[arg-type]
    return out.getvalue()


def compact_pdf(build: Callable[[Pdf], None]) -> bytes:
    """The same PDF with its dictionaries packed into compressed object streams, so the
    names are not in the raw bytes and only the structural walk can find them."""
    return pdf_bytes(build, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def png_bytes(size: tuple[int, int] = (32, 16), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "PNG", **save)
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (40, 20), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", **save)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares huge dimensions with almost no data (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def refusal(data: bytes, filename: str = "upload.pdf") -> str:
    with pytest.raises(DocumentRefused) as caught:
        inspect_document(data, filename)
    return caught.value.message


def javascript_open_action(pdf: Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=String("app.alert('x')"))


def javascript_in_names_tree(pdf: Pdf) -> None:
    action = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert('x')")))
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), action])))


def javascript_in_annotation(pdf: Pdf) -> None:
    link = Dictionary(
        Type=Name.Annot,
        Subtype=Name.Link,
        Rect=Array([0, 0, 100, 100]),
        A=Dictionary(S=Name.JavaScript, JS=String("app.alert('x')")),
    )
    pdf.pages[0].Annots = pdf.make_indirect(Array([pdf.make_indirect(link)]))


def javascript_in_page_additional_actions(pdf: Pdf) -> None:
    # Only a /JS key, no /S: readers still run it.
    pdf.pages[0].AA = Dictionary(O=Dictionary(JS=String("app.alert('x')")))


def embedded_file(pdf: Pdf) -> None:
    pdf.attachments["secret.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ payload")


def launch_action(pdf: Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(S=Name.Launch, F=String("cmd.exe"))


def xfa_form(pdf: Pdf) -> None:
    pdf.Root.AcroForm = Dictionary(Fields=Array([]), XFA=pdf.make_stream(b"<xdp:xdp/>"))


JAVASCRIPT = "JavaScriptを含むPDFはアップロードできません。"
ATTACHMENT = "添付ファイルを含むPDFはアップロードできません。"
POLYGLOT = "複数の形式として解釈できるファイル（画像とPDFの混在など）はアップロードできません。"
CORRUPT = "ファイルが壊れているため読み込めません。"
NOT_ALLOWED = "PDF、JPEG、PNG以外の形式のファイルはアップロードできません。"

# --- accepted ----------------------------------------------------------------------------


def test_a_plain_pdf_is_accepted_unchanged():
    data = pdf_bytes()
    result = inspect_document(data, "passport.pdf")
    assert result.content == data
    assert (result.content_type, result.extension) == ("application/pdf", "pdf")


def test_a_png_is_accepted_and_reencoded():
    result = inspect_document(png_bytes(), "card.png")
    assert (result.content_type, result.extension) == ("image/png", "png")
    with Image.open(io.BytesIO(result.content)) as image:
        assert image.format == "PNG" and image.size == (32, 16)


def test_a_jpeg_is_accepted_and_reencoded():
    result = inspect_document(jpeg_bytes(), "card.jpeg")
    assert (result.content_type, result.extension) == ("image/jpeg", "jpg")
    with Image.open(io.BytesIO(result.content)) as image:
        assert image.format == "JPEG" and image.size == (40, 20)


def test_the_type_comes_from_the_content_not_the_filename():
    assert inspect_document(png_bytes(), "scan.pdf").extension == "png"
    assert inspect_document(pdf_bytes(), "photo.jpg").extension == "pdf"


def test_jpeg_exif_with_gps_is_removed_and_orientation_applied():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° to display
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (35.0, 41.0, 22.0),
    }
    original = jpeg_bytes(exif=exif, icc_profile=b"icc-profile-bytes" * 4)
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS

    result = inspect_document(original, "photo.jpg")

    with Image.open(io.BytesIO(result.content)) as after:
        assert dict(after.getexif()) == {}
        assert "icc_profile" not in after.info and "exif" not in after.info
        assert after.size == (20, 40)  # turned upright, the tag no longer needed
    assert b"PhoneMaker" not in result.content


def test_png_text_chunks_and_profile_are_removed():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "applicant-home-address")
    original = png_bytes(pnginfo=text, icc_profile=b"icc-profile-bytes" * 4)
    with Image.open(io.BytesIO(original)) as before:
        assert "Comment" in before.info and "icc_profile" in before.info
    result = inspect_document(original, "card.png")
    assert b"applicant-home-address" not in result.content
    with Image.open(io.BytesIO(result.content)) as image:
        assert "Comment" not in image.info and "icc_profile" not in image.info


@pytest.mark.parametrize("make", [png_bytes, jpeg_bytes], ids=["png", "jpeg"])
def test_bytes_trailing_an_image_are_dropped(make: Callable[[], bytes]):
    result = inspect_document(make() + b"TRAILING-PAYLOAD", "image")
    assert b"TRAILING-PAYLOAD" not in result.content


def pdf_of_exact_size(size: int) -> bytes:
    """A valid PDF exactly `size` bytes long (an uncompressed padding stream is resized
    until the file fits)."""
    padding = size - len(pdf_bytes())
    for _ in range(10):

        def pad(pdf: Pdf, length: int = padding) -> None:
            pdf.Root.Padding = pdf.make_stream(b"0" * length)

        data = pdf_bytes(pad, compress_streams=False)
        if len(data) == size:
            return data
        padding += size - len(data)
    raise AssertionError("could not pad the PDF to the size")


def test_a_file_of_exactly_the_maximum_size_is_accepted():
    data = pdf_of_exact_size(MAX_BYTES)
    assert len(data) == MAX_BYTES
    assert inspect_document(data, "big.pdf").content == data


# --- refused: size and type --------------------------------------------------------------


def test_an_empty_file_is_refused():
    assert refusal(b"") == "ファイルが空です。"


def test_one_byte_over_the_maximum_is_refused_showing_the_size():
    data = pdf_bytes() + b"\n" * (MAX_BYTES + 1 - len(pdf_bytes()))
    assert len(data) == MAX_BYTES + 1
    assert refusal(data) == "ファイルサイズが4MBを超えています（4.1MB）。"


def test_the_size_is_shown_to_one_decimal():
    assert "（5.2MB）" in refusal(b"%PDF-" + b"0" * int(5.2 * 1024 * 1024 - 5))


@pytest.mark.parametrize("filename", ["invoice.pdf", "photo.png", "photo.jpg"])
def test_html_renamed_to_an_allowed_extension_is_refused_as_html(filename: str):
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    assert refusal(html, filename) == f"{NOT_ALLOWED}（判定された形式: HTML）"


def test_a_text_file_is_refused_as_text():
    message = refusal("本人確認書類です。\n".encode(), "id.pdf")
    assert message == f"{NOT_ALLOWED}（判定された形式: テキスト）"


def test_a_zip_file_is_refused_as_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("id.pdf", pdf_bytes())
    assert refusal(out.getvalue(), "id.pdf") == f"{NOT_ALLOWED}（判定された形式: ZIP）"


def test_an_executable_is_refused_as_exe():
    assert (
        refusal(b"MZ\x90\x00" + b"\x00" * 256, "id.png") == f"{NOT_ALLOWED}（判定された形式: EXE）"
    )


def test_an_unknown_binary_is_refused_without_guessing():
    assert refusal(bytes(range(1, 256)) * 4, "id.pdf") == NOT_ALLOWED


# --- refused: polyglots ------------------------------------------------------------------


def test_a_png_with_a_pdf_appended_is_refused():
    assert refusal(png_bytes() + pdf_bytes(), "card.png") == POLYGLOT


def test_a_pdf_beginning_with_png_magic_is_refused():
    assert refusal(b"\x89PNG\r\n\x1a\n" + pdf_bytes(), "doc.pdf") == POLYGLOT


def test_a_jpeg_carrying_a_script_is_refused():
    assert refusal(jpeg_bytes() + b"<script>alert(1)</script>", "a.jpg") == POLYGLOT


def test_a_pdf_carrying_html_is_refused():
    data = pdf_bytes(lambda pdf: setattr(pdf.Root, "Note", String("<html><body>x")))
    assert refusal(data) == POLYGLOT


def test_a_pdf_with_a_zip_after_its_end_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.txt", "x")
    assert refusal(pdf_bytes() + out.getvalue()) == POLYGLOT


# --- refused: active and embedded content in PDFs ----------------------------------------


PDF_REFUSALS = [
    pytest.param(javascript_open_action, JAVASCRIPT, id="open-action-javascript"),
    pytest.param(javascript_in_names_tree, JAVASCRIPT, id="names-tree-javascript"),
    pytest.param(javascript_in_annotation, JAVASCRIPT, id="annotation-javascript"),
    pytest.param(javascript_in_page_additional_actions, JAVASCRIPT, id="page-aa-javascript"),
    pytest.param(embedded_file, ATTACHMENT, id="embedded-file"),
    pytest.param(
        launch_action,
        "他のプログラムを起動する動作を含むPDFはアップロードできません。",
        id="launch-action",
    ),
    pytest.param(xfa_form, "XFAフォームを含むPDFはアップロードできません。", id="xfa-form"),
]


@pytest.mark.parametrize(("build", "message"), PDF_REFUSALS)
def test_a_pdf_with_active_or_embedded_content_is_refused(build, message):
    assert refusal(pdf_bytes(build)) == message


@pytest.mark.parametrize(("build", "message"), PDF_REFUSALS)
def test_active_content_hidden_in_compressed_object_streams_is_found(build, message):
    data = compact_pdf(build)
    if build is not embedded_file:  # an embedded file is a stream: its dictionary stays plain
        assert not any(name in data for name in (b"/JavaScript", b"/JS", b"/Launch", b"/XFA"))
    assert refusal(data) == message


def test_the_structure_walk_finds_javascript_without_the_raw_scan(monkeypatch):
    monkeypatch.setattr(documents, "_RAW_PDF_NAMES", {})
    assert refusal(pdf_bytes(javascript_in_annotation)) == JAVASCRIPT


@pytest.mark.parametrize("user_password", ["open-sesame", ""], ids=["user", "owner-only"])
def test_an_encrypted_pdf_is_refused(user_password: str):
    data = pdf_bytes(encryption=pikepdf.Encryption(owner="owner-secret", user=user_password))
    assert refusal(data) == "暗号化（パスワード保護）されたPDFはアップロードできません。"


def test_a_pdf_too_large_to_walk_is_refused(monkeypatch):
    monkeypatch.setattr(documents, "MAX_PDF_NODES", 3)
    assert refusal(pdf_bytes()) == "構造が複雑すぎるため、このPDFは確認できません。"


# --- refused: broken files and bombs -----------------------------------------------------


def test_a_truncated_pdf_is_refused_as_corrupt():
    data = pdf_bytes()
    assert refusal(data[: len(data) // 2]) == CORRUPT


def test_a_pdf_header_followed_by_garbage_is_refused_as_corrupt():
    assert refusal(b"%PDF-1.7\n" + b"garbage " * 50 + b"\n%%EOF\n") == CORRUPT


@pytest.mark.parametrize("make", [png_bytes, jpeg_bytes], ids=["png", "jpeg"])
def test_a_truncated_image_is_refused_as_corrupt(make: Callable[[], bytes]):
    data = make(size=(300, 300))  # type: ignore[call-arg]
    assert refusal(data[: len(data) // 2], "card") == CORRUPT


def test_an_image_with_huge_dimensions_is_refused_before_decoding():
    message = refusal(png_header_only(30_000, 30_000), "bomb.png")
    assert message == "画像の縦横のピクセル数が大きすぎます。（上限: 4000万画素）"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_just_over_the_pixel_limit_is_refused():
    assert "ピクセル数" in refusal(png_header_only(7_000, 7_000), "big.png")


# --- display names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "extension", "expected"),
    [
        ("passport.pdf", "pdf", "passport.pdf"),
        ("report.html", "pdf", "report.pdf"),
        ("Scan.JPEG", "jpg", "Scan.jpg"),
        ("免許証", "png", "免許証.png"),
        ("C:\\Users\\taro\\Desktop\\保険証.png", "png", "保険証.png"),
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ("ｐａｓｓｐｏｒｔ　　コピー.pdf", "pdf", "passport コピー.pdf"),
        ("evil\u202egnp.exe", "png", "evilgnp.png"),
        ("a\x00b\nc.pdf", "pdf", "ab c.pdf"),
        ("my   id\tcard.png", "png", "my id card.png"),
        ('quote"<>.pdf', "pdf", "quote___.pdf"),
        ("", "pdf", "document.pdf"),
        ("/", "jpg", "document.jpg"),
        (".pdf", "pdf", "document.pdf"),
    ],
)
def test_display_names_are_safe_and_end_with_the_detected_extension(
    filename: str, extension: str, expected: str
):
    assert safe_display_name(filename, extension) == expected


def test_display_names_are_at_most_80_characters():
    name = safe_display_name("あ" * 200 + ".pdf", "pdf")
    assert len(name) == 80 and name.endswith(".pdf")
