"""Checkout: scan prompt (or the camera's live picture), the cart with +/− and remove, the total."""
from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock

from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataAdapter

from screens.widgets import CustomerScreen, frame_texture

PREVIEW_FPS = 10


class LineKeepingAdapter(RecycleDataAdapter):
    """Gives each cart line back the row widget that showed it before a change.

    On any data change Kivy's adapter sends every visible row to a shared cache and hands them out
    again in another order, so the text of every row is rendered anew (about 40 labels per scan).
    Here a row keeps its line and is re-synced: only attributes whose value changed are set again,
    so a scan renders the new line's text and little else."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self._resync: set[int] = set()

    def invalidate(self):
        for index, view in self.views.items():
            self.dirty_views[view.__class__][index] = view
        self.views = {}
        self._resync.update(index for views in self.dirty_views.values() for index in views)

    def get_view(self, index, data_item, viewclass):
        view = super().get_view(index, data_item, viewclass)
        if view is not None and index in self._resync:
            self._resync.discard(index)
            self.refresh_view_attrs(index, data_item, view)
        return view


class CartList(RecycleView):
    """The cart lines (see `<-CartList>` in checkout.kv for how it is drawn)."""

    def __init__(self, **kw):
        kw.setdefault("view_adapter", LineKeepingAdapter())
        super().__init__(**kw)

    def _bind_inactive_bar_color(self, *_):
        pass  # Kivy fades the bar after each scroll; ours stays put (no half-second of redraws)


class CheckoutScreen(CustomerScreen):
    _preview = None
    _frame_no = -1
    _lines = 0

    def on_kv_post(self, base_widget):
        App.get_running_app().bind(cart_lines=self._follow_newest)

    def _follow_newest(self, _app, lines) -> None:
        """A new line: show the bottom of the list, where the line just scanned is. With scroll_y at 0 a
        list taller than its box stays at its bottom while it grows, so the new line is drawn in view in
        the same frame; a shorter list is shown from its top (scroll_y 1). A list not laid out yet (the
        first scan on attract, before this screen was ever shown) has no height: it starts at its top."""
        if len(lines) > self._lines:
            cart = self.ids.cart
            row_height = cart.layout_manager.default_size[1]
            cart.scroll_y = 0 if cart.height > 0 and len(lines) * row_height > cart.height else 1
        self._lines = len(lines)

    def on_enter(self, *_):
        app = App.get_running_app()
        frames = app.backend.frames("camera") if app.backend is not None else None
        if frames is not None:
            self._preview = Clock.schedule_interval(lambda _dt: self._show_frame(app, frames), 1 / PREVIEW_FPS)

    def on_leave(self, *_):
        if self._preview is not None:
            self._preview.cancel()
            self._preview = None
        App.get_running_app().camera_texture = None

    def _show_frame(self, app, frames) -> None:
        number, frame = frames()
        if frame is None or number == self._frame_no:
            if frame is None:
                app.camera_texture = None
            return
        self._frame_no = number
        app.camera_texture = frame_texture(frame, app.camera_texture)
        self.canvas.ask_update()
