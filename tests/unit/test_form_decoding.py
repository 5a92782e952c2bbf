"""app.web.inputs' strict decoding of application/x-www-form-urlencoded bodies: the one-pass
decoder against what it replaced (parse_qsl, strictly, then check_form's control-character
rule), for any body."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.web.inputs import CONTROL, FORM_FIELD_LIMIT, BadlyEncodedForm, decode_urlencoded


def _as_before(body: bytes) -> dict[str, Any] | None:
    """parse_qsl as the decoder called it, then check_form's test; None when refused."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=FORM_FIELD_LIMIT,
            separator="&",
        )
    except ValueError:
        return None
    if any(CONTROL.search(k) or CONTROL.search(v) for k, v in pairs):
        return None
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return {key: values if len(values) > 1 else values[0] for key, values in fields.items()}


def _now(body: bytes) -> dict[str, Any] | None:
    try:
        return decode_urlencoded(body)
    except BadlyEncodedForm:
        return None


_PIECES = st.sampled_from(
    [
        "a",
        "b",
        "=",
        "&",
        "&&",
        "+",
        "%",
        "%2",
        "%20",
        "%3D",
        "%26",
        "%2B",
        "%C3%A9",
        "%E3%81",
        "%FF",
        "%00",
        "%0A",
        "%09",
        "%7F",
        "%ED%A0%80",
        "é",
        "山",
        "\x01",
        "\t",
        " ",
        "==",
    ]
)


@given(st.lists(_PIECES, max_size=30).map("".join).map(str.encode))
def test_the_decoder_reads_every_body_as_before(body: bytes) -> None:
    assert _now(body) == _as_before(body), body


@given(st.binary(max_size=60))
def test_any_bytes_are_read_as_before(body: bytes) -> None:
    assert _now(body) == _as_before(body), body


@pytest.mark.parametrize(
    "body",
    [
        b"&".join([b"a=1"] * FORM_FIELD_LIMIT),
        b"&".join([b"a=1"] * (FORM_FIELD_LIMIT + 1)),
        b"email=taro%40example.jp&email=x&name=%E5%B1%B1+%E7%94%B0",
        b"",
        b"=",
        b"a",
        b"%zz=%",
    ],
)
def test_edges_are_read_as_before(body: bytes) -> None:
    assert _now(body) == _as_before(body)
