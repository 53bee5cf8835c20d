"""The accessible mode on the launched kiosk, driven by keys only: real X key events (`xdotool key` on the
kiosk's display, as a USB keypad sends them), no taps. The speech engine (real espeak-ng, no sound
device) appends every phrase to a log the test reads: each screen's title and its amounts are asserted
in the session's language, nothing English is said in German or Dutch, and each screen's focus order
is checked. Scans and the card payment still come from the devices (the simulators' control port)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from launched import BREAD, BUTTER, CHOCOLATE, COFFEE, MILK

from kiosk.flows import texts
from kiosk.i18n import Translator
from kiosk.speech import money_words
from screens.theme import keyboard

TR = Translator()
TR_KEYBOARD = {lang: "".join(k for k in keyboard(lang, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") if k != "|")
               for lang in ("en", "de", "nl")}
HEADER = ["lang_en", "lang_de", "lang_nl", "large_text", "help"]
LANG_KEYS = {"en": "lang_en", "de": "lang_de", "nl": "lang_nl"}


def english_sentences() -> set[str]:
    """English source texts that German and Dutch say differently: none may be heard in de/nl."""
    from babel.messages.pofile import read_po
    with open(TR_PATH, "rb") as f:
        catalog = read_po(f)
    found = set()
    for m in catalog:
        if isinstance(m.id, str) and len(m.id) >= 10 and " " in m.id:
            plain = m.id.split("{")[0].strip()
            if len(plain) >= 10 and TR.gettext(m.id, "de") != m.id and TR.gettext(m.id, "nl") != m.id:
                found.add(plain)
    return found


from kiosk.i18n import LOCALE_DIR  # noqa: E402

TR_PATH = LOCALE_DIR / "en" / "LC_MESSAGES" / "kiosk.po"


class Keys:
    """The keypad: X key events on the kiosk's display; what it said: the phrase log."""

    def __init__(self, kiosk, log):
        self.kiosk, self.log = kiosk, log

    def press(self, *names: str) -> None:
        subprocess.run(["xdotool", "key", "--delay", "40", *names], env={**os.environ,
                       "DISPLAY": self.kiosk.display.name}, check=True, timeout=20)

    def type(self, text: str) -> None:
        subprocess.run(["xdotool", "type", "--delay", "60", text], env={**os.environ,
                       "DISPLAY": self.kiosk.display.name}, check=True, timeout=20)

    def phrases(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def wait_said(self, predicate, what: str, timeout: float = 20) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            said = self.phrases()
            if any(predicate(p) for p in said):
                return said
            time.sleep(0.1)
        raise AssertionError(f"never said {what}; said: {[p['text'] for p in self.phrases()][-12:]}")

    def wait_title(self, state: str, lang: str, start: int = 0, **values) -> list[dict]:
        title = TR.gettext(texts.SCREEN_TITLES[state], lang).format(shop="Self-service", **values)
        return self.wait_said(lambda p: p["lang"] == lang and p["text"] == title, f"{title!r} ({lang})")

    def focus(self, tag: str) -> dict:
        """Moves the focus to `tag` with the next key, and checks it is announced."""
        view = self.kiosk.wait_ui(lambda v: tag in v["focus_order"], 20, f"{tag} in the focus order")
        order = view["focus_order"]
        steps = (order.index(tag) - order.index(view["focus"])) % len(order) if view["focus"] in order else 0
        if steps:
            self.press(*["Down"] * steps)
        return self.kiosk.wait_ui(lambda v: v["focus"] == tag, 20, f"focus on {tag}")

    def choose(self, tag: str) -> None:
        self.focus(tag)
        self.press("Return")


def _start(launch, tmp_path):
    log = tmp_path / "phrases.jsonl"
    kiosk = launch(KIOSK_SPEECH_PHRASE_LOG=str(log), KIOSK_SPEECH_PLAYER="", KIOSK_SPEECH_WAV_DIR=str(tmp_path / "wav"))
    keys = Keys(kiosk, log)
    kiosk.xclick(5, 795)  # the pointer over the window (a corner of the screen) so X gives it the keys
    return kiosk, keys


def _enter_accessible_mode(kiosk, keys, lang: str) -> None:
    keys.press("F12")
    view = kiosk.wait_ui(lambda v: v["accessible"], 20, "the accessible mode")
    assert view["focus_order"] == ["start_checkout", "start_checkin", "accessible_mode", "low_reach"] + HEADER
    assert view["focus"] == "start_checkout"
    keys.wait_title("attract", "en")
    if lang != "en":
        keys.choose(LANG_KEYS[lang])
        kiosk.wait_ui(lambda v: v["lang"] == lang, 20, f"language {lang}")
        keys.wait_title("attract", lang)


def _no_english_in(said: list[dict], lang: str) -> None:
    if lang == "en":
        return
    english = english_sentences()
    for phrase in said:
        if phrase["lang"] != lang:
            continue
        heard = [s for s in english if s in phrase["text"]]
        assert not heard, f"untranslated in {lang}: {phrase['text']!r} contains {heard}"
    assert all(p["voice"] == {"de": "de", "nl": "nl"}[lang] for p in said if p["lang"] == lang)


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_keys_only_checkout_of_five_items_with_a_quantity_change(launch, tmp_path, lang):
    kiosk, keys = _start(launch, tmp_path)
    _enter_accessible_mode(kiosk, keys, lang)
    kiosk.send("payment pin 3")  # the customer takes 3 s over the PIN: the prompts are heard
    for code in (MILK, BREAD, BUTTER, COFFEE, CHOCOLATE):
        kiosk.scan(code)  # scanning works as ever
    view = kiosk.wait_ui(lambda v: len(v["cart"]) == 5, 10, "five cart lines")
    keys.wait_title("checkout", lang)
    lines = [f"{kind}_{n}" for n in range(1, 6) for kind in ("minus", "plus", "void")]
    assert view["focus_order"] == lines + ["lookup", "pay", "cancel_session"] + HEADER

    keys.choose("plus_2")  # one more of the second item
    view = kiosk.wait_ui(lambda v: v["cart"][1]["quantity"] == 2, 20, "quantity 2")
    name = view["cart"][1]["name"]
    keys.wait_said(lambda p: p["text"] == TR.gettext("{name}: quantity {quantity}", lang).format(
        name=name, quantity=2), "the new quantity")
    keys.press("F3")  # the cart, line by line
    keys.wait_said(lambda p: p["text"].startswith(TR.gettext("Line {n}: {name}, {quantity} at {price}, {total}",
                                                             lang).split("{")[0] + "5"), "the cart's 5th line")

    total = _total_of(view)
    spoken_total = money_words(total, "EUR", TR.ngettext, lang)
    keys.choose("pay")
    keys.wait_title("payment", lang)
    keys.wait_said(lambda p: p["text"] == TR.gettext("Amount to pay", lang) + ": " + spoken_total,
                   f"the amount {spoken_total!r}")
    view = kiosk.wait_screen("receipt", 40)
    keys.wait_title("receipt", lang)
    assert view["focus_order"][:3] == ["receipt_print", "receipt_qr_choice", "receipt_none"]
    keys.choose("receipt_print")
    view = kiosk.wait_screen("thanks", 20)
    keys.wait_title("thanks", lang)
    assert view["focus_order"][:5] == [f"rate_{n}" for n in range(1, 6)]
    keys.choose("thanks_done")
    view = kiosk.wait_ui(lambda v: v["screen"] == "attract" and not v["accessible"], 20, "the session to end")
    [sale] = kiosk.assert_books_agree()
    assert sale["total"] == total
    said = keys.phrases()
    _no_english_in(said, lang)
    prompts = {TR.gettext(t, lang) for t in (texts.INSERT_CARD, texts.ENTER_PIN, texts.PLEASE_WAIT)}
    assert prompts & {p["text"] for p in said}, "no card terminal prompt was said"
    names = {"English", "Deutsch", "Nederlands"}  # a language button says its name in its own voice
    after = said[said.index(next(p for p in said if p["lang"] == lang)):]
    assert all(p["lang"] == lang or p["text"] in names for p in after)
    assert any((tmp_path / "wav").glob("*.wav"))


def _total_of(view: dict) -> int:
    return int(re.sub(r"\D", "", view["total"]))


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_keys_only_check_in_with_the_booking_code(launch, tmp_path, lang):
    kiosk, keys = _start(launch, tmp_path)
    _enter_accessible_mode(kiosk, keys, lang)
    keys.choose("start_checkin")
    view = kiosk.wait_screen("checkin")
    keys.wait_title("checkin", lang)
    assert view["focus_order"][0] == "key_checkin_1" and view["focus_order"][-6:] == ["checkin_cancel"] + HEADER
    keys.type("demo1234")  # the keypad's letters and digits go to the booking code
    view = kiosk.wait_ui(lambda v: "DEMO1234" in v["texts"], 20, "the code typed")
    keyboard = [f"key_checkin_{k}" for k in "1234567890" + TR_KEYBOARD[lang] + "⌫"] + ["key_checkin_clear"]
    assert view["focus_order"] == ["checkin_submit"] + keyboard + ["checkin_cancel"] + HEADER
    keys.choose("checkin_submit")
    view = kiosk.wait_ui(lambda v: v["state"] == "checkin_booking", 20, "the booking")
    keys.wait_title("checkin_booking", lang)
    assert view["focus_order"][:2] == ["checkin_confirm", "checkin_not_mine"]
    keys.choose("checkin_confirm")
    view = kiosk.wait_ui(lambda v: v["state"] == "checkin_done", 20, "the ticket")
    keys.wait_title("checkin_done", lang)
    keys.wait_said(lambda p: p["text"] == TR.gettext("Your queue number", lang) + ": " + view["ticket_no"],
                   "the queue number")
    keys.choose("checkin_done")
    kiosk.wait_screen("thanks")
    keys.wait_title("thanks", lang)
    _no_english_in(keys.phrases(), lang)
