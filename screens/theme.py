"""Colours, sizes and fonts of the customer screens, in one place.

Two palettes: the calm default and a high-contrast one (switched together with large text).
Every text colour is listed in `TEXT_PAIRS` with the background it is drawn on, so a test can
check the contrast ratio of each (WCAG 2: at least 4.5:1).
"""
from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
FONT = "Roboto"  # Kivy's bundled font: covers €, ä, ö, ü, ß
FONT_BOLD = "Roboto-Bold"

MIN_TOUCH_DP = 48  # smallest tappable size anywhere
BUTTON_DP = 72  # the usual button height
BIG_BUTTON_DP = 96
CART_ROW_DP = 84  # room for an item name on two lines (× the text scale)
PAD_DP = 16
BASE_SP = 22  # body text
LARGE_TEXT_SCALE = 1.35


def rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


PALETTES: dict[str, dict[str, str]] = {
    "default": {
        "bg": "#F4F6F8",  # screen background
        "surface": "#FFFFFF",  # cards, cart
        "text": "#1B2430",
        "muted": "#4A5563",  # secondary text, still ≥ 4.5:1 on bg and surface
        "primary": "#0A58CA",  # main action buttons
        "on_primary": "#FFFFFF",
        "secondary": "#DDE3EA",
        "on_secondary": "#1B2430",
        "danger": "#B3261E",
        "on_danger": "#FFFFFF",
        "success": "#1E6B34",
        "on_success": "#FFFFFF",
        "warning": "#FFE08A",
        "on_warning": "#3B2F00",
        "brand": "#12324F",  # header bar
        "on_brand": "#FFFFFF",
        "overlay": "#1B2430",
        "focus": "#7A1FA2",  # the keypad focus ring (accessible mode)
        "focus_on_brand": "#00E5FF",  # ... around a header control
    },
    "high_contrast": {
        "bg": "#000000",
        "surface": "#111111",
        "text": "#FFFFFF",
        "muted": "#E0E0E0",
        "primary": "#FFD400",
        "on_primary": "#000000",
        "secondary": "#333333",
        "on_secondary": "#FFFFFF",
        "danger": "#FF8A80",
        "on_danger": "#000000",
        "success": "#7CFC9A",
        "on_success": "#000000",
        "warning": "#FFD400",
        "on_warning": "#000000",
        "brand": "#000000",
        "on_brand": "#FFFF00",
        "overlay": "#000000",
        "focus": "#00E5FF",
        "focus_on_brand": "#00E5FF",
    },
}

# (text colour, background colour) pairs the screens actually use.
TEXT_PAIRS = [("text", "bg"), ("text", "surface"), ("muted", "bg"), ("muted", "surface"),
              ("on_primary", "primary"), ("on_secondary", "secondary"), ("on_danger", "danger"),
              ("on_success", "success"), ("on_warning", "warning"), ("on_brand", "brand"), ("danger", "surface"),
              ("success", "surface")]

# The focus ring is drawn a gap away from its control: on both sides of it lies the background the control
# sits on. (ring, background) pairs, each at least 3:1 (WCAG 2.2 non-text contrast).
FOCUS_PAIRS = [("focus", "bg"), ("focus", "surface"), ("focus_on_brand", "brand")]
# Low-reach layout: the screen drawn at 70 % of its size at the bottom of the display, so no control is in
# its top 30 % (on a 21.5" landscape screen whose bottom edge is 750 mm above the floor: none above 940 mm)
LOW_REACH_TOP = 0.3


def colours(high_contrast: bool) -> dict[str, tuple[float, float, float, float]]:
    palette = PALETTES["high_contrast" if high_contrast else "default"]
    return {name: rgba(value) for name, value in palette.items()}


def pressed(colour: tuple[float, ...]) -> tuple[float, float, float, float]:
    """A button's colour while a finger is on it: 18 % darker."""
    r, g, b = (c * 0.82 for c in colour[:3])
    return (r, g, b, colour[3] if len(colour) > 3 else 1.0)


def relative_luminance(colour: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# On-screen keyboard letters per language (rows separated by "|"): German QWERTZ with Ä Ö Ü ß; Dutch
# and English QWERTY (the Dutch demo catalog needs no accented letters; tests/ui check that every letter
# of the catalog's names can be typed in its language).
KEYBOARDS = {"en": "QWERTYUIOP|ASDFGHJKL|ZXCVBNM", "de": "QWERTZUIOPÜ|ASDFGHJKLÖÄ|YXCVBNMß",
             "nl": "QWERTYUIOP|ASDFGHJKL|ZXCVBNM"}


def keyboard(lang: str, letters: str = "") -> str:
    """The keyboard rows for `lang`; with `letters`, only keys among them (booking codes: A–Z)."""
    rows = KEYBOARDS.get(lang, KEYBOARDS["en"])
    return "|".join("".join(k for k in row if k in letters) for row in rows.split("|")) if letters else rows
