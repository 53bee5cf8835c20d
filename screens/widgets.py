"""Building blocks shared by all customer screens: buttons, flags, the header bar, overlays."""
from __future__ import annotations

from kivy.clock import Clock
from kivy.graphics import Color, Line, Quad, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget


def frame_texture(frame, texture: Texture | None) -> Texture:
    """A camera frame (numpy, grey or BGR) in `texture`, or in a new one when its size or format differs."""
    height, width = frame.shape[:2]
    colorfmt = "luminance" if frame.ndim == 2 else "bgr"
    if texture is None or texture.size != (width, height) or texture.colorfmt != colorfmt:
        texture = Texture.create(size=(width, height), colorfmt=colorfmt)
        texture.flip_vertical()
    texture.blit_buffer(frame.tobytes(), colorfmt=colorfmt, bufferfmt="ubyte")
    return texture


class InvisibleIgnoresTouch:
    """A hidden widget (opacity 0) neither reacts to nor swallows touches, even when disabled."""

    def on_touch_down(self, touch):
        return False if self.opacity == 0 else super().on_touch_down(touch)

    def on_touch_move(self, touch):
        return False if self.opacity == 0 else super().on_touch_move(touch)

    def on_touch_up(self, touch):
        return False if self.opacity == 0 else super().on_touch_up(touch)


class KButton(InvisibleIgnoresTouch, ButtonBehavior, Label):
    """A flat, rounded touch button; `bg`/`fg` come from the theme (see widgets.kv)."""
    bg = ListProperty([0, 0, 0, 1])
    fg = ListProperty([1, 1, 1, 1])
    tag = StringProperty("")  # a stable name for tests and the touch-target check
    speech = StringProperty("")  # what the accessible mode says for it, when not its text (+, −)


class Part(InvisibleIgnoresTouch, BoxLayout):
    """One of several alternative parts of a screen: `shown` or collapsed, hidden and untouchable."""
    shown = BooleanProperty(True)


class KeyButton(KButton):
    key = StringProperty("")
    target = StringProperty("")


# Drawn, not bitmaps: exact at any size. Stripes top to bottom; each name shown beside it anyway,
# so nobody needs to recognise the colours.
_STRIPES = {"de": ["#000000", "#DD0000", "#FFCE00"], "nl": ["#AE1C28", "#FFFFFF", "#21468B"]}


def _rgb(h: str) -> tuple[float, float, float]:
    return tuple(int(h[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


class Flag(Widget):
    lang = StringProperty("en")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bind(pos=self._draw, size=self._draw, lang=self._draw)

    def _draw(self, *_):
        self.canvas.clear()
        x, y, w, h = *self.pos, *self.size
        with self.canvas:
            if self.lang in _STRIPES:
                for i, colour in enumerate(_STRIPES[self.lang]):
                    Color(*_rgb(colour))
                    Rectangle(pos=(x, y + h * (2 - i) / 3), size=(w, h / 3))
            else:  # a simplified Union flag for English; quads, not wide lines (cheap to draw)
                Color(*_rgb("#012169"))
                Rectangle(pos=(x, y), size=(w, h))
                for colour, t in (("#FFFFFF", w * 0.16), ("#C8102E", w * 0.06)):
                    Color(*_rgb(colour))  # the two diagonals as parallelograms
                    Quad(points=[x, y, x + t, y, x + w, y + h, x + w - t, y + h])
                    Quad(points=[x, y + h, x + t, y + h, x + w, y, x + w - t, y])
                Color(1, 1, 1)
                Rectangle(pos=(x + w * 0.42, y), size=(w * 0.16, h))
                Rectangle(pos=(x, y + h * 0.38), size=(w, h * 0.24))
                Color(*_rgb("#C8102E"))
                Rectangle(pos=(x + w * 0.45, y), size=(w * 0.10, h))
                Rectangle(pos=(x, y + h * 0.42), size=(w, h * 0.16))
            Color(0.5, 0.5, 0.5, 1)  # visible on the dark header and on black (high contrast)
            Line(rectangle=(x, y, w, h), width=1)


class CustomerScreen(Screen):
    """Every customer screen: the header bar (language, large text, help) in its kv. The background is the
    window's clear colour (`KioskApp.c["bg"]`), not a full-screen rectangle: with software rendering
    every full-screen layer costs milliseconds per frame."""


class Overlays(FloatLayout):
    """Message, help and "still there?" boxes drawn over whatever screen is showing (see widgets.kv)."""


class Overlay(FloatLayout):
    """A modal box: while shown it takes every touch; hidden, its content leaves the widget tree, so it
    costs nothing to draw and lets touches through."""
    shown = BooleanProperty(False)
    _parked: list = []

    def on_kv_post(self, base_widget):
        self._apply()

    def on_shown(self, *_):
        self._apply()

    def _apply(self):
        if self.shown and self._parked:
            for child in reversed(self._parked):
                self.add_widget(child)
            self._parked = []
        elif not self.shown and self.children:
            self._parked = list(self.children)
            self.clear_widgets()

    def on_touch_down(self, touch):
        if not self.shown:
            return False
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch):
        return self.shown and (super().on_touch_move(touch) or True)

    def on_touch_up(self, touch):
        if not self.shown:
            return False
        super().on_touch_up(touch)
        return True


class KeyPad(BoxLayout):
    """An on-screen keyboard. `layout` is rows of keys separated by "|"; the `extra` keys (delete, clear,
    space: words, so twice as wide) end the last row; rows are centred. Each key calls
    app.keyboard_input(target, key)."""
    target = StringProperty("search")
    layout = StringProperty("QWERTYUIOP|ASDFGHJKL|ZXCVBNM")
    extra = ListProperty(["⌫", "clear"])  # keys added to the last row
    WIDE = {" ": 4, "⌫": 2, "clear": 2}  # width in keys

    def __init__(self, **kw):
        kw.setdefault("orientation", "vertical")
        super().__init__(**kw)
        rebuild = Clock.create_trigger(self._build, -1)  # once per frame however many properties change
        self.bind(layout=rebuild, target=rebuild, extra=rebuild, spacing=rebuild)
        self._build()

    def _build(self, *_):
        self.clear_widgets()
        rows = [list(row) for row in self.layout.split("|")]
        rows[-1] += list(self.extra)
        widths = [sum(self.WIDE.get(key, 1) for key in row) for row in rows]
        for row, width in zip(rows, widths):
            line = BoxLayout(spacing=self.spacing)
            margin = (max(widths) - width) / 2
            if margin:
                line.add_widget(Widget(size_hint_x=margin))
            for key in row:
                line.add_widget(KeyButton(key=key, target=self.target, size_hint_x=self.WIDE.get(key, 1)))
            if margin:
                line.add_widget(Widget(size_hint_x=margin))
            self.add_widget(line)


def star_points(cx: float, cy: float, radius: float) -> list[float]:
    """The outline of a five-pointed star (for a Line with close=True): Roboto has no ★."""
    from math import cos, pi, sin
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.45
        angle = pi / 2 + i * pi / 5
        points += [cx + r * cos(angle), cy + r * sin(angle)]
    return points


def text_width(text: str, font_size: float, bold: bool = False) -> float:
    """How wide `text` is drawn on one line in the theme's font (to size a button to its text)."""
    from kivy.core.text import Label as CoreLabel
    from screens import theme
    label = CoreLabel(text=text, font_size=font_size, bold=bold, font_name=theme.FONT)
    label.refresh()
    return label.content_width
