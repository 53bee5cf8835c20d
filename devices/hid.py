"""Keyboard-wedge (HID) barcode scanners on Linux, read through evdev with an exclusive grab.

    [devices.scanner]
    driver = "hid"
    hid_device = "/dev/input/by-id/usb-Datalogic_Scanner-event-kbd"
    suffix = "CR"               # Enter ends a code ("TAB": Tab does)

Why evdev: the grab keeps the scanner's keystrokes away from every other program (no code typed
into a text field by accident), and evdev reports physical key codes, so the OS keyboard layout
(QWERTZ, AZERTY) cannot garble digits. The codes are read with the scanner's own layout, which
must be set to US (every scanner supports that). Characters a US keyboard cannot type arrive as
Alt + keypad digits (the scanner's "ALT mode"), and GS as Ctrl+] — both are understood here.
"""
from __future__ import annotations

import select
from typing import Any, Callable, Iterator

from devices.base import Device, DeviceError, release_quietly
from devices.codes import MAX_CODE_LENGTH
from devices.code_reader import CodeReader
from kiosk.config import ScannerSettings
from kiosk.events import EventQueue

EV_KEY = 1
KEY_DOWN, KEY_UP, KEY_REPEAT = 1, 0, 2
KEY_TAB, KEY_ENTER, KEY_KPENTER = 15, 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTALT, KEY_RIGHTALT = 29, 97, 56, 100

# Linux key code -> (unshifted, shifted) on a US keyboard
US_KEYS: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"), 7: ("6", "^"), 8: ("7", "&"),
    9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"), 12: ("-", "_"), 13: ("=", "+"),
    16: ("q", "Q"), 17: ("w", "W"), 18: ("e", "E"), 19: ("r", "R"), 20: ("t", "T"), 21: ("y", "Y"),
    22: ("u", "U"), 23: ("i", "I"), 24: ("o", "O"), 25: ("p", "P"), 26: ("[", "{"), 27: ("]", "}"),
    30: ("a", "A"), 31: ("s", "S"), 32: ("d", "D"), 33: ("f", "F"), 34: ("g", "G"), 35: ("h", "H"),
    36: ("j", "J"), 37: ("k", "K"), 38: ("l", "L"), 39: (";", ":"), 40: ("'", '"'), 41: ("`", "~"),
    43: ("\\", "|"), 44: ("z", "Z"), 45: ("x", "X"), 46: ("c", "C"), 47: ("v", "V"), 48: ("b", "B"),
    49: ("n", "N"), 50: ("m", "M"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"), 57: (" ", " "),
    55: ("*", "*"), 74: ("-", "-"), 78: ("+", "+"), 83: (".", "."), 98: ("/", "/"),
}
KEYPAD_DIGITS = {82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9"}
CTRL_CHARS = {27: "\x1d", 26: "\x1b", 43: "\x1c"}  # Ctrl+] = GS, Ctrl+[ = ESC, Ctrl+\ = FS


class KeyAssembler:
    """Key events in, lines of text out: ("line", text) or ("error", why)."""

    def __init__(self, suffix: str = "CR", max_length: int = MAX_CODE_LENGTH) -> None:
        self.ends = {KEY_TAB} if suffix == "TAB" else {KEY_ENTER, KEY_KPENTER}
        self.max_length = max_length
        self._chars: list[str] = []
        self._shift = self._ctrl = self._alt = self._caps = False
        self._alt_digits = ""
        self._too_long = False

    def feed(self, code: int, value: int) -> Iterator[tuple[str, str]]:
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            self._shift = value != KEY_UP
        elif code in (KEY_LEFTCTRL, KEY_RIGHTCTRL):
            self._ctrl = value != KEY_UP
        elif code in (KEY_LEFTALT, KEY_RIGHTALT):
            self._alt = value != KEY_UP
            if value == KEY_UP and self._alt_digits:
                yield from self._add(_alt_code(self._alt_digits))
                self._alt_digits = ""
        elif value != KEY_DOWN:
            return  # key releases and auto-repeat carry no characters
        elif code == KEY_CAPSLOCK:
            self._caps = not self._caps
        elif code in self.ends:
            yield from self._end()
        elif self._alt and code in KEYPAD_DIGITS:
            self._alt_digits += KEYPAD_DIGITS[code]
        elif self._ctrl and code in CTRL_CHARS:
            yield from self._add(CTRL_CHARS[code])
        elif code in KEYPAD_DIGITS:
            yield from self._add(KEYPAD_DIGITS[code])
        elif code in US_KEYS:
            plain, shifted = US_KEYS[code]
            upper = self._shift != (self._caps and plain.isalpha())
            yield from self._add(shifted if upper else plain)
        else:
            yield "error", f"key code {code} has no character on a US keyboard; is the scanner set to US layout?"

    def _add(self, char: str) -> Iterator[tuple[str, str]]:
        if self._too_long:
            return
        self._chars.append(char)
        if len(self._chars) > self.max_length:
            self._chars.clear()
            self._too_long = True
            yield "error", f"line longer than {self.max_length} characters without a suffix; discarded"

    def _end(self) -> Iterator[tuple[str, str]]:
        text = "".join(self._chars)
        self._chars.clear()
        self._too_long = False
        if text:
            yield "line", text


def _alt_code(digits: str) -> str:
    """Windows-style Alt codes: a leading 0 means Windows-1252, otherwise code page 437."""
    value = int(digits) % 256
    return bytes([value]).decode("cp1252" if digits.startswith("0") else "cp437", errors="replace")


class HidScanner(Device):
    kind = "scanner"

    def __init__(self, name: str, events: EventQueue, settings: ScannerSettings,
                 open_device: Callable[[str], Any] | None = None) -> None:
        super().__init__(name, events)
        if not settings.hid_device:
            raise DeviceError("devices.scanner.hid_device is empty; set it to /dev/input/by-id/...-event-kbd")
        self.settings = settings
        self.reader = CodeReader(self)
        self._open_device = open_device or _open_evdev
        self._device: Any = None

    @property
    def endpoint(self) -> str:
        return self.settings.hid_device

    def _connect(self) -> None:
        self._device = self._open_device(self.settings.hid_device)
        self._device.grab()  # exclusive: keystrokes reach nobody else
        self.keys = KeyAssembler(self.settings.suffix)

    def _serve(self) -> None:
        device = self._device
        while not self.stopping.is_set():
            ready, _, _ = select.select([device.fd], [], [], 0.1)
            if not ready:
                continue
            for event in device.read():  # OSError (ENODEV) when unplugged: the base class reconnects
                if event.type != EV_KEY:
                    continue
                self.statistics["key_events"] += 1
                for what, value in self.keys.feed(event.code, event.value):
                    if what == "line":
                        self.reader.line(value.encode("utf-8"))
                    else:
                        self.statistics["bad_reads"] += 1
                        self.post_error(f"bad read: {value}")

    def _disconnect(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            release_quietly(device.ungrab, device.close)

    def _check(self, level: str) -> str:
        return f"grabbed {self.settings.hid_device}; scan any code to test"


def _open_evdev(path: str) -> Any:
    try:
        import evdev
    except ImportError:
        raise DeviceError("python-evdev is not installed (pip install evdev); it is needed for HID scanners") from None
    return evdev.InputDevice(path)
