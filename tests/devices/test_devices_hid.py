"""HID keyboard-wedge scanners: the key-code assembly (pure), and the driver loop with a stand-in evdev device
(no /dev/uinput on the CI machine, so no real input device can be created there)."""
import os
from types import SimpleNamespace

from devices.base import IDLE, OFFLINE, wait_until
from devices.hid import US_KEYS, HidScanner, KeyAssembler
from kiosk.config import ScannerSettings
from device_test_helpers import data_events

SHIFT, CTRL, ALT, ENTER, TAB = 42, 29, 56, 28, 15
CHAR_KEYS = {plain: (code, False) for code, (plain, _) in US_KEYS.items()} | {
    shifted: (code, True) for code, (plain, shifted) in US_KEYS.items() if shifted != plain}
KEYPAD = {"0": 82, "1": 79, "2": 80, "3": 81, "4": 75, "5": 76, "6": 77, "7": 71, "8": 72, "9": 73}


def keystrokes(text, end=ENTER):
    """The key events a US-layout scanner sends for `text`."""
    events = []
    for char in text:
        if char == "\x1d":
            events += [(CTRL, 1), (27, 1), (27, 0), (CTRL, 0)]
        elif char in CHAR_KEYS:
            code, shift = CHAR_KEYS[char]
            events += ([(SHIFT, 1)] if shift else []) + [(code, 1), (code, 0)] + ([(SHIFT, 0)] if shift else [])
        else:  # ALT mode: Alt + keypad digits of the Windows-1252 code
            digits = "0" + str(char.encode("cp1252")[0])
            events += [(ALT, 1)] + [e for d in digits for e in ((KEYPAD[d], 1), (KEYPAD[d], 0))] + [(ALT, 0)]
    return events + [(end, 1), (end, 0)]


def assemble(events, suffix="CR"):
    assembler = KeyAssembler(suffix)
    return [item for code, value in events for item in assembler.feed(code, value)]


def test_codes_with_shift_gs_and_alt_mode_characters():
    for text in ["4006381333931", "]C1010400638133393110ABC\x1d17251231", "BK-7Q2X9K", "Grüße € ß",
                 "https://shop.example/r/Ab_9?x=1&y=2"]:
        assert assemble(keystrokes(text)) == [("line", text)]


def test_tab_suffix_and_caps_lock_and_repeats():
    assert assemble(keystrokes("abc", end=TAB), suffix="TAB") == [("line", "abc")]
    assert assemble([(58, 1), (58, 0)] + keystrokes("abc")) == [("line", "ABC")]
    assert assemble([(30, 1), (30, 2), (30, 2), (30, 0), (ENTER, 1)]) == [("line", "a")]


def test_unknown_keys_and_overlong_lines_are_errors_and_the_next_code_is_fine():
    result = assemble([(59, 1)] + [(2, 1)] * 5000 + [(ENTER, 1)] + keystrokes("123"))
    assert result[0][0] == "error" and "US layout" in result[0][1]
    assert result[1] == ("error", "line longer than 4096 characters without a suffix; discarded")
    assert result[2:] == [("line", "123")]


class StandInDevice:
    """Looks like evdev.InputDevice to the driver: fd, read(), grab(), ungrab(), close()."""

    def __init__(self):
        self.read_fd, self.write_fd = os.pipe()
        self.fd = self.read_fd
        self.pending = []
        self.grabbed = False
        self.gone = False

    def type(self, events):
        self.pending += [SimpleNamespace(type=1, code=c, value=v) for c, v in events]
        os.write(self.write_fd, b"x")

    def read(self):
        if self.gone:
            raise OSError(19, "No such device")
        os.read(self.read_fd, 4096)
        events, self.pending = self.pending, []
        return events

    def grab(self):
        self.grabbed = True

    def ungrab(self):
        self.grabbed = False

    def close(self):
        pass


def test_driver_grabs_classifies_and_reconnects(events):
    devices, refused = [], []

    def open_device(path):
        if devices and devices[-1].gone and not refused:  # the first attempt after unplugging fails
            refused.append(path)
            raise OSError(2, "No such file or directory")
        devices.append(StandInDevice())
        return devices[-1]

    scanner = HidScanner("scanner", events, ScannerSettings(driver="hid", hid_device="/dev/input/event7"),
                         open_device)
    scanner.open()
    try:
        assert wait_until(lambda: scanner.state == IDLE, 10)
        assert devices[0].grabbed
        devices[0].type(keystrokes("]E04006381333931"))
        event = data_events(events, "scanner", 1)[0]
        assert (event.data["code"], event.data["symbology"]) == ("4006381333931", "EAN-13")
        devices[0].gone = True
        devices[0].type([])
        assert wait_until(lambda: scanner.state == OFFLINE, 10)
        assert wait_until(lambda: scanner.state == IDLE, 10)
        assert devices[-1].grabbed and refused
        events.drain()
        devices[-1].type(keystrokes("BK-7Q2X9K"))
        assert data_events(events, "scanner", 1)[0].data["booking"] == "7Q2X9K"
    finally:
        scanner.close()
