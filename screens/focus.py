"""Keypad focus for the accessible mode: which controls can take focus, in what order, and the ring that
shows the focused one.

Order: the controls of the box on top (a message, help, "still there?") when one is shown, else of the
current screen; in the order the screen lays them out (its .kv), the header bar's (language, large text,
help) last, so a screen starts at its own first control. Hidden (opacity 0), disabled and
collapsed controls are skipped, and the logo (the technician's way in) is never focused. Next after
the last is the first again: there is no trap.

The ring is drawn a gap away from the control, so what lies on either side of it is the background the
control sits on: `theme.FOCUS_PAIRS` lists those pairs (≥ 3:1, tests/ui/test_ui_accessible.py).
"""
from __future__ import annotations

from kivy.graphics import Color, Line
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.widget import Widget

RING_GAP_DP, RING_WIDTH_DP = 3, 3


def in_header(widget) -> bool:
    node = widget.parent
    while node is not None and node is not node.parent:
        if type(node).__name__ == "HeaderBar":
            return True
        node = node.parent
    return False


def _walk(node):
    for child in reversed(node.children):  # in the order the .kv adds them
        if child.opacity == 0 or child.disabled:  # (not by size: a screen just shown is not laid out yet)
            continue
        yield child
        yield from _walk(child)


def top_box(app):
    """The shown box (message, help, still there?) over the screen, or None."""
    overlays = next((w for w in app.root.children if type(w).__name__ == "Overlays"), None) if app.root else None
    if overlays is None:
        return None
    return next((box for box in overlays.children if box.shown), None)  # children[0] is drawn on top


def focusables(app) -> list:
    scope = top_box(app) or app.sm.current_screen
    found = [w for w in _walk(scope) if isinstance(w, ButtonBehavior) and getattr(w, "tag", "") != "logo"]
    return [w for w in found if not in_header(w)] + [w for w in found if in_header(w)]


def tag_of(widget) -> str:
    return getattr(widget, "tag", "") or type(widget).__name__


class FocusRing(Widget):
    """Drawn over everything, around `target` (None: nothing drawn). Touches pass through."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.target = None
        self.size_hint = (None, None)
        with self.canvas:
            self._colour = Color(0, 0, 0, 0)
            self._line = Line(rectangle=(0, 0, 0, 0), width=dp(RING_WIDTH_DP))

    def show(self, target, colour) -> None:
        self.target = target
        self.update(colour)

    def update(self, colour) -> None:
        target = self.target
        if target is None or target.parent is None:
            self._colour.rgba = (0, 0, 0, 0)
            return
        x, y = target.to_window(*target.pos)
        off = dp(RING_GAP_DP + RING_WIDTH_DP / 2)
        self._colour.rgba = colour
        self._line.rectangle = (x - off, y - off, target.width + 2 * off, target.height + 2 * off)

    def geometry(self) -> tuple[float, float, float, float]:
        return tuple(self._line.rectangle)

    def on_touch_down(self, touch):
        return False
