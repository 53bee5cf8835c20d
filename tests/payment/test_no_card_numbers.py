"""No full card number anywhere: the journal files, the logs and every printed receipt are scanned
for Luhn-valid 13-19 digit numbers, after payments with a terminal that (wrongly) sends the full PAN."""
from __future__ import annotations

import logging
import re
import uuid

from devices.base import IDLE, wait_until
from devices.payment import build
from devices.receipt import Receipt, ReceiptBuilder, Shop
from devices.zvt.apdu import luhn_ok
from devices.zvt.sim import TEST_PAN, Fault
from kiosk.config import PaymentSettings
from kiosk.events import DATA, EventQueue
from tests.payment.helpers import make_journal

# a number standing alone (not part of a hex token), digits optionally grouped by single spaces or dashes
NUMBER = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z])")


def card_numbers(text: str) -> list[str]:
    found = []
    for match in NUMBER.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            found.append(match.group())
    return found


def test_the_scanner_finds_card_numbers():
    assert card_numbers(f'{{"pan": "{TEST_PAN}"}}') == [TEST_PAN]
    assert card_numbers("Karte 4111 1111 1111 1111\n") == ["4111 1111 1111 1111"]
    assert card_numbers("672559******7898 e3b0c4429" + "1" * 16 + "ab") == []


def test_no_card_number_in_journal_logs_or_receipts(tmp_path, caplog):
    log_file = tmp_path / "kiosk.log"
    handler = logging.FileHandler(log_file)
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.DEBUG)
    events = EventQueue()
    journal = make_journal(tmp_path / "journal.sqlite")
    terminal, sim = build(PaymentSettings(driver="simulator", simulator_pin_delay_ms=0), events)
    sim.config.send_full_pan = True
    terminal.attach(journal)
    terminal.open()
    try:
        assert wait_until(lambda: terminal.state == IDLE, 10), terminal.last_error
        sales = [str(uuid.uuid4()) for _ in range(4)]
        assert terminal.pay(sales[0], 1234).result(timeout=20).status == "approved"
        sim.config.text_block = True
        assert terminal.pay(sales[1], 2500).result(timeout=20).status == "approved"
        sim.inject(Fault("drop", "printed"))  # recovered from the repeat receipt: its lines carry the PAN too
        terminal.pay(sales[2], 999).result(timeout=20)
        assert wait_until(lambda: not terminal.blocked, 20)
        sim.config.result_code = 0x05
        assert terminal.pay(sales[3], 100).result(timeout=20).status == "declined"
        terminal.end_of_day().result(timeout=20)
    finally:
        terminal.close()
        sim.stop()
        logging.getLogger().removeHandler(handler)
        handler.close()

    texts = {"log file": log_file.read_text(), "captured logs": caplog.text}
    posted = [e.data for e in events.drain() if e.kind == DATA]
    texts["events"] = repr(posted)
    texts["terminal receipt lines"] = "\n".join(line for d in posted for line in d.get("receipt_lines", []))
    assert "Karte 672559******7898" in texts["terminal receipt lines"]  # the receipts were there, masked
    for n, sale in enumerate(sales[:3]):
        record = journal.transaction(sale)
        printed = ReceiptBuilder().build(Receipt.from_record(record, Shop("Test shop")))
        texts[f"printed receipt {n}"] = printed.decode("latin-1")
        assert "7898" in texts[f"printed receipt {n}"]  # the masked card number is printed
    journal.close()
    for path in tmp_path.glob("journal.sqlite*"):
        texts[path.name] = path.read_bytes().decode("latin-1")
    assert any("672559******7898" in text for name, text in texts.items() if name.startswith("journal"))
    leaks = {name: card_numbers(text) for name, text in texts.items() if card_numbers(text)}
    assert leaks == {}
