"""Every customer screen in every language: screenshots (non-blank), no untranslated text, touch
targets of at least 48 dp, text contrast of at least 4.5:1, large text and help on every screen."""
from __future__ import annotations

import pytest
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

from kiosk.events import Scanned
from kiosk.flows import states as s
from kiosk.flows import texts
from launcher.demo import DEMO_BOOKING, refresh_demo_bookings
from tools.i18n import source_messages
from screens import theme
from screens.driver import is_blank
from screens.widgets import KButton

from .helpers import BEER, BREAD, MILK, UNKNOWN

STAGES = ["attract", "checkout", "message", "still_there", "lookup", "age_check", "payment", "payment_failed",
          "payment_in_doubt", "receipt", "receipt_qr", "thanks", "checkin", "checkin_booking", "checkin_done",
          "out_of_service"]


def _overdue(what: str):
    def extra(session, _backend):
        session.notice = texts.OVERDUE[what]
        session.call_help(reason=f"{what}_timeout")
    return extra


def _printer_out(_session, backend):
    backend.device_state = lambda device: "paper_out" if device == "printer" else "idle"


def _notice(msgid: str):
    def extra(session, _backend):
        session.notice = msgid
    return extra


# variant -> (the stage it starts from, what changes then): the walkthrough's states (issue 11)
VARIANTS = {
    "attract_choose": ("attract", lambda session, _b: session.touch_to_start(0.0)),
    "checkout_removed": ("checkout", lambda session, _b: session.checkout.void(2)),
    "age_check_overdue": ("age_check", _overdue("age_check")),
    "payment_overdue": ("payment", _overdue("payment")),
    "payment_in_doubt_overdue": ("payment_in_doubt", _overdue("in_doubt")),
    "receipt_no_printer": ("receipt", _printer_out),
    "receipt_qr_print_failed": ("receipt_qr", _notice(texts.PRINTER_FAILED)),
    "checkin_done_no_ticket": ("checkin_done", _notice(texts.TICKET_NOT_PRINTED)),
}
STAGES += list(VARIANTS)


def _code(code: str) -> Scanned:
    return Scanned(code=code, gtin=code.zfill(14), category="product", symbology="EAN-13")


def stage(driver, backend, name: str) -> None:
    """Puts the session into the state behind `name` (taps and scans are covered by test_ui_flows;
    here the point is what each screen looks like)."""
    app = driver.app
    session = app.session
    name, extra = VARIANTS.get(name, (name, None))
    backend.__dict__.pop("device_state", None)
    session.__dict__.pop("receipt_url", None)
    session.mode = app.settings.kiosk.mode
    lang, large = session.lang, session.large_text
    now = app.now()
    session._reset(now)
    session.lang, session.large_text = lang, large
    if name in ("checkout", "message", "still_there", "lookup", "age_check", "payment", "payment_failed",
                "payment_in_doubt", "receipt", "receipt_qr", "thanks"):
        session.start_checkout(now)
        for code in (MILK, BREAD, MILK):
            session.scanned(_code(code), now)
    if name == "message":
        session.scanned(_code(UNKNOWN), now)
    elif name == "still_there":
        session.still_there_until = now + 30
    elif name == "lookup":
        session.checkout.open_lookup()
        session.checkout.search("mi")
    elif name == "age_check":
        session.scanned(_code(BEER), now)
    elif name in ("payment", "payment_failed", "payment_in_doubt"):
        session.checkout.payment_text = texts.ENTER_PIN
        session.checkout.payment_message = texts.PAYMENT_MESSAGES["payment.declined" if name == "payment_failed"
                                                         else "payment.checking"]
        session._go(name)
    elif name in ("receipt", "receipt_qr", "thanks"):
        session.checkout.sale_uuid = "example"
        session.checkout.receipt_url = lambda: "http://127.0.0.1:8765/r/0123456789abcdef0123456789abcdef"
        session.thanks_until = now + 60
        session._go({"receipt": s.RECEIPT, "receipt_qr": s.RECEIPT_QR, "thanks": s.THANKS}[name])
    elif name.startswith("checkin"):
        refresh_demo_bookings(backend.bookings)
        session.start_checkin(now)
        session.checkin.type_code("DEMO12")
        if name != "checkin":
            session.checkin.enter_booking(DEMO_BOOKING)
        if name == "checkin_done":
            session.checkin.ticket_no = 42
            session._go(s.CHECKIN_DONE)
    elif name == "out_of_service":
        backend.device_state = lambda _name: "offline"
        session.mode = "checkout"
        session._go(s.OUT_OF_SERVICE)
    if extra is not None:
        extra(session, backend)
    app.refresh(force=True)
    driver.frames(3)


@pytest.fixture
def restore(driver, backend):
    yield
    backend.__dict__.pop("device_state", None)
    driver.app.session.__dict__.pop("receipt_url", None)
    driver.app.session.mode = driver.app.settings.kiosk.mode
    driver.app.set_language("en")
    if driver.app.high_contrast:
        driver.app.toggle_large_text()


def visible_texts(driver) -> list[str]:
    return [w.text for w in driver.walk() if isinstance(w, Label) and w.text and driver.visible(w)]


def untranslated(driver, lang: str) -> list[str]:
    """Visible texts that are English source text although the catalog translates them."""
    tr = driver.app.translator
    english = {m for m in source_messages() if tr.gettext(m, lang) != m}
    long_ones = [m for m in english if len(m) >= 12 and "{" not in m]
    bad = []
    for text in visible_texts(driver):
        for line in text.split("\n"):
            if line.strip() in english or any(m in line for m in long_ones):
                bad.append(line)
    return bad


