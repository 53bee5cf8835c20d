"""Translation tooling, kept out of the kiosk's runtime (kiosk/i18n.py only reads catalogs).

    python -m tools.i18n extract   # locale/kiosk.pot from the sources
    python -m tools.i18n update    # the .pot, then new msgids appended to every locale/<lang>/.../kiosk.po
    python -m tools.i18n check     # exit 1 when a message of the sources lacks a translation in a catalog
    python -m tools.i18n compile [LOCALE_DIR]   # .po -> .mo (scripts/compile-translations.sh runs this)

Messages are found with Babel's extractors: the Python extractor for .py files and, line by line, for .kv
files (a kv property value is a Python expression: `text: app.tr('Pay')`), Jinja2's for the console's .html
templates (server/console/templates). The
keywords are every translating call the code makes: `_()`, `tr()`, `gettext()`, `ngettext()` (and the
maintenance pages' `counted(translator, singular, plural, n)`). All packages that show customer or
technician text are scanned (SOURCE_PACKAGES), plus the message table kiosk.flows.texts, whose
constants are msgids the flows hand to the screens.

`update` never drops a msgid: entries of a catalog that the extractor does not find (a text used through
a variable, say) are kept as they are, translations included; new msgids are appended untranslated
(English gets the msgid itself) and listed, so a translator fills them in.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Iterable, Iterator

from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from kiosk.i18n import BABEL_LOCALES, DOMAIN, LOCALE_DIR  # where the runtime reads the catalogs

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "de", "nl")
SOURCE_PACKAGES = ("screens", "kiosk", "launcher", "devices", "server/console")  # every package that may show text
MESSAGE_TABLES = ("kiosk.flows.texts",)
KEYWORDS = {"_": None, "gettext": None, "tr": None, "ngettext": (1, 2), "counted": (2, 3)}



def extract_kv(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """A Babel extractor for Kivy .kv files: each line, unindented, through the Python extractor (a kv
    value is a Python expression; rule headers and `#:` directives tokenize harmlessly)."""
    lines = fileobj.read().decode("utf-8").splitlines()
    text = "\n".join(line.strip() for line in lines) + "\n"
    yield from extract_python(io.BytesIO(text.encode("utf-8")), keywords, comment_tags,
                              dict(options, encoding="utf-8"))


def extract_jinja(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """The console's Jinja2 templates (server/console/templates): `{{ _("Lanes") }}`."""
    from jinja2.ext import babel_extract
    yield from babel_extract(fileobj, keywords, comment_tags, dict(options, trimmed="false"))


def _files(root: Path) -> Iterator[Path]:
    for package in SOURCE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".kv", ".html") and "__pycache__" not in path.parts:
                yield path


def source_locations(root: Path = ROOT) -> dict[object, list[str]]:
    """Every message of the sources -> where it is used ("screens/pay.kv:12", or the table's module)."""
    found: dict[object, list[str]] = {}
    for path in _files(root):
        method = {".kv": extract_kv, ".html": extract_jinja}.get(path.suffix, "python")
        data = path.read_bytes()
        # One keyword per pass: Babel's Python extractor takes any keyword name inside a call for the start
        # of a new call, so `counted(tr, "{count} file", ...)` would be lost with `tr` and `counted` together.
        for keyword, spec in KEYWORDS.items():
            for lineno, message, _comments, _context in extract(method, io.BytesIO(data), keywords={keyword: spec},
                                                                 options={"encoding": "utf-8"}):
                if message and all(message if isinstance(message, tuple) else (message,)):
                    found.setdefault(message, []).append(f"{path.relative_to(root)}:{lineno}")
    for message, where in _table_messages():
        found.setdefault(message, []).append(where)
    return found


def _table_messages() -> Iterator[tuple[str, str]]:
    import importlib
    for name in MESSAGE_TABLES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if attr.startswith("_"):
                continue
            values = [value] if isinstance(value, str) else list(value.values()) if isinstance(value, dict) else []
            for text in values:
                if isinstance(text, str) and text:
                    yield text, f"{name}.{attr}"


def source_messages(root: Path = ROOT) -> set[str]:
    """Every plain msgid (no plural) the sources translate."""
    return {m for m in source_locations(root) if isinstance(m, str)}


