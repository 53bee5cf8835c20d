"""What every customer flow shares: the screen's state, language, large text, messages, the help call,
the idle "still there?" countdown and the waits with their limits. `session.Session` is the shell with
its two flows (`checkout.CheckoutFlow`, `checkin.CheckinFlow`) plugged in; a flow reaches the shell
through `Flow.shell` and never another flow.

No wait strands a customer: paying, cancelling, a payment in doubt, an age check and a receipt or
ticket being printed each have a limit (`waits`, from [ui] in kiosk.toml). When `tick` finds one
exceeded, the screen's `notice` says what happens next and help is called (journaled with the
reason). A timeout never decides a payment: a late result from the terminal still moves on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.bookings import Booking, CheckinCheck
from kiosk.flows import texts
from kiosk.flows.recorder import ObservedBackend, SessionRecorder
from kiosk.flows.states import ATTRACT, NOT_IDLE, OUT_OF_SERVICE, STATES, THANKS
from kiosk.wire import SaleDraft

USABLE = ("idle", "busy")
THANKS_SECONDS = 15  # the thank-you screen returns to attract by itself


class Backend(Protocol):
    """What the session needs from the rest of the kiosk (launcher.backend.KioskBackend is the real one)."""
    kiosk_id: str
    currency: str
    vat_rates: dict[str, int]
    catalog: Any  # kiosk.catalog.Catalog
    bookings: Any  # kiosk.bookings.Bookings

    waits: dict[str, float]  # seconds per wait (kiosk.config.WAITS)
    fault: str | None  # the technician's reason the kiosk must not sell (e.g. a damaged journal), or None

    def device_state(self, name: str) -> str | None: ...  # None: no such device configured
    def pay(self, sale_uuid: str, amount: int, draft: SaleDraft) -> None: ...  # result comes as events
    def cancel_payment(self) -> None: ...
    def sale_completed(self, sale_uuid: str) -> bool: ...
    def print_receipt(self, sale_uuid: str, lang: str) -> int | None: ...  # printer job id
    def receipt_url(self, sale_uuid: str) -> str: ...
    def complete_checkin(self, booking: Booking) -> int: ...  # the ticket (queue) number
    def print_ticket(self, ticket_no: int, booking: Booking, lang: str) -> int | None: ...
    def record_event(self, event: str, details: dict) -> None: ...
    def check_attendant(self, secret: str, request: int) -> None: ...  # off the UI thread (scrypt); answers
    # with events.AttendantChecked(request, attendant id or None, locked_for_s)
    def attendant_locked_for(self) -> float: ...  # seconds the attendant check stays locked (0 = open)
    def check_booking(self, code: str | None) -> CheckinCheck: ...


@dataclass(frozen=True)
class Message:
    msgid: str  # English source text, translated by the UI
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "error"  # error | info
    help: bool = False  # offer the help button with it


class Shell:
    """The screen-wide state of one customer's session; subclasses say what is being waited for
    (`_waiting_for`), what a printing failure means (`_print_failed`) and what to journal (`_facts`)."""

    def __init__(self, backend: Backend, *, mode: str, default_language: str, default_large_text: bool,
                 idle_timeout_s: float, countdown_s: float, default_low_reach: bool = False,
                 accessible_idle_factor: int = 3):
        self.recorder = SessionRecorder(backend.record_event, getattr(backend, "currency", ""))
        self.backend = ObservedBackend(backend, self.recorder)
        self.mode = mode
        self.default_language = default_language
        self.default_large_text = default_large_text
        self.default_low_reach = default_low_reach
        self.accessible_idle_factor = accessible_idle_factor  # speech guidance: "still there?" this much later
        self.idle_timeout_s, self.countdown_s = idle_timeout_s, countdown_s
        self.waits = dict(backend.waits)
        self.version = 0  # bumped on every change the screens should show
        self.state = ATTRACT
        # an attendant closed the lane from the attendant station (issue 15): the reason, until reopened;
        # `closing` is a close asked for during a customer's session, done when that session ends
        self.closed_reason: str | None = None
        self.closing: str | None = None

    def _reset_shell(self, now: float) -> None:
        self.lang = self.default_language
        self.large_text = self.default_large_text
        self.low_reach = self.default_low_reach  # every control in the lower part of the screen
        self.accessible = False  # speech guidance and keypad navigation, until the session ends
        self.message: Message | None = None
        self.notice = ""  # a msgid the current screen shows as a line of its own (cleared on a new state)
        self.help_called = False  # an attendant is on the way (until the session ends)
        self.help_box = False  # the "help is on its way" box is shown
        self.help_since: float | None = None
        self.help_acknowledged_by: str | None = None  # an attendant took the call: "help is on the way"
        self.session_id: str | None = None  # the customer's session, once a flow started (live commands name it)
        self.last_touch = now
        self.still_there_until: float | None = None
        self.print_job: int | None = None  # the receipt or ticket being printed
        self.print_kind = ""  # "receipt" | "ticket"
        self.choose_hint = False  # attract in "both" mode was touched outside its two buttons
        self.thanks_until: float | None = None
        self._wait_for: str | None = None
        self._wait_since: float | None = None  # None: not waiting, or told already

    # --- hooks -------------------------------------------------------------------------------------------

    def _reset(self, now: float) -> None:
        raise NotImplementedError

    def _facts(self) -> dict[str, Any]:
        """What the journal says about the session when help is called or it ends."""
        return {"screen": self.state}

    def _waiting_for(self) -> str | None:
        """What the customer is waiting for now, as a key of `waits`."""
        return "printing" if self.print_job is not None else None

    def _print_failed(self, overdue: bool) -> None:
        raise NotImplementedError

    # --- state -------------------------------------------------------------------------------------------

    def _go(self, state: str) -> None:
        assert state in STATES, state
        if state != self.state:
            self.notice = ""
            self.recorder.state(self.state, state, self.lang, self.large_text)
        self.state = state
        self.version += 1

    def _changed(self) -> None:
        self.version += 1

    def _say(self, msgid: str, kind: str = "error", help: bool = False, **params: Any) -> None:
        self.message = Message(msgid, params, kind, help)
        self.recorder.message(msgid)
        self._changed()

    def _usable(self, name: str) -> bool:
        state = self.backend.device_state(name)
        return state is not None and state in USABLE

    @property
    def fault(self) -> str | None:
        """Set by the backend when nothing may be sold or checked in (the journal cannot be used)."""
        return getattr(self.backend, "fault", None)

    @property
    def checkout_offered(self) -> bool:
        return self.mode in ("checkout", "both")

    @property
    def checkin_offered(self) -> bool:
        return self.mode in ("checkin", "both")

    @property
    def checkout_available(self) -> bool:
        """Shopping needs a way to scan and the card terminal."""
        return self.checkout_offered and not self.fault and self._usable("payment") and (self._usable("scanner") or
                                                                      self._usable("camera"))

    @property
    def printer_ready(self) -> bool:
        return self._usable("printer")

    def _rest_state(self) -> str:
        if self.fault or self.closed_reason is not None:
            return OUT_OF_SERVICE
        return ATTRACT if self.checkout_available or self.checkin_offered else OUT_OF_SERVICE

    def _thanks(self, now: float) -> None:
        self.thanks_until = now + self.thanks_s
        self._go(THANKS)

    # --- taps anywhere -----------------------------------------------------------------------------------

    def touch(self, now: float) -> None:
        """Any tap on the screen: the customer is still there."""
        self.last_touch = now
        if self.accessible and self.state == THANKS and self.thanks_until is not None:  # a key: still reading it
            self.thanks_until = now + self.thanks_s
        if self.still_there_until is not None:
            self.still_there_until = None
            self._changed()

    def set_language(self, lang: str) -> None:
        if lang != self.lang:
            self.recorder.count("language_switches")
        self.lang = lang
        self._changed()

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text
        self.recorder.text_size(self.large_text)
        self._changed()

    def toggle_low_reach(self) -> None:
        self.low_reach = not self.low_reach
        self._changed()

    def enter_accessible(self) -> None:
        self.accessible = True
        self._changed()

    @property
    def thanks_s(self) -> float:
        """How long the thank-you screen stays (longer with speech: it is heard, then walked with keys)."""
        return THANKS_SECONDS * (self.accessible_idle_factor if self.accessible else 1)

    @property
    def idle_limits(self) -> tuple[float, float]:
        """Seconds without a touch before "still there?", and of its countdown (longer with speech)."""
        factor = self.accessible_idle_factor if self.accessible else 1
        return self.idle_timeout_s * factor, self.countdown_s * factor

    def dismiss_message(self) -> None:
        self.message = None
        self._changed()

    def call_help(self, reason: str = "customer", now: float | None = None) -> None:
        """The customer asks for an attendant (or a wait ran too long: `reason`): journaled (the
        maintenance screen lists open calls). Help stays on its way until the session ends."""
        facts = self._facts()
        details = {"screen": self.state, "sale_uuid": facts.get("sale_uuid"), "items": facts.get("items", 0),
                   "reason": reason}
        self.backend.record_event("help_called", details)
        self.help_called, self.help_since = True, now
        self.help_box = reason == "customer"  # a timeout says what happens next on the screen itself
        self._changed()

    def dismiss_help(self) -> None:
        """OK on the help box: the box goes, the call stays open."""
        self.help_box = False
        self._changed()

    # --- time --------------------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Called about once a second: waits, idle countdown, thank-you timeout, device changes on attract."""
        waiting = self._check_wait(now)
        if self.state == THANKS and self.thanks_until is not None and now >= self.thanks_until \
                and self.print_job is None:
            self._reset(now)
            return
        if self.state in NOT_IDLE or waiting:
            self.last_touch = now
            if self.state in (ATTRACT, OUT_OF_SERVICE) and self.help_called and self.help_since is not None \
                    and now - self.help_since >= sum(self.idle_limits):
                self.help_called = self.help_box = False  # no session to end here: as long as an abandoned one
                self._changed()
            if self.state in (ATTRACT, OUT_OF_SERVICE) and self.state != self._rest_state():
                self._go(self._rest_state())
            return
        idle_s, countdown_s = self.idle_limits
        if self.still_there_until is None:
            if now - self.last_touch >= idle_s:
                self.still_there_until = now + countdown_s
                self._changed()
        elif now >= self.still_there_until:
            self.backend.record_event("session_abandoned", self._facts())
            self._reset(now)

    def _check_wait(self, now: float) -> bool:
        """Times the current wait from the first tick that sees it; True while it is within its limit."""
        what = self._waiting_for()
        if what != self._wait_for:
            self._wait_for, self._wait_since = what, now
        if what is None or self._wait_since is None:
            return False
        if now - self._wait_since < self.waits[what]:
            return True
        self._wait_since = None  # said once
        if what == "printing":
            self._print_failed(overdue=True)
        else:
            self.notice = texts.OVERDUE[what]
        self.call_help(reason=f"{what}_timeout", now=now)
        return False

    def still_there_left(self, now: float) -> int | None:
        if self.still_there_until is None:
            return None
        return max(0, int(self.still_there_until - now + 0.999))


class Flow:
    """A part of the session (checkout, check-in) on the shared shell."""

    def __init__(self, shell: Shell):
        self.shell = shell
        self.backend = shell.backend

    @property
    def state(self) -> str:
        return self.shell.state

    @property
    def lang(self) -> str:
        return self.shell.lang

    def _go(self, state: str) -> None:
        self.shell._go(state)

    def _changed(self) -> None:
        self.shell._changed()

    def _say(self, msgid: str, kind: str = "error", help: bool = False, **params: Any) -> None:
        self.shell._say(msgid, kind, help, **params)
