"""Texts translated when a template compiles render exactly as the runtime `_()` renders them."""

from __future__ import annotations

import jinja2
import pytest

from app import templating
from app.settings import Settings

SOURCE = (
    '{{ _("次へ") }}|{{ gettext("画像認証") ~ _("メールアドレス") }}|'
    '{{ _("%(lra)sから発行されたチケット番号（例: ABCD-EFGH-JKMN-2345）", lra=name) }}|'
    "{% set t = _('本人') %}{{ t }}|{{ obj._('本人') }}|{{ _('50%') if false else '' }}"
)


class Obj:
    def _(self, text: str) -> str:
        return f"method:{text}"


def environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    settings = Settings.from_env()
    folded = templating.make_environment(settings)
    runtime = templating.make_environment(settings)
    runtime.extensions = {
        k: v
        for k, v in runtime.extensions.items()
        if not isinstance(v, templating.CompileTimeGettext)
    }
    return folded, runtime


@pytest.mark.parametrize("name", ["page.html.jinja2", "mail.txt.jinja2"])
def test_folded_texts_render_as_the_runtime_call_does(name):
    folded, runtime = environments()
    context = {"name": "<ISC>", "obj": Obj()}
    expected = runtime.from_string(SOURCE).render(context)
    # from_string has no name: compile both under the name that decides autoescaping
    for env in (folded, runtime):
        env.loader = jinja2.DictLoader({name: SOURCE})
    assert folded.get_template(name).render(context) == runtime.get_template(name).render(context)
    assert "method:本人" in expected and "&lt;ISC&gt;" in expected


def test_constant_texts_are_not_calls_in_the_compiled_template():
    folded, runtime = environments()
    code = folded.compile(SOURCE, name="page.html.jinja2", raw=True)
    plain = runtime.compile(SOURCE, name="page.html.jinja2", raw=True)
    assert "yield '次へ|画像認証メールアドレス|'" in code  # one literal, folded by Jinja
    assert "yield '次へ|画像認証メールアドレス|'" not in plain
    # left as calls: the text with a variable, and obj._ (a method, not the gettext global)
    assert code.count("context.call(") == 2
    assert plain.count("context.call(") == 6
