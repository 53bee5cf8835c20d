"""The accessible mode: speech guidance and keypad navigation of every customer screen
(docs/accessibility.md).

The keypad is a keyboard (a USB keypad is a HID device): its keys arrive as Kivy key events on the
Window and are looked up in the key map of kiosk.toml ([accessibility.keys]). The accessible-mode key
(or the attract screen's "Speech guidance" button) turns the mode on for the session; it ends with the
session. In the mode every screen says its title and what to do, the focused control is said as it gets
focus, messages, terminal prompts, the help box and the "still there?" countdown are said, the cart is
read out line by line, and letters and digits typed go to the screen's text field (booking code, search,
attendant PIN). Speech goes to a `kiosk.speech.SpeechEngine`, which never blocks this (the UI) thread.
"""
from __future__ import annotations

import time

from kivy.clock import Clock
from kivy.core.window import Keyboard, Window

from kiosk.flows import texts
from kiosk.flows.actions import Action
from kiosk.speech import Silent, money_words
from screens.focus import FocusRing, focusables, in_header, tag_of, top_box

COMMANDS = ("next", "previous", "activate", "back", "help", "repeat", "cart", "volume_up", "volume_down",
            "rate_up", "rate_down", "accessible_mode")
# what "back" presses on each screen, the first one shown
BACK_TAGS = ("message_ok", "help_ok", "still_here", "lookup_back", "age_back", "payment_back", "checkin_not_mine",
             "checkin_cancel")
TEXT_TARGET = {"lookup": "search", "checkin": "checkin", "age_check": "pin"}  # typed keys go here
KEY_BACKSPACE = 8
ANNOUNCED = ("state", "lang", "accessible", "message_text", "notice_text", "payment_text", "payment_message",
             "help_visible", "still_there_left", "cart_lines")


def key_map(keys) -> dict[int, str]:
    """Kivy key code -> command, from the [accessibility.keys] settings; a clear error for a bad name."""
    found: dict[int, str] = {}
    for command in COMMANDS:
        for name in getattr(keys, command):
            if name not in Keyboard.keycodes:
                raise ValueError(f"accessibility.keys.{command}: {name!r} is not a key name; expected one of "
                                 f"{', '.join(sorted(Keyboard.keycodes))}")
            code = Keyboard.keycodes[name]
            if code in found:
                raise ValueError(f"accessibility.keys.{command}: {name!r} is already the {found[code]} key")
            found[code] = command
    return found


