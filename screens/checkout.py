"""Checkout: scan prompt (or the camera's live picture), the cart with +/− and remove, the total."""
from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics.texture import Texture

from screens.widgets import CustomerScreen

PREVIEW_FPS = 10


class CheckoutScreen(CustomerScreen):
    _preview = None
    _frame_no = -1
    _lines = 0

    def on_kv_post(self, base_widget):
        App.get_running_app().bind(cart_lines=self._follow_newest)

    def _follow_newest(self, _app, lines) -> None:
        """A new line: scroll so the line just scanned is in view (the list grows downwards)."""
        if len(lines) > self._lines:
            Clock.schedule_once(self._scroll_to_end, 0)  # after the list has laid out the new line
        self._lines = len(lines)

    def _scroll_to_end(self, *_):
        cart = next(w for w in self.walk() if getattr(w, "tag", "") == "cart")
        content = cart.children[0] if cart.children else None
        cart.scroll_y = 0 if content is not None and content.height > cart.height else 1

    def on_enter(self, *_):
        app = App.get_running_app()
        camera = app.backend.devices.get("camera") if app.backend is not None else None
        if camera is not None and hasattr(camera, "latest_frame"):
            self._preview = Clock.schedule_interval(lambda _dt: self._show_frame(app, camera), 1 / PREVIEW_FPS)

    def on_leave(self, *_):
        if self._preview is not None:
            self._preview.cancel()
            self._preview = None
        App.get_running_app().camera_texture = None

    def _show_frame(self, app, camera) -> None:
        number, frame = camera.latest_frame()
        if frame is None or number == self._frame_no:
            if frame is None:
                app.camera_texture = None
            return
        self._frame_no = number
        height, width = frame.shape[:2]
        colorfmt = "luminance" if frame.ndim == 2 else "bgr"
        texture = app.camera_texture
        if texture is None or texture.size != (width, height) or texture.colorfmt != colorfmt:
            texture = Texture.create(size=(width, height), colorfmt=colorfmt)
            texture.flip_vertical()
        texture.blit_buffer(frame.tobytes(), colorfmt=colorfmt, bufferfmt="ubyte")
        app.camera_texture = texture
        self.canvas.ask_update()
