"""Every customer text fits: on every screen, in every language, in normal and large text, no visible
text is cut off, broken in the middle of a word, drawn past its widget or over another text or flag."""
from __future__ import annotations

import pytest
from kivy.metrics import sp
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

from kiosk.flows import texts
from screens.widgets import Flag, Overlay

from .helpers import BREAD, CHOCOLATE, COFFEE
from .test_ui_screens import _code, restore, stage  # noqa: F401  (restore is a fixture)
from .textfit import ink_rect, text_problems

MIN_TEXT_SP = 16  # the smallest text on a customer screen (× the large-text scale)
WATER, JUICE, SOAP, CHEESE = "4000000000051", "4000000000068", "4000000000099", "4000000000105"
LONG_NAMES = [COFFEE, CHOCOLATE, WATER, JUICE, SOAP, CHEESE, BREAD]  # the longest German and Dutch names
STAGES = ["attract", "checkout", "lookup", "lookup_one", "lookup_grid", "age_check", "payment", "payment_failed",
          "payment_in_doubt", "receipt", "receipt_qr", "checkin", "checkin_booking", "checkin_done", "thanks",
          "out_of_service", "closed_by_staff", "help_coming", "message", "message_one_button", "help", "still_there"]


def stage_for_fit(driver, backend, name: str) -> None:
    base = {"lookup_one": "lookup", "lookup_grid": "lookup", "message_one_button": "checkout",
            "help": "checkout", "closed_by_staff": "out_of_service", "help_coming": "age_check"}.get(name, name)
    driver.app.session.closed_reason = None  # a lane closed by staff stays closed across customers
    stage(driver, backend, base)
    session, now = driver.app.session, driver.app.now()
    if base == "checkout":
        for code in LONG_NAMES:
            session.scanned(_code(code), now)
    if name == "lookup_one":
        session.checkout.search("zart" if session.lang == "de" else "choc")
    elif name == "lookup_grid":
        session.checkout.search("")  # the picture grid of items without a barcode
    elif name == "message_one_button":
        session._say(texts.WRONG_ATTENDANT)
    elif name == "help":
        session.help_called = True
        session._changed()
    elif name == "help_coming":  # an attendant took the call at the attendant station: a band under the header
        session.help_called, session.help_acknowledged_by = True, "Anna"
        session._changed()
    elif name == "closed_by_staff":  # closed at the attendant station, with the attendant's words
        session.closed_reason = "The floor is being cleaned after a spill; please use checkout 3 or 4 meanwhile."
        session._changed()
    driver.app.refresh(force=True)
    driver.frames(3)


def shown_root(driver):
    """The open overlay when there is one (what lies beneath is covered), else the current screen."""
    for widget in driver.walk():
        if isinstance(widget, Overlay) and widget.shown:
            return widget
    return driver.app.sm.current_screen


def fit_problems(driver) -> list[str]:
    root = shown_root(driver)
    labels = [w for w in [root, *driver.walk(root)] if isinstance(w, Label) and w.text.strip() and driver.visible(w)]
    flags = [w for w in driver.walk(root) if isinstance(w, Flag) and driver.visible(w)]
    problems = []
    for label in labels:
        name = getattr(label, "tag", "") or label.text[:30]
        in_cart = any(type(p).__name__ == "CartRow" for p in _parents(label))
        problems += [f"{name!r}: {p}" for p in text_problems(label, may_shorten=in_cart)]
        if label.font_size < sp(MIN_TEXT_SP) * driver.app.fs - 0.5:  # fitting by shrinking has a floor
            problems.append(f"{name!r}: {label.font_size:.0f} px text, below {MIN_TEXT_SP} sp")
    rects = [(label, _clip(label, ink_rect(label))) for label in labels]
    rects = [(label, rect) for label, rect in rects if rect is not None]
    rects += [(flag, flag.to_window(*flag.pos) + tuple(flag.size)) for flag in flags]
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            if _overlap(ra, rb):
                problems.append(f"{_name(a)!r} touches {_name(b)!r}")
    return problems


def _clip(label, rect):
    """The part of `rect` a scrolling list (which clips its rows) shows; None when nothing."""
    for parent in _parents(label):
        if isinstance(parent, ScrollView):
            x, y = parent.to_window(*parent.pos)
            left, bottom = max(rect[0], x), max(rect[1], y)
            right, top = min(rect[0] + rect[2], x + parent.width), min(rect[1] + rect[3], y + parent.height)
            return (left, bottom, right - left, top - bottom) if right > left and top > bottom else None
    return rect


def _parents(widget):
    while widget.parent is not None and widget.parent is not widget:
        widget = widget.parent
        yield widget


def _name(widget) -> str:
    return f"flag {widget.lang}" if isinstance(widget, Flag) else (getattr(widget, "tag", "") or widget.text[:30])


def _overlap(a, b, gap: float = 4) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + gap and bx < ax + aw + gap and ay < by + bh and by < ay + ah


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("lang", ["en", "de", "nl"])
def test_no_text_is_cut_off_broken_or_overlapping(driver, backend, artifacts, restore, lang, large):
    driver.app.set_language(lang)
    if driver.app.high_contrast != large:
        driver.app.toggle_large_text()
    found = []
    for name in STAGES:
        stage_for_fit(driver, backend, name)
        driver.screenshot(artifacts / "fit" / f"{lang}-{'large' if large else 'normal'}" / f"{name}.png")
        found += [f"{name}: {p}" for p in fit_problems(driver)]
    assert found == [], "\n".join(found)
