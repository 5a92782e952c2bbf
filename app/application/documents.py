"""Identity documents: decide what an uploaded file really is, refuse the unsafe, clean images."""

from __future__ import annotations

import io
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TypeGuard

import pikepdf
import puremagic
from PIL import Image, ImageOps

from app.i18n import _

MAX_BYTES = 4 * 1024 * 1024
MAX_FILES = 6
ALLOWED = {"application/pdf", "image/jpeg", "image/png"}

MAX_PIXELS = 40_000_000
"""Larger images are refused: decoding one costs ~120 MB per copy."""
MAX_PDF_OBJECTS = 100_000
MAX_PDF_NODES = 2_000_000
"""A bound on the work of walking a PDF (objects, and values inside them)."""

# Pillow's own bomb check: above this it warns, above twice this it raises. Our stricter
# check of the header's size below refuses everything over MAX_PIXELS before decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_MB = 1024 * 1024
_PDF = b"%PDF-"
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_KINDS = {  # kind -> (content type, extension, Pillow formats it may open as)
    "pdf": ("application/pdf", "pdf", ()),
    "png": ("image/png", "png", ("PNG",)),
    "jpg": ("image/jpeg", "jpg", ("JPEG", "MPO")),
}
# The delimiter after each marker keeps compressed image/PDF data from matching by chance.
_MARKUP = re.compile(rb"<(?:html|script)[\s>/]|<\?php\s", re.IGNORECASE)
_ZIP_END = b"PK\x05\x06"
_PDF_TRAILER_SPACE = b" \t\r\n\f\x00"
# Long PDF names whose raw bytes are searched too, in case another reader's repair of a
# damaged file sees objects that pikepdf's does not (short names would match by chance).
_RAW_PDF_NAMES = {
    b"/JavaScript": "javascript",
    b"/EmbeddedFile": "embedded",
    b"/Launch": "launch",
    b"/RichMedia": "richmedia",
}
_PDF_KEYS = {
    "/JS": "javascript",
    "/JavaScript": "javascript",
    "/EmbeddedFile": "embedded",
    "/EmbeddedFiles": "embedded",
    "/EF": "embedded",
    "/Launch": "launch",
    "/RichMedia": "richmedia",
    "/RichMediaContent": "richmedia",
    "/XFA": "xfa",
}
_PDF_NAME_VALUES = {  # values of /S (action type), /Type and /Subtype
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/GoToE": "embedded",
    "/EmbeddedFile": "embedded",
    "/FileAttachment": "embedded",
    "/RichMedia": "richmedia",
}
_NAME_KEYS = ("/S", "/Type", "/Subtype")


