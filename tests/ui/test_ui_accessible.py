"""The accessible mode in the app: the focus ring's contrast measured in the drawn pixels on every screen
(normal and large text), the low-reach layout, and the keypad keys (no trap, help from anywhere, back,
typing, the longer "still there?")."""
from __future__ import annotations

import json
import time

import pytest
from kivy.core.window import Keyboard

from kiosk.flows import states as s
from screens import theme
from screens.focus import focusables, tag_of

from .test_ui_screens import STAGES, restore, stage  # noqa: F401  (restore is a fixture)

KEY = Keyboard.keycodes


def accessible(driver, on: bool = True, low_reach: bool = False) -> None:
    session = driver.app.session
    session.accessible, session.low_reach = on, low_reach
    driver.app.a11y.focused = None  # the wait below is for this screen's first focus, not the last one's
    session._changed()
    driver.app.refresh(force=True)
    driver.app.a11y._trigger()  # (also when nothing the screen shows changed)
    driver.frames(4)
    if on:  # the screen is announced (and the focus set) once it is laid out
        driver.wait_until(lambda: driver.app.a11y.focused in focusables(driver.app), 5, "the first focus")


def _run(pixels, width, x0, x1, y):
    """The colours along row y (bottom-up) from x0 to x1."""
    return [tuple(pixels[(y * width + x) * 4:(y * width + x) * 4 + 3]) for x in range(x0, x1)]


def ring_neighbours(driver) -> tuple[tuple, tuple, tuple]:
    """(ring colour, colour just outside it, colour just inside it), read from the window's pixels along the
    middle of the ring's left edge."""
    a11y = driver.app.a11y
    x, y, w, h = a11y.ring.geometry()
    width, height, pixels = driver.pixels()
    row = int(y + h / 2)
    ring = tuple(round(c * 255) for c in a11y.ring_colour()[:3])
    xs = range(max(0, int(x) - 12), min(width, int(x) + 14))
    colours = _run(pixels, width, xs.start, xs.stop, row)
    hits = [i for i, c in enumerate(colours) if max(abs(a - b) for a, b in zip(c, ring)) <= 3]
    assert hits, f"no ring drawn at x={x:.0f}: {colours}"
    outside, inside = colours[hits[0] - 1], colours[hits[-1] + 1]
    return ring, outside, inside


def _rgb(colour):
    return tuple(c / 255 for c in colour)


@pytest.mark.parametrize("palette", sorted(theme.PALETTES))
def test_theme_focus_ring_colours_have_3_to_1_against_their_backgrounds(palette):
    colours = theme.colours(palette == "high_contrast")
    for ring, bg in theme.FOCUS_PAIRS:
        ratio = theme.contrast_ratio(colours[ring], colours[bg])
        assert ratio >= 3.0, f"{palette}: {ring} against {bg} is {ratio:.2f}:1"