def source_plurals(root: Path = ROOT) -> set[tuple[str, str]]:
    """Every (singular, plural) pair the sources translate with ngettext/counted."""
    return {m for m in source_locations(root) if isinstance(m, tuple)}


def _ordered(messages: Iterable) -> list:
    return sorted(messages, key=lambda m: (isinstance(m, tuple), m if isinstance(m, tuple) else (m,)))


def write_template(messages: Iterable, locale_dir: Path = LOCALE_DIR) -> Path:
    template = Catalog(project="selfservice-kiosk", domain=DOMAIN)
    for message in _ordered(messages):
        template.add(message)
    locale_dir.mkdir(parents=True, exist_ok=True)
    pot = locale_dir / f"{DOMAIN}.pot"
    with pot.open("wb") as f:
        write_po(f, template, omit_header=True, width=120)
    return pot


def _read(po: Path) -> Catalog | None:
    if not po.exists():
        return None
    with po.open("rb") as f:
        return read_po(f)


def translated(message) -> bool:
    return message is not None and not message.fuzzy and bool(message.string) and all(
        message.string if isinstance(message.string, tuple) else (message.string,))


def update_catalogs(languages: Iterable[str] = LANGUAGES, locale_dir: Path = LOCALE_DIR,
                    root: Path = ROOT) -> dict[str, list]:
    """Writes the .pot and appends each source message a catalog lacks to it (English: the msgid itself,
    other languages: untranslated). Nothing is removed or reordered. Returns, per language, the source
    messages still without a translation."""
    messages = _ordered(source_locations(root))
    write_template(messages, locale_dir)
    missing: dict[str, list] = {}
    for lang in languages:
        po = locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        catalog = _read(po)
        if catalog is None:  # a new language: a fresh catalog with its header
            catalog = Catalog(locale=BABEL_LOCALES.get(lang, lang), project="selfservice-kiosk", domain=DOMAIN)
            po.parent.mkdir(parents=True, exist_ok=True)
            with po.open("wb") as f:
                write_po(f, catalog, width=120)
        new = Catalog(locale=catalog.locale, domain=DOMAIN)
        for message in messages:
            if message not in catalog:
                empty = ("", "") if isinstance(message, tuple) else ""
                new.add(message, message if lang == "en" else empty)
                catalog.add(message, message if lang == "en" else empty)
        if len(new):  # appended as text: the existing entries stay byte for byte as they are
            entries = io.BytesIO()
            write_po(entries, new, omit_header=True, width=120)
            text = po.read_bytes()
            with po.open("ab") as f:
                f.write((b"" if text.endswith(b"\n\n") or not text else b"\n" if text.endswith(b"\n") else b"\n\n")
                        + entries.getvalue())
        missing[lang] = [m for m in messages if not translated(catalog.get(m))]
    return missing


def check_catalogs(languages: Iterable[str] = LANGUAGES, locale_dir: Path = LOCALE_DIR,
                   root: Path = ROOT) -> dict[str, list[str]]:
    """Per language, the source messages (with where they are used) missing or untranslated in its .po."""
    found = source_locations(root)
    problems: dict[str, list[str]] = {}
    for lang in languages:
        catalog = _read(locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po") or Catalog()
        problems[lang] = [f"{message!r} ({', '.join(where[:2])})" for message, where in found.items()
                          if not translated(catalog.get(message))]
    return problems


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every `.po` under `locale_dir` to its `.mo`; returns the files written."""
    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = _read(po)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, catalog)
        written.append(mo)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else ""
    if command == "compile":
        for mo in compile_catalogs(Path(argv[1]) if len(argv) > 1 else LOCALE_DIR):
            print(f"compiled {mo}")
        return 0
    if command == "extract":
        print(f"wrote {write_template(source_locations())}")
        return 0
    if command == "update":
        for lang, missing in update_catalogs().items():
            print(f"{lang}: {len(missing)} untranslated" + "".join(f"\n  {m!r}" for m in missing))
        return 0
    if command == "check":
        problems = check_catalogs()
        for lang, missing in problems.items():
            print(f"{lang}: {len(missing)} missing" + "".join(f"\n  {m}" for m in missing))
        return 1 if any(problems.values()) else 0
    print("usage: python -m tools.i18n extract | update | check | compile [LOCALE_DIR]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
