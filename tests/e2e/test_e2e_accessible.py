"""The accessible mode on the launched kiosk, driven by keys only: real X key events (`xdotool key` on the
kiosk's display, as a USB keypad sends them), no taps. The speech engine (real espeak-ng, no sound device)
appends every phrase to a log the test reads (a11y_keys.py). On every screen a journey visits, in English,
German and Dutch:
- every phrase said is asserted, in order: the screen's title, what matters on it, what to do, the
  terminal's prompts, and the control that has the focus; each scan, quantity change and the cart read out;
- the whole focus ring is walked with the next key until it wraps: it must reach exactly the controls the
  screen shows, in their order, and say each one's label;
- in German and Dutch every phrase is one the language's catalog produces, and none is English.
Scans and the card payment still come from the devices (the simulators' control port)."""
from __future__ import annotations

import re

import pytest

from a11y_keys import HEADER, PRICES, Keys, Speech, Untranslated, shown_focus_order
from launched import BREAD, BUTTER, CHOCOLATE, COFFEE, MILK

from kiosk.flows import texts

PIN_S = 30  # the terminal's PIN entry: the payment screen stays while its ring is walked
LANG_KEYS = {"en": "lang_en", "de": "lang_de", "nl": "lang_nl"}


def _start(launch, tmp_path, lang: str) -> tuple:
    log = tmp_path / "phrases.jsonl"
    kiosk = launch(KIOSK_SPEECH_PHRASE_LOG=str(log), KIOSK_SPEECH_PLAYER="", KIOSK_SPEECH_WAV_DIR=str(tmp_path / "wav"))
    keys = Keys(kiosk, log, Speech("en"))
    kiosk.xclick(5, 795)  # the pointer over the window (a corner of the screen) so X gives it the keys
    keys.press("F12")
    view = kiosk.wait_ui(lambda v: v["accessible"], 30, "the accessible mode")
    keys.expect(keys.speech.screen("attract") + [keys.speech.label(view, "start_checkout")], "attract (en)")
    if lang != "en":
        keys.focus(LANG_KEYS[lang])
        keys.speech = Speech(lang)
        keys.press("Return")
        view = kiosk.wait_ui(lambda v: v["lang"] == lang, 30, f"language {lang}")
        keys.expect(keys.speech.screen("attract") + [keys.speech.label(view, "start_checkout")], f"attract ({lang})")
    assert keys.walk_ring() == ["start_checkout", "start_checkin", "accessible_mode", "low_reach", *HEADER]
    return kiosk, keys


def _arrive(keys: Keys, state: str, *middle: str, after: tuple[str, ...] = (), total: int = 0) -> dict:
    """A new screen: it is said (title, what matters, what to do, then the focused control), and its whole
    focus ring is walked."""
    view = keys.kiosk.wait_ui(lambda v: v["state"] == state and _laid_out(v), 60, state)
    first = shown_focus_order(view)[0]
    keys.expect(keys.speech.screen(state, *middle, after=after) + [keys.speech.label(view, first, total)], state)
    keys.walk_ring(total)
    return view


def _laid_out(view: dict) -> bool:
    """The screen has the focus and its controls are drawn (a screen just shown has no size yet)."""
    return bool(view["focus"]) and shown_focus_order(view) == view["focus_order"]


