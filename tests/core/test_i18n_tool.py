"""Issue 12: the translation tooling (tools/i18n.py, outside the runtime). Every message the code translates
is in each catalog, and updating the catalogs never loses a translation."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.i18n import Translator
from tools import i18n as tool

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "de", "nl")


def translations(locale_dir: Path, lang: str) -> dict:
    with (locale_dir / lang / "LC_MESSAGES" / "kiosk.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id and tool.translated(m)}


def test_the_extractor_finds_the_messages_of_every_kind_of_source():
    found = tool.source_locations()
    where = {w.split(":")[0] for ws in found.values() for w in ws}
    assert any(w.endswith(".kv") for w in where)  # app.tr('...') in kv rules
    assert "screens/session_texts.py" in where and "launcher/backend.py" in where
    assert "screens/maintenance/model.py" in where  # technicians' counted texts
    assert ("{count} unsent transaction written", "{count} unsent transactions written") in found  # counted(tr, ...)
    assert ("{count} item", "{count} items") in found and "Thank you for your visit!" in found
    assert "kiosk.flows.texts.UNKNOWN_ITEM" in {w for ws in found.values() for w in ws}


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_of_the_code_is_translated_in_each_catalog(lang):
    problems = tool.check_catalogs([lang])[lang]
    assert problems == [], f"{lang}: {len(problems)} messages of the code lack a translation:\n" + "\n".join(problems)


def test_update_keeps_every_translation_and_appends_new_messages(tmp_path):
    locale = tmp_path / "locale"
    shutil.copytree(ROOT / "locale", locale)
    before = {lang: translations(locale, lang) for lang in LANGS}
    assert all(len(b) > 100 for b in before.values())
    texts = {lang: (locale / lang / "LC_MESSAGES" / "kiosk.po").read_bytes() for lang in LANGS}

    missing = tool.update_catalogs(locale_dir=locale)  # the real sources: nothing to add, nothing rewritten
    assert missing == {lang: [] for lang in LANGS}
    assert {lang: (locale / lang / "LC_MESSAGES" / "kiosk.po").read_bytes() for lang in LANGS} == texts

    # A source tree that lacks almost everything the catalogs hold, and has two new texts: the catalogs
    # keep every translation (a msgid the extractor does not see may be used through a variable).
    source = tmp_path / "src"
    (source / "screens").mkdir(parents=True)
    (source / "kiosk").mkdir()
    (source / "screens" / "new.kv").write_text("<New@Label>:\n    text:\n        app.tr('A brand new text')\n")
    (source / "kiosk" / "new.py").write_text('def f(tr, n):\n    return tr.ngettext("{count} pear", "{count} pears", n, "de")\n')
    missing = tool.update_catalogs(locale_dir=locale, root=source)
    for lang in LANGS:
        after = translations(locale, lang)
        lost = {k: v for k, v in before[lang].items() if after.get(k) != v}
        assert not lost, f"{lang}: translations lost or changed by update: {list(lost)[:5]}"
        assert (locale / lang / "LC_MESSAGES" / "kiosk.po").read_bytes().startswith(texts[lang])  # only appended
    assert missing["en"] == [] and translations(locale, "en")["A brand new text"] == "A brand new text"
    assert set(missing["de"]) == {"A brand new text", ("{count} pear", "{count} pears")} == set(missing["nl"])
    assert tool.compile_catalogs(locale)  # the appended entries are valid .po
    assert Translator(LANGS, locale_dir=locale).gettext("Thank you for your visit!", "de") == \
        before["de"]["Thank you for your visit!"]


def test_compile_script_uses_the_tool(tmp_path):
    locale = tmp_path / "locale"
    shutil.copytree(ROOT / "locale", locale, ignore=shutil.ignore_patterns("*.mo"))
    result = subprocess.run([sys.executable, "-m", "tools.i18n", "compile", str(locale)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(p.parent.parent.name for p in locale.glob("*/LC_MESSAGES/kiosk.mo")) == sorted(LANGS)
    assert "tools.i18n compile" in (ROOT / "scripts" / "compile-translations.sh").read_text()
    assert Translator(LANGS, locale_dir=locale).gettext("Age check", "de") == "Alterskontrolle"


def test_the_runtime_has_no_extraction_or_update():
    import kiosk.i18n as runtime
    for name in ("source_messages", "source_plurals", "update_catalogs", "compile_catalogs", "main"):
        assert not hasattr(runtime, name), name
