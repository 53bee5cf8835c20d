"""Customer-visible text and formats per language: gettext catalogs plus Babel formatting.

Catalogs live in `locale/<lang>/LC_MESSAGES/kiosk.po`; `python -m tools.i18n compile` (run by
`scripts/compile-translations.sh` at setup) writes the `.mo` files next to them. When a `.mo` is
missing or older than its `.po` (a fresh checkout before setup), the `.po` is read directly, so the
kiosk still speaks every language.

English msgids are the source text. `Translator.gettext(msgid, lang)` never fails: an unknown
language or msgid gives the msgid back. A text with a count goes through
`Translator.ngettext(singular, plural, n, lang)` (each catalog's Plural-Forms picks the form), e.g.
`tr.ngettext("{count} item", "{count} items", n, lang).format(count=n)`, never "1 items".

This module only reads catalogs. Finding the messages in the sources, updating the catalogs and compiling
them is translation tooling: tools/i18n.py (not part of the kiosk).
"""
from __future__ import annotations

import functools

import gettext
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from kiosk.wire import format_amount

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
BABEL_LOCALES = {"en": "en_IE", "de": "de_DE", "nl": "nl_NL"}  # en_IE: English with the euro


def babel_locale(lang: str) -> str:
    return BABEL_LOCALES.get(lang, lang)


NATIVE_NAMES = {"en": "English", "de": "Deutsch", "nl": "Nederlands", "fr": "Français"}  # no locale data to load


def language_name(lang: str) -> str:
    """The language's own name, as a customer looks for it: "Deutsch", "Nederlands"."""
    if lang in NATIVE_NAMES:
        return NATIVE_NAMES[lang]
    name = Locale.parse(babel_locale(lang)).get_language_name(babel_locale(lang)) or lang
    return name[:1].upper() + name[1:]


class _PoCatalog(gettext.NullTranslations):
    def __init__(self, po_path: Path):
        super().__init__()
        with po_path.open("rb") as f:
            catalog = read_po(f)
        usable = [m for m in catalog if m.id and m.string and not m.fuzzy]
        self._messages = {m.id: m.string for m in usable if isinstance(m.id, str)}
        self._plurals = {m.id[0]: m.string for m in usable if isinstance(m.id, tuple) and all(m.string)}
        self._plural = gettext.c2py(catalog.plural_expr)

    def gettext(self, message: str) -> str:
        return self._messages.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self._plurals.get(singular)
        if forms is None:
            return singular if n == 1 else plural
        return forms[min(self._plural(n), len(forms) - 1)]


def _load(lang: str, locale_dir: Path) -> gettext.NullTranslations:
    folder = locale_dir / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    if po.exists():
        return _PoCatalog(po)
    return gettext.NullTranslations()


class Translator:
    def __init__(self, languages: list[str] | tuple[str, ...] = ("en", "de", "nl"), locale_dir: Path = LOCALE_DIR):
        self.languages = tuple(languages)
        self._catalogs = {lang: _load(lang, locale_dir) for lang in self.languages}

    def gettext(self, msgid: str, lang: str) -> str:
        catalog = self._catalogs.get(lang)
        return catalog.gettext(msgid) if catalog is not None else msgid

    def ngettext(self, singular: str, plural: str, n: int, lang: str) -> str:
        """The form for `n` in `lang` ("{count} item" / "{count} items"); English rules when unknown."""
        catalog = self._catalogs.get(lang)
        if catalog is None:
            return singular if n == 1 else plural
        return catalog.ngettext(singular, plural, n)

    def __call__(self, msgid: str, lang: str, **values: object) -> str:
        """Translated text with {name} placeholders filled in."""
        text = self.gettext(msgid, lang)
        return text.format(**values) if values else text

    # --- formats --------------------------------------------------------------------------------

    @staticmethod
    def money(amount_minor: int, currency: str, lang: str) -> str:
        return format_amount(amount_minor, currency, babel_locale(lang))

    @staticmethod
    def number(value: int | Decimal, lang: str) -> str:
        return format_decimal(value, locale=babel_locale(lang))

    @staticmethod
    def date(value: date | datetime, lang: str) -> str:
        return format_date(value, format="medium", locale=babel_locale(lang))

    @staticmethod
    def time(value: datetime, lang: str) -> str:
        return format_time(value, format="short", locale=babel_locale(lang))

    @staticmethod
    def datetime(value: datetime, lang: str) -> str:
        return format_datetime(value, format="short", locale=babel_locale(lang))
