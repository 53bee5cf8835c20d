"""A serial barcode scanner: sends each code as the hardware does, AIM prefix + code + suffix.

    sim = ScannerSimulator(transport="pty").start()   # or "tcp", "rfc2217"; sim.url is what the kiosk opens
    sim.scan("4006381333931")                         # -> b"]E04006381333931\\r"
    sim.scan("hello", symbology="QR")                 # -> b"]Q1hello\\r"
    sim.send_raw(b"\\x00\\xff garbage")                 # anything, for robustness tests
    sim.unplug(); sim.replug()
"""
from __future__ import annotations

from devices.code_reader import SUFFIX_BYTES
from devices.codes import GS
from devices.sim.link import make_link

AIM_PREFIX = {
    "EAN-13": "]E0", "UPC-A": "]E0", "UPC-E": "]E0", "EAN-8": "]E4", "Code128": "]C0", "GS1-128": "]C1",
    "QR": "]Q1", "GS1 QR": "]Q3", "DataMatrix": "]d1", "GS1 DataMatrix": "]d2", "Code39": "]A0",
    "GS1 DataBar": "]e0", "ITF": "]I0",
}


def guess_symbology(code: str) -> str:
    """The symbology a code most likely came from, for `scan(code)` without one."""
    if code.isascii() and code.isdigit():
        return {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}.get(len(code), "GS1-128" if code[:2] == "01" else "Code128")
    if GS in code:
        return "GS1 DataMatrix"
    return "QR"


class ScannerSimulator:
    def __init__(self, transport: str = "tcp", suffix: str = "CR", aim_ids: bool = True, port: int = 0,
                 path: str | None = None) -> None:
        self.suffix = SUFFIX_BYTES[suffix]
        self.aim_ids = aim_ids
        self.link = make_link(transport, port=port, path=path)

    @property
    def url(self) -> str:
        return self.link.url

    def start(self) -> "ScannerSimulator":
        self.link.start()
        return self

    def stop(self) -> None:
        self.link.stop()

    def frame(self, code: str, symbology: str | None = None) -> bytes:
        """The exact bytes a scanner sends for `code`."""
        prefix = AIM_PREFIX.get(symbology or guess_symbology(code), "]X0") if self.aim_ids else ""
        return (prefix + code).encode("utf-8") + self.suffix

    def scan(self, code: str, symbology: str | None = None) -> bool:
        """Send one code; False when nobody is connected (unplugged, or the kiosk not attached yet)."""
        return self.link.send(self.frame(code, symbology))

    def send_raw(self, data: bytes) -> bool:
        return self.link.send(data)

    def unplug(self) -> None:
        self.link.unplug()

    def replug(self) -> None:
        self.link.replug()
