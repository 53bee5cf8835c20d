"""The real printer driver (python-escpos transports) against the ESC/POS printer simulator, over TCP and a pty."""
import pytest

from devices.base import ERROR_STATE, IDLE, OFFLINE, wait_until
from devices.printer import ReceiptPrinter
from devices.receipt import money
from devices.sim.printer import PrinterSimulator
from devices.sim.render import to_png
from devices.sim.samples import sample_receipt
from kiosk.config import PrinterSettings


@pytest.fixture(params=["tcp", "pty"])
def rig(request, events):
    sim = PrinterSimulator(transport=request.param).start()
    if request.param == "tcp":
        settings = PrinterSettings(driver="network", port=sim.port, status_interval_s=0.1)
    else:
        settings = PrinterSettings(driver="serial", url=sim.url, status_interval_s=0.1)
    device = ReceiptPrinter("printer", events, settings)
    device.open()
    assert wait_until(lambda: device.state == IDLE, 10), device.last_error
    events.drain()
    yield sim, device, events
    device.close()
    sim.stop()


def job_event(events, timeout=10):
    event = events.wait_for(lambda e: e.source == "printer" and e.kind == "data", timeout)
    assert event is not None, "no job outcome arrived"
    return event.data


def test_a_printed_receipt_is_parsed_back_intact(rig, tmp_path):
    sim, device, events = rig
    receipt = sample_receipt()
    job_id = device.print_receipt(receipt)
    assert job_event(events) == {"job": "printed", "job_id": job_id, "label": "receipt kiosk-001/000123"}
    [doc] = sim.wait_for_receipts(1)
    assert doc.cut and not doc.incomplete and sim.parser.errors == []
    text = sim.text()
    for line in receipt.sale.lines:
        assert f"{line.name}" in text and f"{money(line.total)} {line.vat_code}" in text
    total_line = next(line for line in text.splitlines() if line.startswith("TOTAL"))
    assert total_line.endswith(f"{money(receipt.sale.total)} €")
    for vat in receipt.sale.vat:
        assert money(vat.net) in text and money(vat.vat) in text and money(vat.gross) in text
    assert "672559******1234" in text and "123456" in text
    assert "Bäckerei Süß" in text and "Königstraße 12" in text and "Grüße" in text
    assert "[QR http://127.0.0.1:8765/r/q7Vx3kPz9Lw2]" in text
    assert "kiosk-001/000123" in text
    png = to_png(doc, tmp_path / "r.png")
    assert png.stat().st_size > 1000


def test_the_logo_is_printed_as_a_raster_image(rig):
    from dataclasses import replace
    from pathlib import Path

    from devices.sim.escpos import Image

    sim, device, events = rig
    receipt = sample_receipt(1)
    logo = Path(__file__).resolve().parents[2] / "docs" / "img" / "sample-logo.png"
    device.print_receipt(replace(receipt, shop=replace(receipt.shop, logo=str(logo))))
    assert job_event(events)["job"] == "printed"
    first = sim.wait_for_receipts(1)[0].items[0]
    assert isinstance(first, Image) and (first.width, first.height) == (288, 96)
    assert sum(bin(byte).count("1") for byte in first.bits) > 500  # black dots, not an empty box


def test_paper_out_mid_job_fails_the_job_with_a_status_event_and_it_can_be_reprinted(rig):
    sim, device, events = rig
    sim.run_out_after(6)
    job_id = device.print_receipt(sample_receipt())
    outcome = job_event(events)
    assert outcome["job"] == "failed" and outcome["job_id"] == job_id
    assert "paper out" in outcome["error"]
    assert device.state == ERROR_STATE and device.last_error == "paper out"
    assert device.failed_jobs()[0].id == job_id
    assert sim.wait_for_receipts(1)[0].incomplete
    assert device.statistics["paper_out_events"] == 1
    sim.set_paper("ok")
    assert wait_until(lambda: device.state == IDLE, 10)
    assert device.reprint(job_id)
    assert job_event(events)["job"] == "printed"
    assert not sim.wait_for_receipts(2)[1].incomplete
    assert not device.reprint(job_id)  # printed now: nothing to reprint


def test_status_changes_are_events(rig):
    sim, device, events = rig
    sim.set_paper("near_end")
    near = events.wait_for(lambda e: e.kind == "status" and e.data.get("paper") == "near_end", 10)
    assert near is not None and device.state == IDLE
    sim.set_cover(True)
    assert events.wait_for(lambda e: e.kind == "status" and e.data["state"] == ERROR_STATE, 10)
    assert device.last_error == "cover open"
    job_id = device.print_receipt(sample_receipt())
    assert job_event(events) == {"job": "failed", "job_id": job_id, "label": "receipt kiosk-001/000123",
                                 "error": "cover open"}
    sim.set_cover(False)
    sim.set_offline(True)
    assert wait_until(lambda: device.last_error == "printer offline", 10)
    sim.set_offline(False)
    assert wait_until(lambda: device.state == IDLE, 10)
    assert sim.receipts == []  # nothing printed while the printer could not


