"""Devices: state, last error, counters and last event of each device; health checks, test print /
scan test / terminal diagnosis, end of day, reconnect, switch to the simulator."""
from __future__ import annotations

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.graphics import Color, Line
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty

from screens.maintenance.shell import Page
from screens.widgets import InvisibleIgnoresTouch, frame_texture

PREVIEW_FPS = 4  # enough to aim a code; each frame is also decoded here for the overlay

STATE_COLOUR = {"idle": "success", "busy": "primary", "offline": "danger", "error": "danger", "closed": "muted"}


class DeviceRow(Factory.BoxLayout):
    name = StringProperty("")
    kind = StringProperty("")
    state = StringProperty("")
    state_text = StringProperty("")  # kv cannot bind through root.state.upper()
    error = StringProperty("")
    counters = StringProperty("")
    last_event = StringProperty("")
    check = StringProperty("")
    check_failed = BooleanProperty(False)
    external = StringProperty("Test")
    simulated = BooleanProperty(False)


class CameraPreview(InvisibleIgnoresTouch, Factory.BoxLayout):
    """The camera's live picture; every code zxing finds in it is outlined, its text listed below."""
    texture = ObjectProperty(None, allownone=True)
    found = ListProperty()  # [(text, symbology, corner points in frame pixels)]
    found_text = StringProperty("")

    def __init__(self, **kw):
        super().__init__(**kw)
        self._event = None
        self._frame_no = -1
        self._decode = None

    def start(self, frames) -> None:
        """Show what `frames()` (a kiosk.ports.FrameSource) gives, until stop()."""
        self.stop()
        self._event = Clock.schedule_interval(lambda _dt: self._show(frames), 1 / PREVIEW_FPS)

    def stop(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self.texture, self.found, self.found_text = None, [], ""

    def _show(self, frames) -> None:
        number, frame = frames()
        if frame is None or number == self._frame_no:
            return
        self._frame_no = number
        self.texture = frame_texture(frame, self.texture)
        self.found = self._decoded(frame)
        self.found_text = "  ·  ".join(f"{text} ({symbology})" for text, symbology, _ in self.found) or \
            "no code in view"
        self._draw_overlay(*self.texture.size)
        self.ids.picture.canvas.ask_update()

    def _decoded(self, frame) -> list:
        import cv2
        import zxingcpp
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found = []
        for result in zxingcpp.read_barcodes(gray):
            p = result.position
            corners = [(c.x, c.y) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
            found.append((result.text, result.format.name, corners))
        return found

    def _draw_overlay(self, width: int, height: int) -> None:
        picture = self.ids.picture
        picture.canvas.after.clear()
        if not self.found:
            return
        shown_w, shown_h = picture.norm_image_size
        left = picture.center_x - shown_w / 2
        bottom = picture.center_y - shown_h / 2
        scale_x, scale_y = shown_w / width, shown_h / height
        with picture.canvas.after:
            Color(0.1, 0.9, 0.2, 1)
            for _text, _symbology, corners in self.found:
                points = []
                for x, y in corners + corners[:1]:
                    points += [left + x * scale_x, bottom + (height - y) * scale_y]
                Line(points=points, width=3)


class DevicesPage(Page):
    def on_m(self, _page, model) -> None:
        model.bind(devices=self._rebuild, preview_device=self._preview)

    def _preview(self, model, name) -> None:
        preview = self.ids.preview
        frames = model.backend.frames(name) if name else None
        if frames is not None:
            preview.start(frames)
        else:
            preview.stop()

    def on_pre_enter(self, *_):
        self.m.refresh()

    def _rebuild(self, _model, rows) -> None:
        box = self.ids.rows
        if [r["name"] for r in rows] == [child.name for child in reversed(box.children)]:
            for child, row in zip(reversed(box.children), rows):
                for key, value in row.items():
                    setattr(child, key, value)  # in place: cheap, and a finger on a button keeps its button
            return
        box.clear_widgets()
        for row in rows:
            box.add_widget(DeviceRow(**row))
