"""Runs the kiosk App in-process without blocking, for UI tests and the UI benchmark.

`App.run()` never returns until the app stops; the driver instead prepares the app and then pumps
Kivy's event loop frame by frame (as Kivy's own GraphicUnitTest does), so a test can tap a widget,
advance the clock and read the screen between frames. Taps are real touch events through the
window, so hit-testing and disabled buttons behave as for a customer.
"""
from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Callable, Iterator

from kivy.base import EventLoop
from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
from kivy.input.motionevent import MotionEvent
from kivy.uix.widget import Widget

_touch_ids = itertools.count(1000)


class _Touch(MotionEvent):
    def __init__(self, x: float, y: float):
        win = EventLoop.window
        super().__init__("driver", next(_touch_ids), {"x": x / (win.width - 1.0), "y": y / (win.height - 1.0)},
                         is_touch=True, type_id="touch")
        self.profile = ["pos"]

    def depack(self, args):
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


class AppDriver:
    def __init__(self, app):
        self.app = app

    def start(self) -> "AppDriver":
        self.app._run_prepare()
        EventLoop.status = "started"
        self.frames(3)
        return self

    def stop(self) -> None:
        self.app.stop()  # no more frames: kv rules cannot reach a stopped app

    # --- time ---------------------------------------------------------------------------------------

    def frames(self, count: int = 1) -> None:
        for _ in range(count):
            EventLoop.idle()

    def wait_until(self, predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
            EventLoop.idle()
        self.frames(2)  # let the canvas catch up with the state

    # --- finding and tapping ------------------------------------------------------------------------

    def walk(self, root: Widget | None = None) -> Iterator[Widget]:
        root = root or EventLoop.window
        for child in root.children:
            yield child
            yield from self.walk(child)

    def visible(self, widget: Widget) -> bool:
        node = widget
        while node is not None and node is not EventLoop.window:
            if getattr(node, "opacity", 1) == 0 or getattr(node, "disabled", False) and node is widget:
                return False
            node = node.parent
        return node is EventLoop.window

    def find(self, tag: str) -> Widget:
        """The visible widget whose `tag` is `tag`."""
        found = [w for w in self.walk() if getattr(w, "tag", None) == tag and self.visible(w)]
        if not found:
            raise LookupError(f"no visible widget tagged {tag!r} on screen {self.app.sm.current!r}")
        return found[0]

    def has(self, tag: str) -> bool:
        try:
            self.find(tag)
            return True
        except LookupError:
            return False

    def tap(self, target: str | Widget, frames: int = 2) -> None:
        widget = self.find(target) if isinstance(target, str) else target
        x, y = widget.to_window(*widget.center)
        self.tap_at(x, y, frames)

    def tap_at(self, x: float, y: float, frames: int = 2) -> None:
        touch = _Touch(x, y)
        EventLoop.post_dispatch_input("begin", touch)
        EventLoop.post_dispatch_input("end", touch)
        self.frames(frames)

    def key(self, key: int, modifiers: list[str] | None = None) -> None:
        """A key press as SDL delivers it (on_key_down then on_keyboard)."""
        win = EventLoop.window
        win.dispatch("on_key_down", key, 0, None, modifiers or [])
        win.dispatch("on_key_up", key, 0)
        self.frames(1)

    # --- pixels -------------------------------------------------------------------------------------

    def pixels(self) -> tuple[int, int, bytes]:
        """The window's current RGBA pixels (rows bottom-up, as OpenGL gives them)."""
        win = EventLoop.window
        self.frames(1)
        width, height = win.system_size
        return width, height, glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE)

    def screenshot(self, path: str | Path) -> Path:
        from PIL import Image
        width, height, data = self.pixels()
        image = Image.frombytes("RGBA", (width, height), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        image.convert("RGB").save(path)
        return path


def is_blank(png: str | Path) -> bool:
    """True when an image is (nearly) one colour: nothing was drawn."""
    from PIL import Image, ImageStat
    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=64)  # None when there are more than 64
    stddev = ImageStat.Stat(image).stddev
    return (colours is not None and len(colours) < 4) or max(stddev) < 4.0
