"""Rendering the pages: one jinja2 environment per language, autoescaping always on (everything
a server or a visitor wrote is hostile input), the stylesheet shared with the HTML report."""

from __future__ import annotations

from typing import Any

import jinja2

from mailaudit.report.html import template_dir
from mailaudit.serve.i18n import LANGUAGES, translations
from mailaudit.serve.views import AnswerView, SourceView

# Where the streamed parts of the answer page go; the frame is split there.
_SOURCES = "\x00sources\x00"
_ANSWER = "\x00answer\x00"


def _load(name: str) -> str | None:
    entry = template_dir().joinpath(name)
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


def _environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(lang=lang, languages=LANGUAGES)
    return env


class Pages:
    def __init__(self, *, has_report: bool) -> None:
        self._envs = {lang: _environment(lang) for lang in LANGUAGES}
        self._has_report = has_report
        # The report's stylesheet is plain CSS (a template only so the report can inline it).
        report_css = _load("_style.css.j2") or ""
        own_css = self._envs["en"].get_template("serve/serve.css.j2").render()
        self.stylesheet = (report_css + "\n" + own_css).encode()

    def _render(self, lang: str, name: str, **values: Any) -> str:
        template = self._envs[lang].get_template(name)
        return template.render(has_report=self._has_report, **values)

    def index(
        self, lang: str, *, typed: str = "", problem: str | None = None, error: str | None = None
    ) -> str:
        return self._render(lang, "serve/index.html.j2", typed=typed, problem=problem, error=error)

    def gone(self, lang: str) -> str:
        return self._render(lang, "serve/gone.html.j2")

    def find_frame(self, lang: str, typed: str) -> tuple[str, str, str]:
        """The answer page around its streamed parts: (head, between the sources and the
        answer, tail)."""
        page = self._render(
            lang, "serve/find.html.j2", typed=typed, problem=None, stream=_SOURCES, answer=_ANSWER
        )
        head, _, rest = page.partition(_SOURCES)
        middle, _, tail = rest.partition(_ANSWER)
        return head, middle, tail

    def source(self, lang: str, view: SourceView) -> str:
        return self._render(lang, "serve/_source.html.j2", s=view)

    def answer(self, lang: str, view: AnswerView, token: str) -> str:
        return self._render(lang, "serve/_answer.html.j2", a=view, token=token)

    def failure(self, lang: str, why: str) -> str:
        return self._render(lang, "serve/_failure.html.j2", why=why)

    def report_frame(self, lang: str, **values: Any) -> str:
        return self._render(lang, "serve/report.html.j2", **values)
