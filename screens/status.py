"""What the customer sees, as data: the read-only `ui` query of the simulator control port.

    python -m devices.sim send --port 7700 ui

answers one JSON object: the screen, the texts shown, the cart, the total and every visible button
with its place in X window coordinates (origin top-left), so an outside test can read the screen
without OCR and tap a button with a real pointer event (`xdotool mousemove X Y click 1`).
The view is built on the UI thread (widgets belong to it) and nothing in it changes the app.
"""
from __future__ import annotations

import json
import threading

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.widget import Widget

ANSWER_TIMEOUT_S = 5.0


def query(app) -> str:
    """The view as JSON; called on the control port's thread. A UI thread that does not answer within
    ANSWER_TIMEOUT_S is itself the answer (an error line), never silence."""
    done = threading.Event()
    answer: dict = {}

    def build(_dt):
        try:
            answer["view"] = describe(app)
        except Exception as exc:  # the query must never take the app down
            answer["error"] = f"{type(exc).__name__}: {exc}"
        done.set()
    Clock.schedule_once(build, 0)
    if not done.wait(ANSWER_TIMEOUT_S):
        return f"error: the UI thread did not answer within {ANSWER_TIMEOUT_S:g} s"
    if "error" in answer:
        return f"error: {answer['error']}"
    return json.dumps(answer["view"], ensure_ascii=False, sort_keys=True)


def describe(app) -> dict:
    maintenance = getattr(app, "maintenance", None)
    view = {
        "screen": "maintenance" if maintenance is not None and maintenance.shown else app.sm.current,
        "state": app.state, "ready": app.ready, "lang": app.lang, "large_text": app.high_contrast,
        "message": app.message_text, "help": app.help_visible, "still_there_left": app.still_there_left,
        "payment_text": app.payment_text, "payment_message": app.payment_message,
        "total": app.total_text, "items": app.items_text,
        "cart": [{"name": row["name"], "quantity": int(row["quantity"]), "total": row["total_text"],
                  "voided": row["voided"], "status": row["status_text"]} for row in app.cart_lines],
        "booking": app.booking_text, "ticket_no": app.ticket_no, "receipt_url": app.receipt_url,
        "help_coming": app.help_coming_text, "closed": app.closed_text,  # the attendant station's doing
        "window": [Window.width, Window.height],
    }
    view["texts"], view["buttons"] = _visible(Window)
    view.update(app.a11y.describe())  # accessible mode: focus, focus order, low reach
    return view


def _visible(root) -> tuple[list[str], list[dict]]:
    texts: list[str] = []
    buttons: list[dict] = []
    for widget in _walk(root):
        if isinstance(widget, ButtonBehavior):
            x, y = widget.to_window(*widget.pos)
            right, top = widget.to_window(widget.right, widget.top)  # as drawn (low reach draws smaller)
            buttons.append({"tag": getattr(widget, "tag", ""), "text": getattr(widget, "text", ""),
                            "enabled": not widget.disabled,
                            # X: origin top-left, y down; Kivy: origin bottom-left, y up
                            "x": round(x), "y": round(Window.height - top),
                            "w": round(right - x), "h": round(top - y)})
        elif isinstance(widget, Label) and widget.text.strip():
            texts.append(widget.text)
    return texts, buttons


def _walk(node):
    """Widgets a customer can see: not hidden (opacity 0), not collapsed to nothing."""
    for child in reversed(node.children):  # Kivy keeps the last added first; yield in drawing order
        if child.opacity == 0 or not isinstance(child, Widget):
            continue
        if child.width < 1 or child.height < 1:
            continue
        yield child
        yield from _walk(child)
