"""`python -m devices.sim`: a real console process whose simulators the real drivers connect to, driven
through its control port; and the kiosk's own in-process simulators driven the same way."""
import re
import subprocess
import sys

from devices.base import ERROR_STATE, IDLE, wait_until
from devices.manager import DeviceManager
from devices.printer import ReceiptPrinter
from devices.scanner import SerialScanner
from devices.sim.console import Console, send
from devices.sim.samples import sample_receipt
from kiosk.config import DevicesSection, PrinterSettings, ScannerSettings
from device_test_helpers import data_events


def test_console_process_drives_the_drivers(events, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "devices.sim", "run", "scanner", f"printer=pty:{tmp_path}/printer",
                             "--out", str(tmp_path / "receipts")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        scanner_url = re.search(r"scanner: (\S+)", lines[0]).group(1)
        printer_path = re.search(r"printer: (\S+)", lines[1]).group(1)
        control = int(re.search(r"control: 127.0.0.1:(\d+)", lines[2]).group(1))
        scanner = SerialScanner("scanner", events, ScannerSettings(driver="serial", url=scanner_url))
        printer = ReceiptPrinter("printer", events, PrinterSettings(driver="serial", url=printer_path,
                                                                    status_interval_s=0.1))
        scanner.open()
        printer.open()
        try:
            assert wait_until(lambda: scanner.state == IDLE and printer.state == IDLE, 15)
            assert wait_until(lambda: send(control, ["scan 4006381333931"]) == ["sent"], 10)
            event = data_events(events, "scanner", 1)[0]
            assert event.data["symbology"] == "EAN-13"
            assert send(control, ["paper out"]) == ["paper out"]
            assert wait_until(lambda: printer.state == ERROR_STATE, 10)
            send(control, ["paper ok"])
            assert wait_until(lambda: printer.state == IDLE, 10)
            printer.print_receipt(sample_receipt())
            assert events.wait_for(lambda e: e.data.get("job") == "printed", 10)
            [receipts, text] = send(control, ["receipts", "receipt 1"])
            assert re.fullmatch(r"1: \d+ elements, cut", receipts)
            assert "672559******1234" in text and "Bäckerei Süß" in text
            assert (tmp_path / "receipts" / "receipt-0001.png").stat().st_size > 1000
            assert send(control, ["bogus", "scan"]) == ["error: unknown command 'bogus'; try 'help'",
                                                        "error: usage: scan CODE [SYMBOLOGY]"]
        finally:
            scanner.close()
            printer.close()
    finally:
        proc.stdin.write("quit\n")
        proc.stdin.close()
        assert proc.wait(20) == 0


def test_manager_control_port_drives_in_process_simulators(events):
    manager = DeviceManager(DevicesSection.model_validate({"camera": {"enabled": True}, "payment": {"enabled": False}}),
                            events)
    with manager:
        port = manager.start_control()
        assert wait_until(lambda: all(d.state == IDLE for d in manager.devices.values()), 15), manager.snapshot()
        assert manager.simulators["scanner"].link.connected.wait(10)
        send(port, ["scan 96385074 EAN-8", "show BK-7Q2X9K QR"])
        got = {e.source: e.data for e in data_events(events, "scanner", 1) + data_events(events, "camera", 1)}
        assert got["scanner"]["symbology"] == "EAN-8" and got["camera"]["booking"] == "7Q2X9K"
        assert send(port, ["unplug printer"]) == ["printer unplugged"]
        assert wait_until(lambda: manager["printer"].state == "offline", 10)
        send(port, ["replug printer"])
        assert wait_until(lambda: manager["printer"].state == IDLE, 10)


def test_console_commands_never_raise():
    console = Console({})
    for line in ["", "help", "status", "scan 123", "unplug", "unplug nothing", "paper", "'unclosed", "raw zz"]:
        assert isinstance(console.execute(line), str)
    assert console.execute("scan 1").startswith("error: no scanner simulator")
