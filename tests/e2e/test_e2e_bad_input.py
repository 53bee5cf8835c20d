"""Issue 14 on the launched kiosk: a scanner that sends a megabyte of binary garbage (a broken cable, a wrong
baud rate, a device that is not a scanner) neither stalls the screen nor loses the next real scan."""
from __future__ import annotations

import random
import time

from launched import MILK


def test_a_megabyte_of_binary_garbage_from_the_scanner_leaves_the_screen_answering_and_the_next_scan_counts(launch):
    kiosk = launch()
    noise = random.Random(14)
    for chunk in range(16):  # 16 x 64 KiB, with CR/LF (line ends) and NUL inside, as line noise has
        sent = kiosk.send("raw " + bytes(noise.randrange(256) for _ in range(65536)).hex())
        assert sent == ["sent"], sent
        view = kiosk.ui()  # the UI thread answers between the chunks (else: "error: the UI thread did not answer")
        assert view["screen"] in ("attract", "checkout"), view["screen"]
    time.sleep(0.5)  # the customer scans after the noise (a code comes as one burst; a pause starts a new one)
    kiosk.scan(MILK)  # the fragment the noise left is dropped, not glued in front of this code
    view = kiosk.wait_ui(lambda v: any(line["name"] for line in v["cart"]), 30, "the real scan after the garbage")
    assert [line["quantity"] for line in view["cart"]] == [1], view["cart"]
    assert kiosk.proc.poll() is None
    written = kiosk.journal()  # bad reads are rate-limited: one burst must not flood the journal either
    assert len(written) < 100, f"{len(written)} records journaled for one burst of garbage"