@pytest.mark.parametrize("large", [False, True])
def test_focus_ring_contrast_against_both_neighbours_on_every_screen(driver, backend, restore, large):
    checked = 0
    for name in STAGES:
        stage(driver, backend, name)
        if driver.app.high_contrast != large:
            driver.app.act("toggle_large_text")
        accessible(driver)
        order = focusables(driver.app)
        assert order, f"{name}: nothing can take focus"
        step = max(1, len(order) // 12)  # the on-screen keyboards: every few keys
        for widget in order[::step]:
            driver.app.a11y.focused = widget
            driver.app.a11y._show_ring()
            driver.frames(1)
            ring, outside, inside = ring_neighbours(driver)
            for side, colour in (("outside", outside), ("inside", inside)):
                ratio = theme.contrast_ratio(_rgb(ring), _rgb(colour))
                assert ratio >= 3.0, f"{name}: ring around {tag_of(widget)} vs {side} {colour}: {ratio:.2f}:1"
            checked += 1
    assert checked > 60


def test_low_reach_puts_every_control_in_the_lower_part(driver, backend, restore):
    for name in STAGES:
        stage(driver, backend, name)
        accessible(driver, on=False, low_reach=True)
        assert driver.app.low_reach
        limit = driver.app.root.height * (1 - theme.LOW_REACH_TOP) + 0.5
        controls = [w for w in driver.walk() if hasattr(w, "trigger_action") and driver.visible(w)]
        assert controls, name
        for widget in controls:
            top = widget.to_window(widget.x, widget.top)[1]  # (scaled, as drawn)
            assert top <= limit, f"{name}: {tag_of(widget)} reaches {top:.0f} px, above {limit:.0f}"
    stage(driver, backend, "attract")  # the switch is on the attract screen, the session keeps it
    accessible(driver, on=False, low_reach=True)
    driver.tap("low_reach")
    assert not driver.app.session.low_reach and driver.app.sm.parent is driver.app.root
    assert driver.app.sm.size_hint == [1, 1]
    driver.tap("low_reach")
    assert driver.app.sm.parent is not driver.app.root  # drawn smaller, at the bottom
    driver.tap("start_checkout")  # taps still reach the buttons where they are drawn
    assert driver.app.session.low_reach and driver.app.session.state == "checkout"


def test_next_wraps_around_on_every_screen_and_previous_comes_back(driver, backend, restore):
    for name in STAGES:
        if name == "still_there":
            continue  # there any key first answers the box (test_speech_follows_the_keys)
        stage(driver, backend, name)
        accessible(driver)
        a11y = driver.app.a11y
        order = focusables(driver.app)
        first = a11y.focused
        assert first is order[0], name
        for _ in order:
            driver.key(KEY["down"])
        assert a11y.focused is first, f"{name}: {len(order)} × next did not come round (a trap)"
        driver.key(KEY["up"])
        assert a11y.focused is order[-1], name


def test_help_key_calls_an_attendant_from_any_screen(driver, backend, restore):
    for name in ("checkout", "lookup", "checkin", "receipt", "age_check"):
        stage(driver, backend, name)
        accessible(driver)
        driver.key(KEY["f1"])
        assert driver.app.help_visible and driver.app.session.help_called, name
        assert [tag_of(w) for w in focusables(driver.app)] == ["help_ok"]  # the box's OK, not the screen behind
        driver.key(KEY["escape"])  # back = OK on the box
        assert not driver.app.help_visible


def test_keys_type_the_booking_code_and_back_leaves_lookup(driver, backend, restore):
    stage(driver, backend, "checkin")
    accessible(driver)
    driver.app.session.checkin.type_code("")
    driver.app.refresh(force=True)
    for char in "demo1234":
        driver.app.a11y.on_key_down(None, ord(char), 0, char, [])
    driver.key(8)  # backspace deletes the last character
    assert driver.app.checkin_code == "DEMO123"
    stage(driver, backend, "lookup")
    accessible(driver)
    driver.key(KEY["escape"])
    assert driver.app.session.state == s.CHECKOUT


def test_mode_is_entered_by_its_key_and_lasts_until_the_session_ends(driver, backend, restore):
    stage(driver, backend, "attract")
    driver.key(KEY["down"])
    assert not driver.app.accessible  # navigation keys do nothing until the mode is on
    driver.key(KEY["f12"])
    assert driver.app.accessible and driver.app.session.idle_limits == (
        driver.app.settings.ui.idle_timeout_s * 3, driver.app.settings.ui.still_there_countdown_s * 3)
    driver.app.session.cancel(driver.app.now())
    driver.app.refresh(force=True)
    assert not driver.app.accessible


def test_speech_follows_the_keys(driver, backend, restore, tmp_path):
    from devices.speech import SubprocessSpeech
    log = tmp_path / "phrases.jsonl"
    engine = SubprocessSpeech(voices={"en": "en-gb", "de": "de", "nl": "nl"}, player="", phrase_log=str(log))
    a11y = driver.app.a11y
    a11y.speech = engine
    try:
        stage(driver, backend, "still_there")
        accessible(driver)
        driver.app.session.still_there_until = None
        driver.app.refresh(force=True)
        driver.frames(3)
        driver.app.session.still_there_until = driver.app.now() + 30
        driver.app.refresh(force=True)
        driver.frames(4)
        driver.key(KEY["down"])  # any key answers "still there?"
        assert driver.app.still_there_left < 0
        time.sleep(0.1)
        driver.frames(3)  # the box has gone and the focus is back (said) before the next key
        driver.key(KEY["f6"])  # louder
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (log.exists() and "Louder" in log.read_text()):
            time.sleep(0.05)
        said = [json.loads(line) for line in log.read_text().splitlines()]
        texts = [p["text"] for p in said]
        # the box's question, or (a busy machine: the question cut short before its first word by the next
        # phrase) its focused button
        assert ("Are you still there?" in texts or "Yes, I'm still here" in texts) and "Louder" in texts, texts
        assert said[-1]["volume"] == 120 and said[-1]["key_to_audio_ms"] > 0
    finally:
        a11y.speech = None
        engine.close()
        from kiosk.speech import Silent
        a11y.speech = Silent()


def test_screenshots_of_the_accessible_mode_and_the_low_reach_layout(driver, backend, restore, artifacts):
    """docs/img/a11y-*.png are these (copied by hand after a look)."""
    from screens.driver import is_blank
    out = artifacts / "accessible"
    stage(driver, backend, "checkout")
    accessible(driver)
    driver.app.a11y.focused = driver.find("plus_2")
    driver.app.a11y._show_ring()
    assert not is_blank(driver.screenshot(out / "a11y-checkout-focus.png"))
    driver.app.act("toggle_large_text")
    accessible(driver)
    driver.app.a11y.focused = driver.find("pay")
    driver.app.a11y._show_ring()
    assert not is_blank(driver.screenshot(out / "a11y-checkout-focus-large.png"))
    driver.app.act("toggle_large_text")
    for name in STAGES:
        stage(driver, backend, name)
        accessible(driver, on=False, low_reach=True)
        assert not is_blank(driver.screenshot(out / f"a11y-low-reach-{name}.png"))


def test_a_bad_key_map_is_refused_with_a_clear_message():
    from kiosk.config import KeysSettings
    from screens.accessible import key_map
    with pytest.raises(ValueError, match="accessibility.keys.help: 'hlep' is not a key name"):
        key_map(KeysSettings(help=["hlep"]))
    with pytest.raises(ValueError, match="accessibility.keys.back: 'down' is already the next key"):
        key_map(KeysSettings(back=["down"]))
    assert key_map(KeysSettings())[KEY["f12"]] == "accessible_mode"
