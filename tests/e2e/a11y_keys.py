"""Keys-only driving of the launched kiosk in its accessible mode, and what it should say.

`Keys` presses real X keys on the kiosk's display and reads the speech engine's phrase log; `Speech`
builds the phrases the accessible mode should say from the product's sources of truth (the msgids of
kiosk/flows/texts.py through kiosk.i18n.Translator, the button labels of the `ui` query,
kiosk.speech.money_words), and checks that nothing said in German or Dutch is untranslated.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import tomllib

from babel.messages.pofile import read_po

from launched import ROOT

from kiosk.flows import texts
from kiosk.i18n import LOCALE_DIR, Translator, language_name
from kiosk.speech import money_words

TR = Translator()
HEADER = ("lang_en", "lang_de", "lang_nl", "large_text", "help")
LANG_NAMES = {"lang_en": ("en", "English"), "lang_de": ("de", "Deutsch"), "lang_nl": ("nl", "Nederlands")}
SHOP = tomllib.loads((ROOT / "kiosk.toml").read_text())["kiosk"]["name"]
DEMO_CATALOG = json.loads((ROOT / "assets/demo/catalog.json").read_text())
ITEM_NAMES = [item["names"] for item in DEMO_CATALOG]
PRICES = {item["gtin"]: int(item["price"].replace(".", "")) for item in DEMO_CATALOG if "gtin" in item}  # cents
CART_CONTROLS = {"minus": "One less: {name}", "plus": "One more: {name}", "void": "Remove: {name}"}
MONEY_UNITS = ("{count} euro", "{count} euros", "{count} cent", "{count} cents")
SETTLE_S = 0.3  # after the last expected phrase: anything more said by then is reported (later: at the next)


def shown_focus_order(view: dict) -> list[str]:
    """The focusable controls the `ui` query shows: every enabled button in the order it is laid out (not
    the technician's logo), the screen's own first, the header's last."""
    tags = [b["tag"] for b in view["buttons"] if b["enabled"] and b["tag"] != "logo"]
    return [t for t in tags if t not in HEADER] + [t for t in tags if t in HEADER]


class Speech:
    """What the accessible mode should say in `lang`."""

    def __init__(self, lang: str):
        self.lang = lang

    def tr(self, msgid: str, **values) -> str:
        return TR.gettext(msgid, self.lang).format(**values)

    def money(self, amount: int) -> str:
        return money_words(amount, "EUR", TR.ngettext, self.lang)

    def total(self, amount: int) -> str:
        return self.tr("Total") + ": " + self.money(amount)

    def items(self, count: int) -> str:
        return TR.ngettext("{count} item", "{count} items", count, self.lang).format(count=count)

    def screen(self, state: str, *middle: str, after: tuple[str, ...] = ()) -> list[str]:
        """A screen as it appears: its title, what matters on it, what to do, then any terminal text."""
        title = self.tr(texts.SCREEN_TITLES[state], shop=SHOP)
        return [title, *middle, self.tr(texts.SCREEN_HINTS[state]), *after]

    def label(self, view: dict, tag: str, total: int = 0) -> str:
        """What the accessible mode says as `tag` gets the focus (its label as the `ui` query shows it)."""
        [button] = [b for b in view["buttons"] if b["tag"] == tag][-1:] or [None]
        assert button is not None, f"no button {tag!r} shown: {[b['tag'] for b in view['buttons']]}"
        kind, _, n = tag.rpartition("_")
        if kind in CART_CONTROLS:
            return self.tr(CART_CONTROLS[kind], name=view["cart"][int(n) - 1]["name"])
        if kind == "rate":
            return self.tr("{stars} of 5 stars", stars=int(n))
        if tag == "pay":
            return self.tr("Pay by card") + ", " + self.money(total)
        if tag == "accessible_mode":
            return self.tr("Speech guidance is on.")
        if tag in ("large_text", "low_reach"):
            return self.tr("{label}: on" if view[tag] else "{label}: off", label=button["text"])
        if tag in LANG_NAMES:
            assert button["text"] == LANG_NAMES[tag][1], button
        return button["text"]

    def voice_of(self, tag: str) -> str:
        return LANG_NAMES[tag][0] if tag in LANG_NAMES else self.lang


class Keys:
    """The keypad: X key events on the kiosk's display; what it said: the phrase log, read from `mark` on."""

    def __init__(self, kiosk, log, speech: Speech):
        self.kiosk, self.log, self.speech = kiosk, log, speech
        self.mark = 0

    def press(self, *names: str) -> None:
        subprocess.run(["xdotool", "key", "--delay", "40", *names], env={**os.environ,
                       "DISPLAY": self.kiosk.display.name}, check=True, timeout=30)

    def type(self, text: str) -> None:
        for char in text:  # one at a time: each is said, and a key cuts off the phrase before it
            self.press(char)
            self.expect([char.upper()], f"typing {char!r}")

    def phrases(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def expect(self, texts_: list[str], what: str, voices: list[str] | None = None, timeout: float = 60,
               settle: float = SETTLE_S) -> None:
        """The phrases said since the last expectation are exactly `texts_`, in order, each in the session's
        language (or `voices`); nothing more is said within SETTLE_S."""
        deadline = time.monotonic() + timeout
        said = self.phrases()[self.mark:]
        while len(said) < len(texts_) and time.monotonic() < deadline:
            time.sleep(0.1)
            said = self.phrases()[self.mark:]
        if len(said) == len(texts_):
            time.sleep(settle)
            said = self.phrases()[self.mark:]
        assert [p["text"] for p in said] == texts_, f"{what}: said {[p['text'] for p in said]}, expected {texts_}"
        want = voices or [self.speech.lang] * len(texts_)
        assert [p["lang"] for p in said] == want, f"{what}: spoken in {[p['lang'] for p in said]}, not {want}"
        self.mark += len(said)

    def take(self, done, what: str, timeout: float = 60) -> list[dict]:
        """The phrases said since the last expectation once `done(texts)` holds (and SETTLE_S later)."""
        deadline = time.monotonic() + timeout
        while not done([p["text"] for p in self.phrases()[self.mark:]]):
            assert time.monotonic() < deadline, f"{what}: said {[p['text'] for p in self.phrases()[self.mark:]]}"
            time.sleep(0.1)
        time.sleep(SETTLE_S)
        said = self.phrases()[self.mark:]
        assert all(p["lang"] == self.speech.lang for p in said), [(p["text"], p["lang"]) for p in said]
        self.mark += len(said)
        return said

    def step(self, key: str = "Down", total: int = 0) -> tuple[str, dict]:
        """One press of `key`: the control that gets the focus, and checks that its label is said."""
        before = self.kiosk.ui()["focus"]
        self.press(key)
        view = self.kiosk.wait_ui(lambda v: v["focus"] != before, 30, f"the focus to move from {before}")
        tag = view["focus"]
        self.expect([self.speech.label(view, tag, total)], f"focus on {tag}", [self.speech.voice_of(tag)])
        return tag, view

    def walk_ring(self, total: int = 0) -> list[str]:
        """Next, next, … until the focus is back where it began: every control the screen shows is reached,
        in the order it shows them, and each is said; returns that order."""
        view = self.kiosk.ui()
        shown = shown_focus_order(view)
        assert view["focus_order"] == shown, f"focus order {view['focus_order']}, the screen shows {shown}"
        assert view["focus"] == shown[0], f"the focus starts on {view['focus']}, not {shown[0]}"
        visited = [view["focus"]]
        for _ in range(len(shown) + 2):
            tag, _view = self.step(total=total)
            if tag == visited[0]:
                break
            visited.append(tag)
        assert visited == shown, f"next, next, …: {visited}; the screen shows {shown}"
        return visited

    def focus(self, tag: str, total: int = 0) -> None:
        """Moves the focus to `tag`, one next at a time (each control on the way is said)."""
        while self.kiosk.ui()["focus"] != tag:
            self.step(total=total)

    def choose(self, tag: str, total: int = 0) -> None:
        self.focus(tag, total)
        self.press("Return")


# --- nothing untranslated -----------------------------------------------------------------------------------

def _catalog() -> list:
    with open(LOCALE_DIR / "en" / "LC_MESSAGES" / "kiosk.po", "rb") as f:
        return [m for m in read_po(f) if m.id]


def _forms(msgid, lang: str) -> list[tuple[str, str]]:
    """(English, translated) for each form of a message."""
    if isinstance(msgid, str):
        return [(msgid, TR.gettext(msgid, lang))]
    singular, plural = msgid[0], msgid[1]
    return [(singular, TR.ngettext(singular, plural, 1, lang)), (plural, TR.ngettext(singular, plural, 2, lang))]


def _pattern(text: str, value: str) -> str:
    parts = re.split(r"\{\w+\}", text.replace("\n", ". "))  # lines are said as sentences
    return value.join(re.escape(p) for p in parts)


class Untranslated:
    """Every phrase said in German or Dutch is one the language's catalog produces: translated messages,
    joined as the accessible mode joins them (": ", ". ", ", "), with item names in that language, amounts
    and numbers, codes and the booking's data in their places; and none is (or holds) an English message
    whose translation differs."""

    def __init__(self, lang: str, data: tuple[str, ...] = ()):
        forms = [form for m in _catalog() for form in _forms(m.id, lang)]
        plain = sorted({t for _, t in forms if "{" not in t}, key=len, reverse=True)
        names = sorted({n.get(lang, n["en"]) for n in ITEM_NAMES}, key=len, reverse=True)
        languages = [language_name(code) for code in ("en", "de", "nl")]  # each said in its own voice
        units = "|".join(_pattern(t, r"\d+") for en, t in forms if en in MONEY_UNITS)
        money = f"(?:minus )?(?:{units})(?: \\d+)?"
        value = "(?:" + "|".join([money, *map(re.escape, [*names, *languages, SHOP, *data, *plain])]) \
            + r"|[\d.,:]+|[A-Z0-9]{1,12})"
        pieces = sorted({_pattern(t, value) for _, t in forms}, key=len, reverse=True)
        piece = "(?:" + "|".join(pieces) + "|" + value + ")"
        self.grammar = re.compile(f"{piece}(?:(?:: |\\. |, | (?=\\d)){piece})*")
        self.english = [re.compile(_pattern(en, ".+")) for en, t in forms
                        if en != t and len(re.sub(r"\{\w+\}|\W", "", en)) >= 2]
        self.english_plain = {en for en, t in forms if en != t and "{" not in en}

    def check(self, text: str) -> None:
        assert self.grammar.fullmatch(text), f"not a phrase of the catalog: {text!r}"
        for piece in [text, *re.split(r": |\. |, ", text)]:
            assert piece not in self.english_plain, f"untranslated {piece!r} in {text!r}"
            assert not any(p.fullmatch(piece) for p in self.english), f"English in {text!r}: {piece!r}"
