"""Languages of the page: gettext catalogues (Babel `.po` files under `locale/`), chosen from
the `lang` parameter, else from `Accept-Language`, else English.

The catalogues are compiled in memory at start, so the repository holds only the `.po` text.
`N_` marks a string for extraction where it is defined; the template translates it where it is
shown (`pybabel extract -F mailaudit/serve/babel.cfg -k N_ ...`)."""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"en": "English", "el": "Ελληνικά"}
DEFAULT = "en"
# An Accept-Language header longer than this is not worth parsing.
_MAX_HEADER = 512


def N_(text: str) -> str:  # gettext convention: mark for translation, translate later
    return text


def catalogue_path(lang: str) -> str:
    return f"locale/{lang}/LC_MESSAGES/messages.po"


@cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()
    source = resources.files("mailaudit.serve").joinpath(catalogue_path(lang))
    with source.open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def choose(param: str | None, accept_language: str | None) -> str:
    """The page language: an explicit choice wins, then the browser's preference."""
    if param in LANGUAGES:
        return param
    best, best_q = DEFAULT, 0.0
    for position, item in enumerate((accept_language or "")[:_MAX_HEADER].split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        q -= position * 1e-6  # equal weights: the first listed wins
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best