class Accessibility:
    def __init__(self, app, keys, speech=None):
        self.app = app
        self.speech = speech or Silent()
        self.keys = key_map(keys)
        self.focused = None
        self.ring = FocusRing()
        self._since: float | None = None  # the key press the next phrase answers
        self._last: dict = {}
        self._trigger = Clock.create_trigger(self._announce, 0.03)  # after the new screen is laid out
        Window.bind(on_key_down=self.on_key_down)
        app.bind(**{name: lambda *_: self._trigger() for name in ANNOUNCED})
        Clock.schedule_interval(self._follow, 0.25)

    # --- speaking -----------------------------------------------------------------------------------------

    def say(self, text: str, interrupt: bool = True, lang: str | None = None) -> None:
        # only the phrase that answers a key directly is timed (a queued one waits for those before it)
        self.speech.say(text, lang or self.app.lang, interrupt=interrupt, since=self._since if interrupt else None)

    def money(self, amount: int) -> str:
        return money_words(amount, self.app.settings.money.currency, self.app.translator.ngettext, self.app.lang)

    def label(self, widget) -> str:
        """What a control is called, spoken: its `speech` text, else what it shows; a check button says on/off."""
        tr = self.app.tr
        text = getattr(widget, "speech", "") or getattr(widget, "text", "") or getattr(widget, "name", "")
        if getattr(widget, "tag", "") == "pay":  # its text shows the total as figures: say it as money
            text = tr("Pay by card") + ", " + self.money(self._total())
        if getattr(widget, "tag", "") in ("large_text", "low_reach"):  # switches: on or off
            text = tr("{label}: on").format(label=text) if widget.checked else tr("{label}: off").format(label=text)
        elif getattr(widget, "checked", False):  # an answer given
            text = tr("{label}: selected").format(label=text)
        return text

    def screen_phrases(self) -> list[str]:
        app, tr = self.app, self.app.tr
        state = app.state
        title = tr(texts.SCREEN_TITLES[state]).format(shop=app.shop_name)
        phrases = [title]
        if state in ("payment", "payment_failed", "payment_in_doubt"):
            phrases.append(tr("Amount to pay") + ": " + self.money(self._total()))
        elif state == "checkout" and app.cart_lines:
            phrases.append(app.items_text + ". " + tr("Total") + ": " + self.money(self._total()))
        elif state == "checkin_booking":
            phrases.append(app.booking_text.replace("\n", ". "))
        elif state == "checkin_done":
            phrases.append(tr("Your queue number") + ": " + app.ticket_no)
        phrases.append(tr(texts.SCREEN_HINTS[state]))
        shown = (app.payment_text, app.payment_message) if state.startswith("payment") else ()  # (a stale prompt
        for extra in (*shown, app.notice_text):  # is not shown on the receipt screen: it is not said there)
            if extra:
                phrases.append(extra)
        return phrases

    def _total(self) -> int:
        cart = self.app.session.checkout.cart if self.app.session else None
        return cart.total.amount if cart is not None else 0

    def _announce(self, *_):
        """Says what changed since the last time: a new screen, a box, a message, a terminal prompt, the
        cart; runs once per frame however many properties changed."""
        app = self.app
        now = {name: getattr(app, name) for name in ANNOUNCED}
        now["cart_lines"] = [(r["line_no"], r["name"], r["quantity"], r["voided"]) for r in app.cart_lines]
        now["still_there"] = app.still_there_left >= 0
        last, self._last = self._last, now
        if not app.accessible or app.session is None:
            return
        phrases: list[str] = []
        box = top_box(app)
        if now["still_there"] and not last.get("still_there"):
            phrases += [app.tr("Are you still there?"), app.tr("Press any key to continue."),
                        app.tr("We will start over in {seconds} seconds.").format(seconds=int(app.still_there_left))]
        elif now["still_there"] and now["still_there_left"] != last.get("still_there_left") \
                and now["still_there_left"] % 10 == 0 and now["still_there_left"] > 0:  # the countdown, every 10 s
            phrases.append(app.tr("We will start over in {seconds} seconds.").format(
                seconds=int(now["still_there_left"])))
        elif now["help_visible"] and not last.get("help_visible"):
            phrases += [app.tr("Help is on its way"), app.help_text]
        elif now["message_text"] and now["message_text"] != last.get("message_text"):
            phrases.append(now["message_text"])
        new_screen = any(now[k] != last.get(k) for k in ("state", "lang", "accessible"))
        if new_screen:
            phrases = self.screen_phrases() + phrases
        else:
            phrases += self._cart_change(last.get("cart_lines") or [], now["cart_lines"])
            paying = app.state.startswith("payment")  # the terminal's late "please wait" is not news on thanks
            for name in ("payment_text", "payment_message", "notice_text"):
                if now[name] and now[name] != last.get(name) and (paying or name == "notice_text"):
                    phrases.append(now[name])
        order = focusables(app)
        box_changed = box is not self._box  # a box came or went: the focus moves into it or back
        if new_screen or box_changed or self.focused not in order:
            if box_changed and box is not None:
                self._before_box = self.focused
            back = self._before_box if box is None and not new_screen and self._before_box in order else None
            self._box = box
            self.focused = back or (order[0] if order else None)
            if self.focused is not None and (new_screen or box_changed):
                phrases.append(self.label(self.focused))
            self._show_ring()
        # news that comes by itself (a terminal prompt, a scan, a message) follows what is being said; a new
        # screen or a key cuts it off (a prompt cutting off the payment screen lost the amount and what to do)
        cut = new_screen or self._since is not None
        for n, phrase in enumerate(phrases):
            self.say(phrase, interrupt=cut and n == 0)
        self._since = None

    _box = None
    _before_box = None  # the control that had the focus when a box came over the screen

    def _cart_change(self, before: list, after: list) -> list[str]:
        if self.app.state != "checkout" or before == after:
            return []
        tr, old = self.app.tr, {row[0]: row for row in before}
        said = []
        for line_no, name, quantity, voided in after:
            was = old.get(line_no)
            if was is None:
                said.append(tr("Added: {name}").format(name=name))
            elif voided != was[3]:
                said.append(tr("Removed: {name}").format(name=name) if voided else
                            tr("Back in the cart: {name}").format(name=name))
            elif quantity != was[2]:
                said.append(tr("{name}: quantity {quantity}").format(name=name, quantity=quantity))
        if said:
            said.append(tr("Total") + ": " + self.money(self._total()))
        return said

    def read_cart(self) -> None:
        app, tr = self.app, self.app.tr
        cart = app.session.checkout.cart if app.session else None
        lines = [line for line in (cart.lines if cart else []) if not line.voided]
        if not lines:
            self.say(tr("Your cart is empty."))
            return
        self.say(app.items_text + ". " + tr("Total") + ": " + self.money(cart.total.amount))
        for n, line in enumerate(lines, 1):
            self.say(tr("Line {n}: {name}, {quantity} at {price}, {total}").format(
                n=n, name=line.item.name(app.lang), quantity=line.quantity, price=self.money(line.unit_price),
                total=self.money(line.unit_price * line.quantity)), interrupt=False)

    # --- keys -----------------------------------------------------------------------------------------------

    def on_key_down(self, _window, key, _scancode, codepoint, _modifiers) -> bool:
        pressed = time.monotonic()
        app = self.app
        if not app.customer_mode or app.session is None:
            return False
        command = self.keys.get(key)
        if not app.accessible:
            if command == "accessible_mode":
                self._since = pressed
                app.act(Action.ACCESSIBLE_MODE)
                return True
            return False
        self._since = pressed
        if app.still_there_left >= 0:
            app.act(Action.TOUCH)  # any key answers "still there?"
            return True
        app.session.touch(app.now())
        if command is not None:
            getattr(self, f"do_{command}")()
            return True
        target = TEXT_TARGET.get(app.sm.current) if top_box(app) is None else None
        if target and key == KEY_BACKSPACE:
            app.keyboard_input(target, "⌫")
            self.say(app.tr("Delete"))
            return True
        if target and codepoint and len(codepoint) == 1 and codepoint.isalnum():
            char = codepoint if target == "pin" else codepoint.upper()
            app.keyboard_input(target, char)
            self.say("*" if target == "pin" else char)  # the PIN is never said
            return True
        return False

    def _move(self, step: int) -> None:
        order = focusables(self.app)
        if not order:
            return
        index = order.index(self.focused) + step if self.focused in order else 0
        self.focused = order[index % len(order)]
        self._show_ring()
        lang = getattr(self.focused, "lang", None) if type(self.focused).__name__ == "LanguageButton" else None
        self.say(self.label(self.focused), lang=lang)  # a language's name in its own voice

    def do_next(self) -> None:
        self._move(+1)

    def do_previous(self) -> None:
        self._move(-1)

    def do_activate(self) -> None:
        if self.focused is not None and self.focused in focusables(self.app):
            self.speech.stop()
            self.focused.trigger_action(duration=0)
            self._trigger()

    def do_back(self) -> None:
        back = [w for w in focusables(self.app) if getattr(w, "tag", "") in BACK_TAGS]
        if back:
            self.focused = back[0]
            self.do_activate()
        else:
            self.say(self.app.tr("There is no way back from here."))

    def do_help(self) -> None:
        self.app.call_help()

    def do_repeat(self) -> None:
        phrases = self.screen_phrases() + ([self.label(self.focused)] if self.focused is not None else [])
        for n, phrase in enumerate(phrases):
            self.say(phrase, interrupt=n == 0)

    def do_accessible_mode(self) -> None:
        self.do_repeat()

    def do_cart(self) -> None:
        self.read_cart()

    def do_volume_up(self) -> None:
        self.speech.change_volume(+1)
        self.say(self.app.tr("Louder"))

    def do_volume_down(self) -> None:
        self.speech.change_volume(-1)
        self.say(self.app.tr("Softer"))

    def do_rate_up(self) -> None:
        self.speech.change_rate(+1)
        self.say(self.app.tr("Faster"))

    def do_rate_down(self) -> None:
        self.speech.change_rate(-1)
        self.say(self.app.tr("Slower"))

    # --- the ring -------------------------------------------------------------------------------------------

    def ring_colour(self):
        if self.focused is None:
            return (0, 0, 0, 0)
        return self.app.c["focus_on_brand" if in_header(self.focused) else "focus"]

    def _show_ring(self) -> None:
        shown = self.focused if self.app.accessible else None
        self.ring.show(shown, self.ring_colour())

    def _follow(self, _dt) -> None:
        """Layouts move controls (a new cart line, large text): the ring follows."""
        if self.app.accessible or self.ring.target is not None:
            self._show_ring()

    def describe(self) -> dict:
        """For the control port's `ui` query."""
        app = self.app
        order = focusables(app) if app.accessible else []
        return {"accessible": app.accessible, "low_reach": app.low_reach,
                "focus": tag_of(self.focused) if app.accessible and self.focused is not None else "",
                "focus_order": [tag_of(w) for w in order], "ring": list(self.ring.geometry())}


