"""An ESC/POS receipt printer on a TCP port (like port 9100) or a pty.

It parses the byte stream (`devices.sim.escpos`), answers DLE EOT status queries like an Epson
TM printer, and keeps each receipt (ended by a cut) as a `Document`; with `out_dir` it also writes
every receipt as `receipt-0001.txt` and `receipt-0001.png`.

    sim = PrinterSimulator(transport="tcp").start()     # sim.port / sim.url
    sim.set_paper("near_end" | "out" | "ok"); sim.set_cover(open=True); sim.set_offline(True)
    sim.run_out_after(5)     # paper runs out after 5 more printed elements (mid-job paper out)
    sim.set_mute(True)       # never answers status queries
    PrinterSimulator(profile="TM-T88V")   # ESC t numbers as in that python-escpos profile
    sim.wait_for_receipts(1); sim.receipts[-1].text
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from devices.sim.escpos import Document, EscPosParser
from devices.sim.link import Link, make_link
from devices.sim.render import to_png, to_text

# DLE EOT replies (Epson): fixed bits 0x12 plus the condition bits
ONLINE_OFFLINE = 0x08  # n=1: printer offline
COVER_OPEN = 0x04  # n=2
PAPER_STOP = 0x20  # n=2: printing stopped because the paper ran out
ERROR_BIT = 0x40  # n=2: an error occurred
NEAR_END = 0x0C  # n=4: roll paper near end
PAPER_OUT = 0x60  # n=4: roll paper end


class PrinterSimulator:
    def __init__(self, transport: str = "tcp", port: int = 0, path: str | None = None, columns: int = 42,
                 out_dir: str | None = None, profile: str = "default") -> None:
        self.columns = columns
        self.out_dir = Path(out_dir) if out_dir else None
        self.paper = "ok"
        self.cover_open = False
        self.offline = False
        self.mute = False
        self._print_budget: int | None = None  # elements left before the paper runs out
        self.receipts: list[Document] = []
        self.status_queries = 0
        self._changed = threading.Condition()
        self.parser = EscPosParser(self._status, self._answer, self._can_print, profile=profile)
        self.link: Link = make_link(transport, self._on_bytes, port=port, path=path)

    # -- control ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.link.url

    @property
    def port(self) -> int:
        return getattr(self.link, "port", 0)

    def start(self) -> "PrinterSimulator":
        self.link.start()
        return self

    def stop(self) -> None:
        self.link.stop()

    def unplug(self) -> None:
        self.link.unplug()

    def replug(self) -> None:
        self.link.replug()

    def set_paper(self, paper: str) -> None:
        if paper not in ("ok", "near_end", "out"):
            raise ValueError(f"paper must be ok, near_end or out, not {paper!r}")
        self.paper, self._print_budget = paper, None

    def set_cover(self, open: bool) -> None:
        self.cover_open = open

    def set_offline(self, offline: bool) -> None:
        self.offline = offline

    def set_mute(self, mute: bool) -> None:
        self.mute = mute

    def run_out_after(self, elements: int) -> None:
        """Paper runs out after `elements` more printed lines/images/codes."""
        self._print_budget = elements

    def wait_for_receipts(self, count: int, timeout: float = 10.0) -> list[Document]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.receipts) < count and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return list(self.receipts)

    def text(self, index: int = -1) -> str:
        return to_text(self.receipts[index], self.columns)

    # -- the printer --------------------------------------------------------------------------

    def _on_bytes(self, data: bytes, link: Link) -> None:
        before = len(self.parser.documents)
        self.parser.feed(data)
        new = self.parser.documents[before:]
        if new:
            with self._changed:
                for doc in new:
                    self.receipts.append(doc)
                    self._save(doc, len(self.receipts))
                self._changed.notify_all()

    def _save(self, doc: Document, number: int) -> None:
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.out_dir / f"receipt-{number:04d}"
        stem.with_suffix(".txt").write_text(to_text(doc, self.columns) + "\n", encoding="utf-8")
        to_png(doc, stem.with_suffix(".png"), self.columns)

    def _answer(self, reply: bytes) -> None:
        self.status_queries += 1
        if not self.mute:
            self.link.send(reply)

    def _can_print(self) -> bool:
        if self._print_budget is not None:
            if self._print_budget <= 0:
                self.paper, self._print_budget = "out", None
            else:
                self._print_budget -= 1
        return not (self.paper == "out" or self.cover_open or self.offline)

    def _status(self, n: int) -> int:
        stopped = self.paper == "out"
        if n == 1:
            return 0x12 | (ONLINE_OFFLINE if self.offline or stopped or self.cover_open else 0)
        if n == 2:
            return 0x12 | (COVER_OPEN if self.cover_open else 0) | (PAPER_STOP if stopped else 0)
        if n == 3:
            return 0x12
        return 0x12 | {"ok": 0, "near_end": NEAR_END, "out": PAPER_OUT | NEAR_END}[self.paper]