def test_a_printer_that_never_answers_goes_offline_and_recovers(rig):
    sim, device, events = rig
    sim.set_mute(True)
    error = events.wait_for(lambda e: e.kind == "error", 15)
    assert error is not None and "did not answer the status query" in error.data["message"]
    assert device.state == OFFLINE
    sim.set_mute(False)
    assert wait_until(lambda: device.state == IDLE, 15)
    device.print_receipt(sample_receipt(2))
    assert job_event(events)["job"] == "printed"


def test_unplug_gives_offline_then_idle_and_jobs_meanwhile_fail_visibly(rig):
    sim, device, events = rig
    sim.unplug()
    assert events.wait_for(lambda e: e.kind == "status" and e.data["state"] == OFFLINE, 15)
    job_id = device.print_receipt(sample_receipt(1))
    outcome = job_event(events)
    assert outcome["job"] == "failed" and "offline" in outcome["error"]
    sim.replug()
    assert events.wait_for(lambda e: e.kind == "status" and e.data["state"] == IDLE, 15)
    assert device.reprint(job_id)
    assert job_event(events)["job"] == "printed"
    assert device.statistics["reconnects"] >= 1


def test_health_checks(rig):
    sim, device, events = rig
    assert device.health_check("internal") == (True, "ready, paper ok")
    assert sim.receipts == []
    assert device.health_check("external") == (True, "test page queued")
    assert "TEST PAGE" in sim.wait_for_receipts(1)[0].text


def test_file_printer_writes_the_receipt_bytes(events, tmp_path):
    from devices.sim.escpos import EscPosParser

    out = tmp_path / "lp0"
    out.touch()
    device = ReceiptPrinter("printer", events, PrinterSettings(driver="file", url=str(out), status_interval_s=0.1))
    device.open()
    try:
        assert wait_until(lambda: device.state == IDLE, 10), device.last_error
        device.print_receipt(sample_receipt())
        assert job_event(events)["job"] == "printed"
    finally:
        device.close()
    parser = EscPosParser()
    parser.feed(out.read_bytes())
    assert "672559******1234" in parser.documents[0].text


def test_a_missing_usb_printer_is_offline_with_a_clear_error(events):
    device = ReceiptPrinter("printer", events, PrinterSettings(driver="usb", usb_vendor_id=0x04B8,
                                                               usb_product_id=0x0E15))
    device.open()
    try:
        error = events.wait_for(lambda e: e.kind == "error", 10)
        assert error is not None and error.data["message"].startswith("cannot connect: ")
        assert device.state == OFFLINE
        assert device.health_check() == (False, f"printer is offline: {device.last_error}")
    finally:
        device.close()


def test_jobs_caught_by_a_silent_printer_are_failed_not_lost(rig):
    sim, device, events = rig
    sim.set_mute(True)
    first = device.submit(b"\x1b@hello\n\x1dV\x00", "first")
    second = device.submit(b"\x1b@world\n\x1dV\x00", "second")
    outcomes = {}
    while len(outcomes) < 2:
        event = events.wait_for(lambda e: e.kind == "data", 15)
        assert event is not None, f"only {outcomes} reported"
        outcomes[event.data["job_id"]] = event.data
    assert outcomes[first]["job"] == outcomes[second]["job"] == "failed"
    assert "did not answer" in outcomes[first]["error"]
    assert {job.id for job in device.failed_jobs()} == {first, second}
    sim.set_mute(False)
    assert wait_until(lambda: device.state == IDLE, 15)
    assert device.reprint(first) and device.reprint(second)
    assert [d.text for d in sim.wait_for_receipts(2)] == ["hello", "world"]


def test_the_test_page_names_the_kiosk_and_the_time(rig):
    """Issue 11: a test page found later by the printer said neither which kiosk printed it nor when."""
    import re
    from datetime import datetime, timedelta

    from kiosk.maintenance.device_ops import test_print
    sim, device, events = rig
    assert test_print(device, "kiosk-042") == (True, "test page queued")
    sim.wait_for_receipts(1)
    text = sim.text()
    assert "TEST PAGE" in text and "Kiosk: kiosk-042" in text
    found = re.search(r"Time: (\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d)", text)
    assert found, text
    printed = datetime.strptime(found[1], "%d.%m.%Y %H:%M:%S")
    assert abs(printed - datetime.now()) < timedelta(minutes=1)
