"""The one Jinja2 environment, shared by pages (through Litestar) and mail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_DOT,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_PIPE,
    TOKEN_RPAREN,
    TOKEN_STRING,
    Token,
    TokenStream,
)
from jinja2.nodes import EvalContext
from markupsafe import Markup

from app.i18n import translations
from app.settings import ROOT, Settings

TEMPLATE_DIR = ROOT / "templates"
STATIC_PATH = "/static"
JAPAN = ZoneInfo("Asia/Tokyo")


def app_version() -> str:
    """The running version, from the installed package metadata."""
    try:
        return version("jcan")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0.0.0"


def to_japan_time(value: datetime) -> datetime:
    return value.astimezone(JAPAN)


def format_japan_time(value: datetime | None) -> str:
    """2026年11月27日 19:04（日本時間）"""
    if value is None:
        return ""
    return japan_time_format()(to_japan_time(value))


def japan_time_format() -> Callable[[datetime], str]:
    """format_japan_time for a time already in Japan time, the catalog looked up once (a page
    of fifty rows calls it fifty times)."""
    text = translations().gettext("{y}年{m}月{d}日 {hm}（日本時間）")
    # The catalog's named fields as positional ones: one format call, no keyword dict.
    positional = (
        text.replace("{y}", "{0}")
        .replace("{m}", "{1}")
        .replace("{d}", "{2}")
        .replace("{hm}", "{3:02d}:{4:02d}")
    )

    def japan_time(local: datetime) -> str:
        return positional.format(local.year, local.month, local.day, local.hour, local.minute)

    return japan_time


def _autoescape(name: str | None) -> bool:
    return name is None or not name.endswith(".txt.jinja2")


def _install_light_gettext(env: jinja2.Environment) -> None:
    """`_()`, `gettext` and `ngettext` with Jinja's newstyle behaviour (autoescaped, always
    %-formatted with the keyword arguments), taking only the evaluation context.

    Jinja's own take the whole template context, and inside a block, macro or loop every call
    first copies that context with all its globals: on the step-1 page, with a `_()` on nearly
    every line, that was a fifth of the page's time (`make bench`).
    """
    catalog = translations()

    @jinja2.pass_eval_context
    def gettext(eval_ctx: EvalContext, __string: str, **variables: Any) -> str:
        text = catalog.gettext(__string)
        return (Markup(text) if eval_ctx.autoescape else text) % variables

    @jinja2.pass_eval_context
    def ngettext(
        eval_ctx: EvalContext, __singular: str, __plural: str, __num: int, **variables: Any
    ) -> str:
        variables.setdefault("num", __num)
        text = catalog.ngettext(__singular, __plural, __num)
        return (Markup(text) if eval_ctx.autoescape else text) % variables

    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)


class CompileTimeGettext(Extension):
    """`_("constant")` and `gettext("constant")` translated once, when the template compiles.

    The process has one catalog, so the call's result is a constant: the text as markup in an
    autoescaped template (what `_()` returns there), plain text elsewhere. Jinja then folds it
    into the compiled template like any literal. Calls with variables stay calls. Nine in ten
    texts on a page are constants: this took a third off rendering step 1 (`make bench`).
    """

    priority = 200  # after the i18n extension

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        catalog = translations()
        autoescape = self.environment.autoescape
        markup = autoescape(stream.name) if callable(autoescape) else bool(autoescape)
        window: list[Token] = []
        previous: Token | None = None
        for token in stream:
            window.append(token)
            if len(window) < 4:
                continue
            name, left, text, right = window
            constant = (
                name.type == TOKEN_NAME
                and name.value in ("_", "gettext")
                and (previous is None or previous.type != TOKEN_DOT)
                and left.type == TOKEN_LPAREN
                and text.type == TOKEN_STRING
                and right.type == TOKEN_RPAREN
            )
            if constant:
                try:
                    translated = catalog.gettext(text.value) % {}
                except (TypeError, ValueError, KeyError):
                    constant = False  # a stray % in the text: leave it to the runtime call
            if constant:
                line = name.lineno
                if markup:  # ("text"|safe): a Markup constant, as `_()` gives
                    yield Token(line, TOKEN_LPAREN, "(")
                    yield Token(line, TOKEN_STRING, translated)
                    yield Token(line, TOKEN_PIPE, "|")
                    yield Token(line, TOKEN_NAME, "safe")
                    yield Token(line, TOKEN_RPAREN, ")")
                else:
                    yield Token(line, TOKEN_STRING, translated)
                previous = right
                window = []
                continue
            previous = window.pop(0)
            yield previous
        yield from window


def make_environment(settings: Settings) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=_autoescape,
        extensions=["jinja2.ext.i18n", CompileTimeGettext],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change only in development; elsewhere skip the mtime check of every
        # template file on every render.
        auto_reload=settings.app.env == "dev",
    )
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    _install_light_gettext(env)
    env.filters["japan_time"] = format_japan_time
    globals_: dict[str, Any] = {
        "lra": settings.lra,
        "app_version": app_version(),
        "system_name": translations().gettext("JCAN証明書オンライン発行システム"),
        "base_url": settings.app.base_url,
        # Where app.asgi mounts static/: a constant, cheaper than url_for on every page.
        "static_path": STATIC_PATH,
    }
    env.globals.update(globals_)
    # Macro modules as globals, so named blocks rendered alone (htmx fragments) can use them.
    env.globals["forms"] = env.get_template("macros/form.html.jinja2").module
    env.globals["flows"] = env.get_template("macros/flow.html.jinja2").module
    return env