def _finish(keys: Keys, lang: str, data: tuple[str, ...] = ()) -> None:
    """Nothing was said that the test did not expect, and (in German and Dutch) nothing untranslated."""
    keys.expect([], "after the journey", settle=3)
    said = keys.phrases()
    assert said and not any(p["interrupted"] for p in said), [p["text"] for p in said if p["interrupted"]]
    if lang != "en":
        check = Untranslated(lang, data)
        for phrase in said:
            if phrase["lang"] == lang:
                check.check(phrase["text"])
    assert any((keys.log.parent / "wav").glob("*.wav"))


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_keys_only_checkout_of_five_items_with_a_quantity_change(launch, tmp_path, lang):
    kiosk, keys = _start(launch, tmp_path, lang)
    say = keys.speech
    kiosk.send(f"payment pin {PIN_S}")
    codes = (MILK, BREAD, BUTTER, COFFEE, CHOCOLATE)
    kiosk.scan(codes[0])  # scanning works as ever
    view = kiosk.wait_ui(lambda v: v["state"] == "checkout" and v["focus"], 30, "the cart")
    total = PRICES[codes[0]]
    keys.expect(say.screen("checkout", say.items(1) + ". " + say.total(total)) + [say.label(view, "minus_1")],
                "checkout")
    for n, code in enumerate(codes[1:], 2):
        kiosk.scan(code)
        view = kiosk.wait_ui(lambda v: len(v["cart"]) == n, 30, f"{n} cart lines")
        total += PRICES[code]
        keys.expect([say.tr("Added: {name}", name=view["cart"][-1]["name"]), say.total(total)], f"scan {n}")
    lines = [f"{kind}_{n}" for n in range(1, 6) for kind in ("minus", "plus", "void")]
    assert keys.walk_ring(total) == lines + ["lookup", "pay", "cancel_session", *HEADER]

    keys.choose("plus_2", total)  # one more of the second item
    view = kiosk.wait_ui(lambda v: v["cart"][1]["quantity"] == 2, 30, "quantity 2")
    total += PRICES[codes[1]]
    assert _total_of(view) == total
    keys.expect([say.tr("{name}: quantity {quantity}", name=view["cart"][1]["name"], quantity=2), say.total(total)],
                "the new quantity")
    keys.press("F3")  # the cart, line by line
    keys.expect([say.items(6) + ". " + say.total(total)] + [
        say.tr("Line {n}: {name}, {quantity} at {price}, {total}", n=n, name=line["name"], quantity=line["quantity"],
               price=say.money(PRICES[code]), total=say.money(PRICES[code] * line["quantity"]))
        for n, (code, line) in enumerate(zip(codes, view["cart"]), 1)], "the cart read out")

    keys.choose("pay", total)
    _paying(keys, total)
    _arrive(keys, "receipt")
    keys.choose("receipt_print")
    _arrive(keys, "thanks")
    keys.choose("thanks_done")
    kiosk.wait_ui(lambda v: v["screen"] == "attract" and not v["accessible"], 30, "the session to end")
    [sale] = kiosk.assert_books_agree()
    assert sale["total"] == total
    _finish(keys, lang)


def _paying(keys: Keys, total: int) -> None:
    """The payment screen is said whole, then the terminal's prompts follow it (they come by themselves, at
    any moment: one may be on the screen already when it is said); then its ring is walked."""
    say = keys.speech
    view = keys.kiosk.wait_ui(lambda v: v["state"] == "payment" and _laid_out(v), 60, "payment")
    screen = say.screen("payment", say.tr("Amount to pay") + ": " + say.money(total))
    label = say.label(view, shown_focus_order(view)[0], total)
    prompts = [say.tr(t) for t in (texts.INSERT_CARD, texts.PLEASE_WAIT)]  # the terminal's, in its order
    said = [p["text"] for p in keys.take(lambda t: label in t and prompts[-1] in t, "the payment screen")]
    assert said[:len(screen)] == screen, said
    news = said[len(screen):]
    assert news.count(label) == 1 and news.index(label) <= 1, said  # after the prompt shown, if any
    news.remove(label)
    assert news == [p for p in prompts if p in news] and news[-1] == prompts[-1], said
    keys.walk_ring(total)


def _total_of(view: dict) -> int:
    return int(re.sub(r"\D", "", view["total"]))


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_keys_only_check_in_with_the_booking_code(launch, tmp_path, lang):
    kiosk, keys = _start(launch, tmp_path, lang)
    say = keys.speech
    keys.choose("start_checkin")
    view = kiosk.wait_ui(lambda v: v["state"] == "checkin" and v["focus"], 30, "check-in")
    keys.expect(say.screen("checkin") + [say.label(view, "key_checkin_1")], "checkin")
    keys.type("demo1234")  # the keypad's letters and digits go to the booking code
    view = kiosk.wait_ui(lambda v: "DEMO1234" in v["texts"], 30, "the code typed")
    keys.press("F2")  # repeat: the screen again, now with the code to submit
    keys.expect(say.screen("checkin") + [say.label(view, "key_checkin_1")], "checkin repeated")
    assert keys.step("Up")[0] == "checkin_submit"  # before the first key: the way on, now there is a code
    order = keys.walk_ring()
    assert order[0] == "checkin_submit" and order[-6:] == ["checkin_cancel", *HEADER]
    keys.press("Return")
    view = kiosk.wait_ui(lambda v: v["state"] == "checkin_booking", 30, "the booking")
    booking = view["booking"].split("\n")
    _arrive(keys, "checkin_booking", ". ".join(booking))
    keys.choose("checkin_confirm")
    view = kiosk.wait_ui(lambda v: v["state"] == "checkin_done" and v["ticket_no"], 30, "the ticket")
    _arrive(keys, "checkin_done", say.tr("Your queue number") + ": " + view["ticket_no"])
    keys.choose("checkin_done")
    _arrive(keys, "thanks")
    _finish(keys, lang, tuple(booking[:2]))  # the booking's name and time are data, not messages