def install(app, root, speech=None) -> Accessibility:
    """The accessible mode on `app` (called from its build): the key handler, the ring over everything, and
    the low-reach layout: the whole screen (header, boxes and all) shown at 1 - `theme.LOW_REACH_TOP` of its size at the
    bottom of the window, so every control is in its lower part and every screen keeps its layout."""
    from kivy.uix.image import Image
    from kivy.uix.scatter import Scatter

    from screens import theme
    a11y = Accessibility(app, app.settings.accessibility.keys, speech)
    logo = Image(source=app.logo_path, opacity=0, size_hint=(1, theme.LOW_REACH_TOP), pos_hint={"x": 0, "top": 1})
    layers = list(reversed(root.children))  # the screens, then the boxes over them
    holder = Scatter(do_rotation=False, do_scale=False, do_translation=False, auto_bring_to_front=False,
                     size_hint=(None, None))
    root.add_widget(logo)
    root.add_widget(a11y.ring)

    def place(*_):
        scale = 1 - theme.LOW_REACH_TOP
        holder.size = root.size
        holder.scale = scale
        holder.pos = (root.width * (1 - scale) / 2, 0)
        for layer in layers:
            layer.size_hint, layer.pos, layer.size = (None, None), (0, 0), root.size

    def low_reach(*_):
        inside = holder.parent is not None
        if app.low_reach and not inside:
            for layer in layers:
                root.remove_widget(layer)
                holder.add_widget(layer)
            root.add_widget(holder, index=len(root.children))  # under the logo and the ring
            root.bind(size=place)
            place()
        elif not app.low_reach and inside:
            root.unbind(size=place)
            root.remove_widget(holder)
            for layer in layers:
                holder.remove_widget(layer)
                layer.size_hint, layer.pos = (1, 1), (0, 0)
            for layer in reversed(layers):  # the screens under the boxes, both under the logo and the ring
                root.add_widget(layer, index=len(root.children))
        logo.opacity = 0.35 if app.low_reach else 0
    app.bind(low_reach=low_reach)
    low_reach()
    return a11y