_fonts: dict[str, object] = {}


def missing_glyphs(driver) -> list[str]:
    """Visible characters the label's font cannot draw (they would show as boxes)."""
    from kivy.core.text import LabelBase
    from kivy.resources import resource_find
    from PIL import ImageFont
    bad = []
    for w in driver.walk():
        if not isinstance(w, Label) or not w.text or not driver.visible(w):
            continue
        name = w.font_name
        if name not in _fonts:
            path = LabelBase._fonts[name][2 if w.bold else 0] if name in LabelBase._fonts else \
                resource_find(name if name.endswith(".ttf") else name + ".ttf")
            font = ImageFont.truetype(path, 20)
            _fonts[name] = (font, font.getmask("\uffff").getbbox())
        font, box = _fonts[name]
        bad += [f"{ch!r} in {w.text!r}" for ch in set(w.text) if ch.strip() and font.getmask(ch).getbbox() == box]
    return bad


@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_every_screen_in_every_language(driver, backend, artifacts, restore, lang):
    driver.app.set_language(lang)
    for name in STAGES:
        stage(driver, backend, name)
        assert driver.app.session.lang == lang
        shot = driver.screenshot(artifacts / lang / f"{name}.png")
        assert not is_blank(shot), f"{lang}/{name}.png is blank"
        if lang != "en":
            assert untranslated(driver, lang) == [], f"untranslated text on {name} in {lang}"
        assert missing_glyphs(driver) == [], f"{name} in {lang}"
        assert driver.has("help") and driver.has("large_text"), f"{name} lacks help or the large-text toggle"


def test_untranslated_detector_catches_english_text(driver, backend, restore):
    driver.app.set_language("de")
    stage(driver, backend, "checkout")
    driver.find("scan_prompt").text = "Scan an item"  # as if the kv had forgotten app.tr
    assert "Scan an item" in untranslated(driver, "de")


@pytest.mark.parametrize("large", [False, True])
def test_touch_targets_and_button_contrast_on_every_screen(driver, backend, artifacts, restore, large):
    if driver.app.high_contrast != large:
        driver.app.toggle_large_text()
    assert driver.app.session.large_text == large
    minimum = dp(theme.MIN_TOUCH_DP) - 0.5
    checked = 0
    for name in STAGES:
        stage(driver, backend, name)
        assert driver.app.high_contrast == large and driver.app.fs == (theme.LARGE_TEXT_SCALE if large else 1)
        if large:
            assert not is_blank(driver.screenshot(artifacts / "large_text" / f"{name}.png"))
        for widget in driver.walk():
            if not isinstance(widget, ButtonBehavior) or not driver.visible(widget):
                continue
            checked += 1
            label = getattr(widget, "tag", "") or getattr(widget, "text", "") or type(widget).__name__
            assert widget.width >= minimum and widget.height >= minimum, \
                f"{name}: {label!r} is {widget.width:.0f}x{widget.height:.0f} px, below {theme.MIN_TOUCH_DP} dp"
            if isinstance(widget, KButton):
                fg = widget.disabled_color if widget.disabled else widget.color
                bg = driver.app.c["secondary"] if widget.disabled else widget.bg
                ratio = theme.contrast_ratio(fg, bg)
                assert ratio >= 4.5, f"{name}: {label!r} text contrast {ratio:.2f}:1"
    assert checked > 100


@pytest.mark.parametrize("palette", sorted(theme.PALETTES))
def test_theme_text_colours_have_enough_contrast(palette):
    colours = theme.colours(palette == "high_contrast")
    for fg, bg in theme.TEXT_PAIRS:
        ratio = theme.contrast_ratio(colours[fg], colours[bg])
        assert ratio >= 4.5, f"{palette}: {fg} on {bg} is {ratio:.2f}:1"


def test_contrast_formula_matches_wcag_examples():
    assert round(theme.contrast_ratio((0, 0, 0), (1, 1, 1)), 1) == 21.0
    assert round(theme.contrast_ratio(theme.rgba("#777777"), (1, 1, 1)), 2) == 4.48


def test_large_text_toggle_scales_text_and_switches_palette(driver, backend, restore):
    stage(driver, backend, "checkout")
    small = driver.find("scan_prompt").font_size
    driver.tap("large_text")
    assert driver.app.high_contrast and driver.app.c["bg"] == theme.colours(True)["bg"]
    assert driver.find("scan_prompt").font_size >= small * 1.3
    driver.tap("large_text")
    assert not driver.app.high_contrast


def test_glyph_detector_catches_characters_the_font_lacks(driver, backend, restore):
    stage(driver, backend, "checkout")
    driver.find("scan_prompt").text = "Scan ⌫"  # Roboto has no ⌫
    assert any("⌫" in problem for problem in missing_glyphs(driver))


def test_lookup_results_show_the_demo_pictures(driver, backend, restore):
    """The demo items' emoji pictures are drawn into <data_dir>/cache/pictures and shown on the result tiles."""
    from pathlib import Path

    from kiosk.pictures import FONT
    if not FONT.is_file():
        pytest.skip(f"{FONT} missing: `make setup` installs fonts-noto-color-emoji")
    assert backend.pictures_ready.wait(60), "the backend did not draw the pictures"
    stage(driver, backend, "lookup")
    driver.wait_until(lambda: driver.app.search_results, what="search results")
    rows = driver.app.search_results
    cache = Path(driver.app.settings.data_path) / "cache" / "pictures"
    assert rows and all(row["image"] and Path(row["image"]).parent == cache and Path(row["image"]).is_file()
                        for row in rows), rows
