"""Maintenance screen figures: how fast paper-out reaches the Devices page (simulator -> driver poll ->
event -> page, end to end, on the display), PIN checks, audit appends and audit chain checks.

    .venv/bin/python bench/maintenance.py     (runs itself under Xvfb when there is no display)

Prints name=value lines.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
TRIALS = 10


def paper_out_to_page(data: Path) -> list[float]:
    from kiosk import config
    from kiosk.maintenance.technicians import TechnicianStore
    from screens.boot import prepare_kivy
    prepare_kivy(data, fullscreen=False)
    from devices.base import wait_until
    from kiosk.events import EventQueue
    from launcher.backend import KioskBackend
    from screens.app import KioskApp
    from screens.driver import AppDriver
    from screens.maintenance import install
    (data / "kiosk.toml").write_text("")
    settings = config.load(data / "kiosk.toml", environ={"KIOSK_KIOSK_DATA_DIR": str(data),
                                                         "KIOSK_UI_FULLSCREEN": "false"})
    TechnicianStore(data / "technicians.json").add("bench", "technician", "1379")
    events = EventQueue()
    backend = KioskBackend(settings, events, simulate=True, start_server=False).open()
    assert wait_until(lambda: all(d.state == "idle" for d in backend.devices.devices.values()), 30)
    app = KioskApp(settings, backend=backend, events=events)
    model = install(app, config_path=data / "kiosk.toml", environ={})
    app.event_filters.append(model.take_event)
    drv = AppDriver(app).start()
    model.open_pad()
    for digit in "1379":
        model.pin_key(digit)
    model.submit_pin()
    drv.wait_until(lambda: drv.has("error_printer"), 20, "devices page")
    sim = backend.devices.simulators["printer"]
    times = []
    for _ in range(TRIALS):
        sim.set_paper("out")
        start = time.monotonic()
        drv.wait_until(lambda: "paper" in drv.find("error_printer").text, 10, "paper out")
        times.append(time.monotonic() - start)
        sim.set_paper("ok")
        drv.wait_until(lambda: drv.find("state_printer").text == "IDLE", 10, "idle")
    drv.stop()
    backend.close()
    return times


def pin_check_ms(data: Path) -> float:
    from kiosk.maintenance.technicians import TechnicianStore
    store = TechnicianStore(data / "five.json")
    for n in range(5):
        store.add(f"t{n}", "technician", f"{1000 + n}")
    start = time.perf_counter()
    assert store.verify_pin("1004").id == "t4"  # the last one: every hash is tried
    return (time.perf_counter() - start) * 1000


def audit_figures(data: Path) -> tuple[float, float]:
    from kiosk.journal import Journal
    from kiosk.maintenance.audit import GENESIS, record_hash, verify_chain
    with Journal(data / "journal.sqlite", "bench") as journal:
        times = []
        for n in range(200):
            start = time.perf_counter()
            journal.record_audit("bench", "technician", "reprint", {"job_id": n})
            times.append(time.perf_counter() - start)
    records, prev = [], GENESIS
    for seq in range(1, 10_001):
        record = {"seq": seq, "at": "2026-11-23T16:00:00.000+00:00", "technician": "t", "role": "technician",
                  "action": "reprint", "details": {"job_id": seq}, "prev_hash": prev}
        record["hash"] = prev = record_hash(prev, record)
        records.append(record)
    start = time.perf_counter()
    assert verify_chain(records, len(records)) == []
    return statistics.median(times) * 1000, (time.perf_counter() - start) * 1000


def main() -> int:
    if not os.environ.get("DISPLAY"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, *sys.argv])
    with tempfile.TemporaryDirectory(prefix="bench-maintenance-") as folder:
        data = Path(folder)
        times = paper_out_to_page(data)
        print(f"paper_out_to_page_p50_s={statistics.median(times):.3f}")
        print(f"paper_out_to_page_max_s={max(times):.3f}")
        print(f"pin_check_5_people_ms={pin_check_ms(data):.0f}")
        append_ms, verify_ms = audit_figures(data)
        print(f"audit_append_p50_ms={append_ms:.2f}")
        print(f"audit_verify_10k_ms={verify_ms:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
