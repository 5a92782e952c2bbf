"""Strict decoding of what a client sends: form bodies, request paths, Host and query.

A form body that is not valid UTF-8 (or not valid in the charset a multipart part names), a
control character (NUL included) or lone surrogate in a field, more fields than any of our
forms has, a Host that is no host or a query string that is not UTF-8: the 400 page before
any handler sees it; a path with a control character: the 404 page. Nothing is guessed or
replaced (no U+FFFD), so nothing badly encoded is ever stored or mailed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.types import Empty, Scope
from litestar.utils.scope.state import ScopeState

# Our largest form has about 30 fields; beyond this a body is refused unparsed.
FORM_FIELD_LIMIT = 200

# C0 controls other than TAB, LF and CR, and DEL: nothing a person types into a form; and lone
# surrogates (a part in an escape "charset" can make them), which no database or page can hold.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
CSRF_FIELD = "_csrf_token"
# In a path even TAB, LF and CR are junk (and NUL breaks the file system calls).
PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadlyEncodedForm(ClientException):
    """A form body that does not decode strictly (answered with the 400 page)."""

    detail = "badly encoded form"


def _fields(body: bytes, max_fields: int) -> dict[str, list[str]]:
    """The body's fields by name, as parse_qsl(keep_blank_values=True, errors="strict",
    separator="&", max_num_fields=max_fields) reads it as UTF-8, with check_form's test of
    every name and value done on the way: the whole text for control characters typed as
    they are, and each name or value that had a %-escape once unescaped (the others are
    parts of that text). A name or value without an escape is not unescaped at all."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadlyEncodedForm() from exc
    if not text:
        return {}
    if text.count("&") + 1 > max_fields or CONTROL.search(text):
        raise BadlyEncodedForm()
    fields: dict[str, list[str]] = {}
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = _unescaped(name)
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = _unescaped(value)
        values = fields.get(name)
        if values is None:
            fields[name] = [value]
        else:
            values.append(value)
    return fields


def _unescaped(text: str) -> str:
    try:
        plain = unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadlyEncodedForm() from exc
    if CONTROL.search(plain):
        raise BadlyEncodedForm()
    return plain


def decode_urlencoded(body: bytes, max_fields: int = FORM_FIELD_LIMIT) -> dict[str, Any]:
    """application/x-www-form-urlencoded as UTF-8, strictly: raw bytes and %-escapes alike,
    and no control character in any name or value (check_form's rule).

    (Litestar's own parser reads raw bytes as Latin-1 and turns bad escapes into U+FFFD.)"""
    fields = _fields(body, max_fields)
    return {key: values if len(values) > 1 else values[0] for key, values in fields.items()}


def check_form(form: FormMultiDict) -> None:
    """Refuse control characters in any name, value or file name, and a CSRF token sent as a
    file (the CSRF middleware compares it as text)."""
    for key, value in form.multi_items():
        text = (value.filename or "") if isinstance(value, UploadFile) else value
        if CONTROL.search(key) or CONTROL.search(text):
            raise BadlyEncodedForm()
        if key == CSRF_FIELD and not isinstance(value, str):
            raise BadlyEncodedForm()


# The form, decoded and checked once per request whichever Request object asks first.
_CHECKED_FORM = "jcan.checked_form"


class StrictRequest(Request[Any, Any, Any]):
    """The app's request class (also used by the CSRF middleware, which reads the form first)."""

    async def form(self) -> FormMultiDict:
        checked: FormMultiDict | None = self.scope.get(_CHECKED_FORM)  # type: ignore[assignment]
        if checked is not None:  # the CSRF check's Request read it first
            return checked
        content_type, _options = self.content_type
        state = ScopeState.from_scope(self.scope)
        if content_type == RequestEncodingType.URL_ENCODED and state.form is Empty:
            # Decoded and checked in one pass (_fields); the FormMultiDict made here as
            # Litestar's form() makes it from its parse (every value of a name together).
            fields = _fields(await self.body(), FORM_FIELD_LIMIT)
            state.form = {k: v if len(v) > 1 else v[0] for k, v in fields.items()}
            form = FormMultiDict([(k, v) for k, values in fields.items() for v in values])
            self._form = form
        else:
            try:
                form = await super().form()
            except (UnicodeError, LookupError) as exc:
                # A multipart field that is not valid in its charset (UTF-8 unless it names
                # another), or a charset Python does not know.
                raise BadlyEncodedForm() from exc
            check_form(form)
        self.scope[_CHECKED_FORM] = form  # type: ignore[literal-required]
        return form


# A Host that Litestar's URL parsing cannot fail on: a name or IPv4 address, a port of at most
# five digits (checked below against 65535). Anything else is parsed in full, as before.
PLAIN_HOST = re.compile(rb"[A-Za-z0-9.-]+(?::([0-9]{1,5}))?")


# Host headers found plain (a server answers for a few names; bounded all the same).
_PLAIN_HOSTS: set[bytes] = set()
_PLAIN_HOSTS_KEPT = 64


def check_url(scope: Scope, host: bytes) -> None:
    """A path with a control character (e.g. %00) names no page, 404; a Host that is not one
    (a port out of range) or a query string that is not UTF-8 is a 400. Checked first
    (middleware.PortalMiddleware), before anything (the rate limiter, the error page's log
    line) asks for the URL. `host`: the request's first Host header."""
    path = scope["path"]
    # An ASCII path is printable exactly when it holds no control character.
    if not (path.isascii() and path.isprintable()) and PATH_CONTROL.search(path):
        raise NotFoundException()
    if not (scope["query_string"].isascii() and _plain_host(host)):
        try:
            ASGIConnection[Any, Any, Any, Any](scope).url  # noqa: B018 (parsed, kept)
        except ValueError as exc:
            raise ClientException() from exc


def _plain_host(host: bytes) -> bool:
    """Whether Litestar's URL parsing cannot fail on this Host (issue 18: building the URL
    cost more than the plain handler): a name or IPv4 address and a port up to 65535."""
    if host in _PLAIN_HOSTS:
        return True
    match = PLAIN_HOST.fullmatch(host)
    plain = match is not None and (match[1] is None or int(match[1]) <= 65535)
    if plain and len(_PLAIN_HOSTS) < _PLAIN_HOSTS_KEPT:
        _PLAIN_HOSTS.add(bytes(host))
    return plain
