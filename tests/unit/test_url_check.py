"""The URL check the middleware runs first (app/web/inputs.check_url): its fast paths give
the same answers as the full parse."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import ClientException, NotFoundException

from app.web import inputs


def scope(path: str = "/", query: bytes = b"", host: bytes = b"example.jp") -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", host)],
        "server": ("127.0.0.1", 8000),
    }


@pytest.mark.parametrize(
    "path",
    ["/static/a\x00.css", "/a\tb", "/a\nb", "/a\x7f", "/申請\x00", "/ü\x1f", "/\x7f申請"],
)
def test_a_path_with_a_control_character_names_no_page(path: str) -> None:
    with pytest.raises(NotFoundException):
        inputs.check_url(scope(path), b"example.jp")


@pytest.mark.parametrize("path", ["/", "/register/step1", "/申請 の/ページ", "/a b~!"])
def test_a_plain_path_passes(path: str) -> None:
    inputs.check_url(scope(path), b"example.jp")


@pytest.mark.parametrize("host", [b"example.jp:99999999", b"example.jp:65536", b""])
def test_a_host_that_is_no_host_is_refused_even_after_good_ones(host: bytes) -> None:
    for good in (b"example.jp", b"127.0.0.1:8000", b"example.jp:65535"):
        inputs.check_url(scope(host=good), good)
        inputs.check_url(scope(host=good), good)  # the second time from the kept hosts
    if host == b"":  # no Host at all: the full parse decides (Litestar falls back to server)
        inputs.check_url(scope(host=host), host)
        return
    with pytest.raises(ClientException):
        inputs.check_url(scope(host=host), host)


def test_a_query_string_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ClientException):
        inputs.check_url(scope(query=b"q=\xff"), b"example.jp")
    inputs.check_url(scope(query="q=申請".encode()), b"example.jp")


def test_the_kept_hosts_are_bounded() -> None:
    for port in range(1, 3 * inputs._PLAIN_HOSTS_KEPT):
        host = f"h.example.jp:{port}".encode()
        inputs.check_url(scope(host=host), host)
    assert len(inputs._PLAIN_HOSTS) <= inputs._PLAIN_HOSTS_KEPT
