"""The console's text in the kiosk's catalogs (locale/<lang>/LC_MESSAGES/kiosk.po, one set of translations and
one tool, tools/i18n.py). The server may import only kiosk.wire from the kiosk, so the catalogs are read here."""
from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.pofile import read_po

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).resolve().parent.parent.parent / "locale"
LANGUAGES = ("en", "de", "nl")
BABEL_LOCALES = {"en": "en_IE", "de": "de_DE", "nl": "nl_NL"}


class _Po(gettext.NullTranslations):
    def __init__(self, path: Path):
        super().__init__()
        with path.open("rb") as f:
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
    return _Po(po) if po.exists() else gettext.NullTranslations()


class Catalogs:
    def __init__(self, locale_dir: Path = LOCALE_DIR):
        self._by_lang = {lang: _load(lang, locale_dir) for lang in LANGUAGES}

    def get(self, lang: str) -> gettext.NullTranslations:
        return self._by_lang.get(lang) or self._by_lang["en"]


def pick_language(choice: str | None, accept_language: str | None) -> str:
    """The user's choice (cookie) if it is one we have, else the best of Accept-Language, else English."""
    if choice in LANGUAGES:
        return choice
    ranked = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower().split("-")[0]))
    for _q, _i, lang in sorted(ranked):
        if lang in LANGUAGES:
            return lang
    return "en"
