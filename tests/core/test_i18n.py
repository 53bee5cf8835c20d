"""Plural forms (issue 11: "1 items"): Translator.ngettext per language, from the compiled .mo and
from the .po alone, and every counted text of the sources translated in each catalog."""
from __future__ import annotations

import re
import shutil

import pytest
from babel.messages.pofile import read_po

from kiosk.i18n import LOCALE_DIR, Translator
from tools.i18n import source_plurals

ITEMS = {"en": ("1 item", "2 items"), "de": ("1 Artikel", "2 Artikel"), "nl": ("1 artikel", "2 artikelen")}
PEOPLE = {"en": ("1 person", "2 people"), "de": ("1 Person", "2 Personen"), "nl": ("1 persoon", "2 personen")}


@pytest.fixture(params=["mo", "po"])
def translator(request, tmp_path):
    """The catalogs as the kiosk reads them: compiled (.mo), or a fresh checkout's .po only."""
    if request.param == "mo":
        from tools.i18n import compile_catalogs
        compile_catalogs(LOCALE_DIR)
        return Translator(("en", "de", "nl"))
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/kiosk.po"):
        target = tmp_path / po.relative_to(LOCALE_DIR)
        target.parent.mkdir(parents=True)
        shutil.copy(po, target)
    return Translator(("en", "de", "nl"), locale_dir=tmp_path)


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
@pytest.mark.parametrize("n", [1, 2])
def test_counts_take_the_plural_form_of_each_language(translator, lang, n):
    items = translator.ngettext("{count} item", "{count} items", n, lang).format(count=n)
    assert items == ITEMS[lang][n - 1]
    booking = translator.ngettext("{name}\n{time}\n{people} person", "{name}\n{time}\n{people} people", n, lang)
    assert booking.format(name="Alex", time="10:00", people=n) == f"Alex\n10:00\n{PEOPLE[lang][n - 1]}"
    assert translator.ngettext("{count} item", "{count} items", 0, lang).format(count=0) in ("0 items", "0 Artikel",
                                                                                            "0 artikelen")


def test_an_unknown_language_or_text_falls_back_to_english_rules(translator):
    assert translator.ngettext("{count} apple", "{count} apples", 1, "de") == "{count} apple"
    assert translator.ngettext("{count} apple", "{count} apples", 3, "de") == "{count} apples"
    assert translator.ngettext("{count} item", "{count} items", 1, "fr") == "{count} item"
    assert translator.ngettext("{count} item", "{count} items", 2, "fr") == "{count} items"


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_every_counted_text_is_translated_with_both_forms(lang):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po").open("rb") as f:
        catalog = read_po(f)
    assert catalog.num_plurals == 2 and catalog.plural_expr == "(n != 1)"
    wanted = source_plurals()
    assert ("{count} item", "{count} items") in wanted and len(wanted) >= 5
    for one, many in wanted:
        message = catalog.get((one, many))
        assert message is not None and message.id == (one, many), f"{lang}: {one!r} has no plural entry"
        assert all(message.string), f"{lang}: {one!r} lacks a form"
        placeholders = set(re.findall(r"{\w+}", one))
        assert all(set(re.findall(r"{\w+}", form)) == placeholders for form in message.string), message.string
