"""Customer-visible text and formats per language: gettext catalogs plus Babel formatting.

Catalogs live in `locale/<lang>/LC_MESSAGES/kiosk.po`; `python -m kiosk.i18n compile` (run by
`scripts/compile-translations.sh` at setup) writes the `.mo` files next to them. When a `.mo` is
missing or older than its `.po` (a fresh checkout before setup), the `.po` is read directly, so the
kiosk still speaks every language.

English msgids are the source text. `Translator.gettext(msgid, lang)` never fails: an unknown
language or msgid gives the msgid back. A text with a count goes through
`Translator.ngettext(singular, plural, n, lang)` (each catalog's Plural-Forms picks the form), e.g.
`tr.ngettext("{count} item", "{count} items", n, lang).format(count=n)`, never "1 items".
"""
from __future__ import annotations

import functools

import gettext
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
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


# --- build step -----------------------------------------------------------------------------------

def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every `.po` under `locale_dir` to its `.mo`; returns the files written."""
    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, catalog)
        written.append(mo)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["update"]:
        for lang, missing in update_catalogs().items():
            print(f"{lang}: {len(missing)} untranslated" + "".join(f"\n  {m!r}" for m in missing))
        return 0
    if argv[:1] != ["compile"]:
        print("usage: python -m kiosk.i18n compile [LOCALE_DIR] | update", file=sys.stderr)
        return 2
    for mo in compile_catalogs(Path(argv[1]) if len(argv) > 1 else LOCALE_DIR):
        print(f"compiled {mo}")
    return 0



# --- the messages the kiosk shows -----------------------------------------------------------------

_ROOT = Path(__file__).resolve().parent.parent
_CALL = re.compile(r"""(?:\btr|(?<!n)gettext)\(\s*(?P<q>['"])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)""")
_NCALL = re.compile(r"""(?:ngettext|counted)\([^'"()]*?(?P<q1>['"])(?P<one>(?:\\.|(?!(?P=q1)).)*)(?P=q1)\s*,\s*"""
                    r"""(?P<q2>['"])(?P<many>(?:\\.|(?!(?P=q2)).)*)(?P=q2)""")


def source_messages(root: Path = _ROOT) -> set[str]:
    """Every customer-visible msgid: tr("...")/gettext("...") calls in the screens (.py and .kv) and
    flows, plus the flows' message constants (kiosk.flows.texts)."""
    from kiosk.flows import texts
    found: set[str] = set()
    files = [*sorted((root / "screens").glob("*.kv")), *sorted((root / "screens").glob("*.py")),
             *sorted((root / "kiosk" / "flows").glob("*.py"))]
    for path in files:
        for match in _CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(_unescape(match["text"]))
    for name, value in vars(texts).items():
        if name.startswith("_"):
            continue
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            found.update(v for v in value.values() if isinstance(v, str))
    found.discard("")
    return found


def source_plurals(root: Path = _ROOT) -> set[tuple[str, str]]:
    """Every (singular, plural) pair of the ngettext (and maintenance `counted`) calls in the screens
    (the maintenance pages too: technicians see counts as well) and in kiosk/."""
    found: set[tuple[str, str]] = set()
    files = [*sorted((root / "screens").rglob("*.kv")), *sorted((root / "screens").rglob("*.py")),
             *sorted((root / "kiosk").rglob("*.py"))]
    for path in files:
        for match in _NCALL.finditer(path.read_text(encoding="utf-8")):
            found.add((_unescape(match["one"]), _unescape(match["many"])))
    return found


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape").encode("latin-1").decode("utf-8") if "\\" in text else text


def update_catalogs(languages: tuple[str, ...] = ("en", "de", "nl"), locale_dir: Path = LOCALE_DIR,
                    translations: dict[str, dict[str, str]] | None = None) -> dict[str, list[str]]:
    """Writes `kiosk.pot` from the sources and brings each language's `.po` up to date: new msgids
    are added untranslated (English gets itself), vanished ones are dropped. Returns, per language,
    the msgids still without a translation."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po
    messages: list = [*sorted(source_messages()), *sorted(source_plurals())]
    template = Catalog(project="selfservice-kiosk", domain=DOMAIN)
    for msgid in messages:
        template.add(msgid)
    locale_dir.mkdir(parents=True, exist_ok=True)
    with (locale_dir / f"{DOMAIN}.pot").open("wb") as f:
        write_po(f, template, omit_header=True, width=120)
    missing: dict[str, list[str]] = {}
    for lang in languages:
        po = locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        old: dict[str, str] = {}
        if po.exists():
            with po.open("rb") as f:
                old = {m.id: m.string for m in read_po(f) if m.id}
        old.update((translations or {}).get(lang, {}))
        catalog = Catalog(locale=babel_locale(lang), project="selfservice-kiosk", domain=DOMAIN)
        for msgid in messages:
            catalog.add(msgid, msgid if lang == "en" else old.get(msgid, ""))
        po.parent.mkdir(parents=True, exist_ok=True)
        with po.open("wb") as f:
            write_po(f, catalog, width=120)
        missing[lang] = [m for m in messages if not all(_forms(catalog.get(m).string))]
    return missing


def _forms(string: str | tuple) -> tuple:
    return string if isinstance(string, tuple) else (string,)


if __name__ == "__main__":
    raise SystemExit(main())
