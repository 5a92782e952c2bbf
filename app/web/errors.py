"""Error pages: every failure answers a Japanese page, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Template

from app.i18n import _

log = logging.getLogger("jcan.web")

# The client errors with words of their own; any other 4xx shows the 400 page's.
KNOWN = (400, 403, 404, 405, 413, 429)


def _messages(status: int) -> tuple[str, str]:
    table = {
        400: (
            _("リクエストを処理できませんでした"),
            _("入力内容をご確認のうえ、もう一度お試しください。"),
        ),
        403: (
            _("画面の有効期限が切れました"),
            _("お手数ですが、前の画面に戻って再読み込みしてから、もう一度操作してください。"),
        ),
        404: (_("ページが見つかりません"), _("URLをご確認ください。")),
        405: (_("この操作はできません"), _("トップページからやり直してください。")),
        413: (
            _("送信されたデータが大きすぎます"),
            _(
                "一度に送信できるファイルの合計サイズを超えました。"
                "ファイルは1件4MBまでです。前の画面に戻り、ファイルを分けてアップロードしてください。"
            ),
        ),
        429: (
            _("アクセスが集中しています"),
            _("短い時間に多くの操作が行われました。1分ほど待ってから、もう一度お試しください。"),
        ),
    }
    return table.get(
        status,
        (
            _("システムエラーが発生しました"),
            _(
                "時間をおいて、もう一度お試しください。解決しない場合はお問い合わせ先までご連絡ください。"
            ),
        ),
    )


def _page(request: Request[Any, Any, Any], status: int) -> Response[Any]:
    heading, detail = _messages(status if status >= 500 or status in KNOWN else 400)
    if status == 413 and request.url.path != "/apply/documents":  # a form, not an upload
        detail = _(
            "入力された内容が長すぎます。前の画面に戻り、各項目を指定された文字数以内で"
            "入力してから、もう一度お試しください。"
        )
    headers = {"Retry-After": "60"} if status == 429 else {}
    if request.headers.get("hx-request") == "true":
        # A boosted click that meets this page shows it (static/js/app.js) but keeps the
        # address of the page it came from: reloading that is the way on.
        headers["HX-Push-Url"] = "false"
    return Template(
        template_name="errors/error.html.jinja2",
        context={"heading": heading, "detail": detail, "status": status, "errors": {}},
        status_code=status,
        headers=headers or None,
    )


def _path(request: Request[Any, Any, Any]) -> str:
    # From the scope, not request.url: building the URL fails on some junk (a bad Host).
    return str(request.scope.get("path", ""))


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    # Any other client error keeps its status with the 400 page's words: the client's fault
    # is never logged as ours.
    status = exc.status_code if 400 <= exc.status_code < 500 else 500
    if status == 500:
        log.error("HTTP %s on %s %s", exc.status_code, request.method, _path(request))
    return _page(request, status)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The path only: query strings and bodies may carry personal data or tokens.
    log.exception("unhandled error on %s %s", request.method, _path(request))
    return _page(request, 500)