class DocumentRefused(Exception):
    """The upload cannot be accepted; `message` tells the applicant why (Japanese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Inspected:
    content: bytes
    content_type: str
    extension: str


def inspect_document(data: bytes, filename: str) -> Inspected:
    """Accept a PDF, JPEG or PNG judged by its content only (`filename` is never trusted).

    Images come back re-encoded without metadata; PDFs come back as sent. Synchronous and
    CPU-heavy: run it in a thread (asyncio.to_thread).
    """
    if not data:
        raise DocumentRefused(_("ファイルが空です。"))
    if len(data) > MAX_BYTES:
        size = math.ceil(len(data) * 10 / _MB) / 10
        raise DocumentRefused(
            _("ファイルサイズが{limit}MBを超えています（{size}MB）。").format(
                limit=MAX_BYTES // _MB, size=f"{size:.1f}"
            )
        )
    kind = _kind_of(data)
    if kind is None:
        raise _not_allowed(data)
    if _MARKUP.search(data) or (kind != "pdf" and _PDF in data):
        raise _polyglot()
    if kind == "pdf":
        _check_pdf(data)
        content = data
    else:
        content = _clean_image(data, kind)
    content_type, extension, _formats = _KINDS[kind]
    return Inspected(content=content, content_type=content_type, extension=extension)


def safe_display_name(filename: str, extension: str) -> str:
    """The applicant's file name, made safe to show: no path, no control characters, at most
    80 characters, ending with the extension of the detected type."""
    text = unicodedata.normalize("NFKC", filename)
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c)[0] != "C"
    )
    text = " ".join(text.split())
    stem, dot, suffix = text.rpartition(".")
    if dot and re.fullmatch(r"[A-Za-z0-9]{1,5}", suffix):
        text = stem
    text = re.sub(r'[<>:"|?*]', "_", text).strip(" .")
    ending = f".{extension}"
    if not text:
        return f"document{ending}"
    return text[: 80 - len(ending)].rstrip(" .") + ending


def _kind_of(data: bytes) -> str | None:
    if data.startswith(_PDF):
        return "pdf"
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_JPEG):
        return "jpg"
    return None


def _not_allowed(data: bytes) -> DocumentRefused:
    detected = _detected_type(data)
    if detected:
        return DocumentRefused(
            _(
                "PDF、JPEG、PNG以外の形式のファイルはアップロードできません。"
                "（判定された形式: {detected}）"
            ).format(detected=detected)
        )
    return DocumentRefused(_("PDF、JPEG、PNG以外の形式のファイルはアップロードできません。"))


def _detected_type(data: bytes) -> str:
    """A short name for what the content looks like ('HTML', 'ZIP', 'EXE'), or ''."""
    try:
        matches = puremagic.magic_string(data)
    except (puremagic.PureError, ValueError):
        matches = []
    if matches:
        best = max(m.confidence for m in matches)
        extensions = [m.extension for m in matches if m.confidence == best and m.extension]
        if ".zip" in extensions:  # many formats are ZIP files; say the family, not a guess
            return "ZIP"
        if extensions:
            return extensions[0].lstrip(".").upper()
    if _MARKUP.search(data[:4096]):
        return "HTML"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return _("テキスト") if "\x00" not in text else ""


def _polyglot() -> DocumentRefused:
    return DocumentRefused(
        _("複数の形式として解釈できるファイル（画像とPDFの混在など）はアップロードできません。")
    )


def _corrupt() -> DocumentRefused:
    return DocumentRefused(_("ファイルが壊れているため読み込めません。"))


def _clean_image(data: bytes, kind: str) -> bytes:
    """Decode, check and re-encode an image: orientation applied, metadata and trailing
    bytes gone."""
    formats = _KINDS[kind][2]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as probe:
            _check_pixels(probe)
            probe.verify()
        with Image.open(io.BytesIO(data), formats=formats) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            transparency = upright.info.get("transparency")
            upright.info = {} if transparency is None else {"transparency": transparency}
            out = io.BytesIO()
            if kind == "jpg":
                upright.save(out, format="JPEG", quality=90)
            else:
                upright.save(out, format="PNG", optimize=False)
            return out.getvalue()
    except DocumentRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except Exception:
        # Decoders fail on hostile input with all sorts of errors; any of them means the
        # file cannot be read.
        raise _corrupt() from None


def _check_pixels(image: Image.Image) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS or width < 1 or height < 1:
        raise _too_many_pixels()


def _too_many_pixels() -> DocumentRefused:
    return DocumentRefused(
        _("画像の縦横のピクセル数が大きすぎます。（上限: {limit}万画素）").format(
            limit=MAX_PIXELS // 10_000
        )
    )


def _check_pdf(data: bytes) -> None:
    end = data.rfind(b"%%EOF")
    if end < 0:
        raise _corrupt()
    if data[end + 5 :].strip(_PDF_TRAILER_SPACE) or _ZIP_END in data[-(65_535 + 22) :]:
        raise _polyglot()  # bytes after the end of the PDF: another file rides along
    for name, reason in _RAW_PDF_NAMES.items():
        if name in data:
            raise _pdf_refusal(reason)
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise _encrypted() from None
    except Exception:
        raise _corrupt() from None
    with pdf:
        if pdf.is_encrypted:
            raise _encrypted()
        try:
            reason = _active_content(pdf)
            pages = len(pdf.pages)
        except DocumentRefused:
            raise
        except Exception:
            raise _corrupt() from None
    if reason:
        raise _pdf_refusal(reason)
    if pages == 0:
        raise _corrupt()


def _active_content(pdf: pikepdf.Pdf) -> str:
    """The first kind of active or embedded content found in any object, or ''."""
    if len(pdf.objects) > MAX_PDF_OBJECTS:
        raise _too_complex()
    budget = MAX_PDF_NODES
    for obj in pdf.objects:
        # Direct values nested in an object are walked here; indirect ones are objects of
        # their own and come up in this loop.
        stack = [obj]
        while stack:
            budget -= 1
            if budget < 0:
                raise _too_complex()
            item = stack.pop()
            if isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
                for key in item.keys():  # noqa: SIM118 - a Stream is not a Mapping
                    if key in _PDF_KEYS:
                        return _PDF_KEYS[key]
                    value = item.get(key)
                    if key in _NAME_KEYS and isinstance(value, pikepdf.Name):
                        found = _PDF_NAME_VALUES.get(str(value))
                        if found:
                            return found
                    if _is_container(value):
                        stack.append(value)
            elif isinstance(item, pikepdf.Array):
                stack.extend(value for value in item if _is_container(value))
    return ""


def _is_container(value: object) -> TypeGuard[pikepdf.Object]:
    return (
        isinstance(value, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
        and not value.is_indirect
    )


def _pdf_refusal(reason: str) -> DocumentRefused:
    messages = {
        "javascript": _("JavaScriptを含むPDFはアップロードできません。"),
        "embedded": _("添付ファイルを含むPDFはアップロードできません。"),
        "launch": _("他のプログラムを起動する動作を含むPDFはアップロードできません。"),
        "richmedia": _("動画などのマルチメディアを含むPDFはアップロードできません。"),
        "xfa": _("XFAフォームを含むPDFはアップロードできません。"),
    }
    return DocumentRefused(messages[reason])


def _encrypted() -> DocumentRefused:
    return DocumentRefused(_("暗号化（パスワード保護）されたPDFはアップロードできません。"))


def _too_complex() -> DocumentRefused:
    return DocumentRefused(_("構造が複雑すぎるため、このPDFは確認できません。"))
