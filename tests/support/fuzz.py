"""Hypothesis strategies for the fuzz suite: requests a careless client or an attacker may send.

A request is drawn from the app's own route table (every route, every method it answers and
some it does not), its path parameters filled with junk, a body in any encoding (urlencoded,
multipart, raw bytes under any Content-Type), with or without the CSRF token, HX-Request and
the browser's cookies.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_from_bytes

from hypothesis import strategies as st

from tests.helpers import AGENT_ANSWERS

PARAM = re.compile(r"\{(\w+):(\w+)\}")
OTHER_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "JUNK")
FIELD_NAMES = (
    "_csrf_token",
    "action",
    "applicant_type",
    "company_code",
    "ticket_number",
    "email",
    "email_confirm",
    "captcha_id",
    "captcha_answer",
    "agree",
    "return",
    "kind",
    "documents",
    "decision",
    "reason",
    *AGENT_ANSWERS,
)
WORDS = (
    "",
    "self",
    "agent",
    "choose",
    "refresh_captcha",
    "next",
    "save",
    "upload",
    "yes",
    "approve",
    "decline",
    "confirm",
    "ISC",
    "OTHER",
    "id_front",
    "employment",
    "taro@example.com",
    *AGENT_ANSWERS.values(),
)
PATH_WORDS = (
    "email",
    "ticket_number",
    "company_code",
    "email_confirm",
    "family_name",
    "cert_email",
    "subject_preview",
    "invalid",
    "expired",
    "used",
    "css/site.css",
    "htmx.min.js",
    "../pyproject.toml",
    "..%2f..%2fetc%2fpasswd",
)
CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=shift_jis",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=x",
    'multipart/form-data; boundary="a b"',
    "application/json",
    "text/plain",
    "",
    "\xff\xfe; boundary=\xff",
)
# Headers a client may add, filled with junk.
EXTRA_HEADERS = (
    "host",
    "hx-target",
    "hx-trigger",
    "hx-trigger-name",
    "hx-current-url",
    "hx-boosted",
    "hx-history-restore-request",
    "hx-prompt",
    "accept",
    "accept-language",
    "accept-encoding",
    "referer",
    "origin",
    "x-forwarded-for",
    "range",
    "if-modified-since",
    "if-none-match",
    "transfer-encoding",
)
# Forged session cookies: Litestar reads a clear-text expiry before the signature.
FORGED = tuple(
    b"jcan_session=" + base64.b64encode(b"0" * 12 + b"additional_authenticated_data=" + tail)
    for tail in (b"{bad", b"[1]", b'{"x":1}', b'{"expires_at":"z"}', b'{"expires_at":1e99}')
)
JUNK_COOKIES = (b"", b"jcan_session=", b"jcan_csrf=%ff", b"jcan_session-0=a", b"\xff=\xfe", *FORGED)
# Part charsets: the default, real ones, ones Python lacks, and codecs that are not text.
CHARSETS = (
    *("", "utf-8", "shift_jis", "utf-16", "latin-1", "utf-7", "unicode_escape"),
    *("no-such", "rot13", "base64", "undefined"),
)
LENGTHS = (0, 1, 100, 5_000, 100_000)
RUNS = tuple(r.encode() for r in ("あ", "a", "\x00", "%ff", "<"))


@dataclass(frozen=True)
class Route:
    path: str  # the route table's template, e.g. /apply/fields/{name:str}
    methods: tuple[str, ...]


def routes_of(app: Any) -> list[Route]:
    return [
        Route(route.path, tuple(sorted(route.methods)))
        for route in app.routes
        if getattr(route, "methods", None)
    ]


@dataclass
class Browser:
    """Cookies of one browser at a known point of a flow, and the CSRF token of its pages."""

    name: str
    cookies: dict[str, str]
    csrf: str
    path_words: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def describe(self) -> str:
        heads = {k.decode("latin-1"): v.decode("latin-1")[:80] for k, v in self.headers}
        return f"{self.method} {self.url} {heads} body[{len(self.body)}]={self.body[:200]!r}"


# Text a person might type (any script, no control characters), and anything at all.
typed = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30)
text = typed | st.text(max_size=30)
junk_bytes = st.binary(max_size=30) | st.sampled_from([b"\xff\xfe", b"\x00", b"\xe3\x81", b"%"])


def weighted(draw: st.DrawFn, *choices: tuple[int, Any]) -> Any:
    """One of the choices, each as often as its weight says (Hypothesis shrinks to the first)."""
    roll = draw(st.integers(0, sum(weight for weight, _ in choices) - 1))
    for weight, choice in choices:
        if roll < weight:
            return choice
        roll -= weight
    raise AssertionError("unreachable")


@st.composite
def path_value(draw: st.DrawFn, kind: str, words: tuple[str, ...]) -> str:
    known = st.sampled_from(PATH_WORDS + words)
    raw = draw(weighted(draw, (5, known), (3, text), (2, junk_bytes)))
    if isinstance(raw, bytes):
        return quote_from_bytes(raw, safe="")
    if raw in PATH_WORDS + words and draw(st.booleans()):
        return raw  # as a link would carry it
    return quote(raw, safe="/" if kind == "path" else "")


@st.composite
def value(draw: st.DrawFn, words: tuple[str, ...]) -> bytes:
    """A field value as bytes: a meaningful word, any text, invalid UTF-8, or a long run."""
    return bytes(
        draw(
            weighted(
                draw,
                (5, st.sampled_from(WORDS + words).map(str.encode)),
                (3, typed.map(str.encode)),
                (1, junk_bytes | text.map(str.encode)),
                (1, st.builds(lambda a, n: a * n, st.sampled_from(RUNS), st.sampled_from(LENGTHS))),
            )
        )
    )


@st.composite
def fields(draw: st.DrawFn, csrf: str, words: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    names = weighted(
        draw,
        (7, st.sampled_from(FIELD_NAMES).map(str.encode)),
        (2, typed.map(str.encode)),
        (1, junk_bytes),
    )
    pairs = draw(st.lists(st.tuples(names, value(words)), max_size=12))
    token = weighted(draw, (6, "valid"), (2, "absent"), (1, "junk"))
    if token == "valid":
        pairs.insert(0, (b"_csrf_token", csrf.encode()))
    elif token == "junk":
        pairs.insert(0, (b"_csrf_token", draw(junk_bytes) or b"x"))
    filler = weighted(draw, (12, 0), (1, 50), (1, 150), (1, 250), (1, 1_200))  # field counts
    return pairs + [(b"f%d" % i, b"x") for i in range(filler)]


def urlencoded(pairs: list[tuple[bytes, bytes]], percent: bool) -> bytes:
    def enc(b: bytes) -> bytes:
        return quote_from_bytes(b, safe="").encode() if percent else b

    return b"&".join(enc(k) + b"=" + enc(v) for k, v in pairs)


def multipart(pairs: list[tuple[bytes, bytes]], boundary: bytes, charset: str, files: int) -> bytes:
    """The body; the parts whose bit is set in `files` are sent as files (any field may be)."""
    head = f"Content-Type: text/plain; charset={charset}\r\n".encode() if charset else b""
    out = b""
    for i, (name, data) in enumerate(pairs):
        filename = b'; filename="' + name + b'.png"' if files >> i & 1 else b""
        out += b"--" + boundary + b"\r\n"
        out += b'Content-Disposition: form-data; name="' + name + b'"' + filename + b"\r\n"
        out += head + b"\r\n" + data + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


@st.composite
def body(draw: st.DrawFn, csrf: str, words: tuple[str, ...]) -> tuple[bytes, bytes]:
    """(Content-Type, body)."""
    kind = weighted(
        draw, (8, "urlencoded"), (4, "multipart"), (2, "raw-urlencoded"), (2, "raw"), (3, "empty")
    )
    if kind == "empty":
        return b"", b""
    if kind == "raw":
        content_type = draw(st.sampled_from(CONTENT_TYPES)).encode("latin-1")
        return content_type, draw(st.binary(max_size=200))
    pairs = draw(fields(csrf, words))
    if kind == "multipart":
        boundary = draw(st.sampled_from([b"jcanfuzz", b"x" * 70, b"\xff\xfe", b"a b"]))
        declared = boundary if draw(st.integers(0, 4)) else draw(st.sampled_from([b"other", b""]))
        charset = draw(st.sampled_from(CHARSETS))
        files = draw(st.integers(0, 2**12 - 1))
        content = multipart(pairs, boundary, charset, files)
        return b"multipart/form-data; boundary=" + declared, content
    content_type = b"application/x-www-form-urlencoded"
    return content_type, urlencoded(pairs, percent=kind == "urlencoded")


@st.composite
def request(draw: st.DrawFn, routes: list[Route], browsers: list[Browser]) -> Request:
    # Every (route, method) of the table; the POSTs, where the work is done, four times over.
    pairs = [
        (r, m)
        for r in routes
        for m in r.methods
        if m != "OPTIONS"  # Litestar's own, for every route: among the other methods
        for _ in range(4 if m == "POST" else 1)
    ]
    route, method = draw(st.sampled_from(pairs))
    browser = draw(st.sampled_from(browsers))
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(OTHER_METHODS))
    path = PARAM.sub(lambda m: draw(path_value(m.group(2), browser.path_words)), route.path)
    query = draw(st.sampled_from(["", "applicant_type=self", "return_to=confirm"]) | text)
    url = path + ("?" + quote(query, safe="=&") if query else "")
    headers: list[tuple[bytes, bytes]] = []
    hx = weighted(draw, (4, "absent"), (4, "true"), (1, "junk"))
    if hx != "absent":
        headers.append((b"hx-request", b"true" if hx == "true" else draw(junk_bytes)))
    token = draw(st.sampled_from(["absent", "absent", "valid", "junk"]))
    if token != "absent":
        headers.append((b"x-csrftoken", browser.csrf.encode() if token == "valid" else b"x"))
    extra = st.tuples(st.sampled_from(EXTRA_HEADERS).map(str.encode), junk_bytes)
    headers += draw(st.lists(extra, max_size=3))
    cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items()).encode()
    if draw(st.integers(0, 9)) == 0:
        cookies = draw(st.sampled_from(JUNK_COOKIES)) + draw(junk_bytes)
    if cookies:
        headers.append((b"cookie", cookies))
    content_type, payload = b"", b""
    if method not in ("GET", "HEAD") or draw(st.integers(0, 9)) == 0:
        content_type, payload = draw(body(browser.csrf, browser.path_words))
    if content_type:
        headers.append((b"content-type", content_type))
    return Request(method, url, headers, payload)
