"""A whole kiosk (real backend, every device its byte-level simulator, the Kivy app on the display)
with the maintenance screen installed, driven by taps. Run by test_maintenance_ui.py in a child
process: Kivy has one window per process, and "the lock survives a restart" needs a real restart.

    python tests/maintenance/kiosk_child.py SCENARIO DATA_DIR RESULTS_JSON SHOTS_DIR

Observations go to RESULTS_JSON (rewritten after every step), assertions are made by the tests.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SCENARIO, DATA, RESULTS, SHOTS = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
TECH_PIN, ATTENDANT_PIN = "1379", "8642"
CONFIG_TEXT = """[kiosk]
name = "Test shop"          # shop name

[ui]
fullscreen = false
idle_timeout_s = 60         # seconds without a touch
"""
results: dict = {}


def note(**values) -> None:
    results.update(values)
    RESULTS.write_text(json.dumps(results, indent=1, default=str))


def start():
    from kiosk import config
    from launcher.cli import configure_logging
    from kiosk.maintenance.technicians import TechnicianStore
    from screens.boot import prepare_kivy
    DATA.mkdir(parents=True, exist_ok=True)
    config_path = DATA / "kiosk.toml"
    if not config_path.exists():
        config_path.write_text(CONFIG_TEXT)
    environ = {"KIOSK_KIOSK_DATA_DIR": str(DATA), "KIOSK_MAINTENANCE_USB_EXPORT_DIR": str(DATA / "usb"),
               # a real network printer that is not there: the Devices page switches it to its simulator
               "KIOSK_SERVER_TIMEOUT_S": "2",  # a gone server is noticed quickly
               "KIOSK_DEVICES_CAMERA_ENABLED": "true", "KIOSK_DEVICES_CAMERA_FPS": "5",
               "KIOSK_DEVICES_PRINTER_DRIVER": "network", "KIOSK_DEVICES_PRINTER_PORT": str(dead_port())}
    settings = config.load(config_path, environ=environ)
    configure_logging(settings.data_path)
    store = TechnicianStore(DATA / "technicians.json")
    if not store.people():
        store.add("tom", "technician", TECH_PIN)
        store.add("ada", "attendant", ATTENDANT_PIN, ["TECH-BADGE-ADA"])
    prepare_kivy(DATA, fullscreen=False)
    from devices.base import wait_until
    from kiosk.events import EventQueue
    from launcher.backend import KioskBackend
    from screens.app import KioskApp
    from screens.driver import AppDriver
    from screens.maintenance import install
    events = EventQueue()
    backend = KioskBackend(settings, events, simulate=True, start_server=SCENARIO == "sync").open()
    assert wait_until(lambda: all(d.state == ("offline" if n == "printer" else "idle")
                                  for n, d in backend.devices.devices.items()), 30), backend.devices.snapshot()
    app = KioskApp(settings, backend=backend, events=events)
    calls = {"quit": 0, "restart": 0}
    model = install(app, config_path=config_path, environ=environ,
                    quit=lambda: calls.__setitem__("quit", calls["quit"] + 1),
                    restart=lambda: calls.__setitem__("restart", calls["restart"] + 1))
    app.event_filters.append(model.take_event)
    drv = AppDriver(app).start()
    drv.wait_until(lambda: app.sm.current == "attract", 20, "attract")
    return drv, backend, model, calls, config_path


def dead_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_sale(journal, total: int = 349) -> str:
    import uuid
    sale = str(uuid.uuid4())
    line = {"line_no": 1, "item_id": "04006381333931", "name": "Milk", "quantity": 1, "unit_price": total,
            "total": total, "vat_code": "B", "vat_rate": 700}
    vat = {"code": "B", "rate": 700, "gross": total, "net": total - 23, "vat": 23}
    intent = journal.record_payment_intent(sale, total, "EUR", {"lines": [line], "vat": [vat]})
    journal.complete_sale(sale, intent, {"brand": "girocard", "masked_pan": "672559******1234", "auth_code": "A1"})
    return sale


def shot(drv, name: str) -> str:
    settle = time.monotonic() + 0.2  # buttons show "pressed" for a moment after a tap
    while time.monotonic() < settle:
        drv.frames(1)
    return str(drv.screenshot(SHOTS / f"{name}.png"))


def gesture(drv) -> None:
    logo = next(w for w in drv.walk() if type(w).__name__ == "ShopLogo" and drv.visible(w))
    for _ in range(5):
        drv.tap(logo, frames=1)
    drv.wait_until(lambda: drv.app.maintenance.shown and drv.has("pin_message"), 10, "the PIN pad")


def enter_pin(drv, pin: str) -> None:
    for digit in pin:
        drv.tap(f"pin_{digit}", frames=1)
    drv.tap("pin_ok")
    drv.wait_until(lambda: not drv.app.maintenance.checking, 20, "the PIN check")


def text_of(drv, tag: str) -> str:
    return drv.find(tag).text


def main_scenario(drv, backend, model, calls, config_path) -> None:
    app = drv.app
    sims = backend.devices.simulators
    shots = {}
    # --- the gesture, a technician's PIN ---------------------------------------------------------------
    gesture(drv)
    shots["pin"] = shot(drv, "pin")
    enter_pin(drv, TECH_PIN)
    drv.wait_until(lambda: model.page == "devices" and drv.has("test_printer"), 10, "devices page")
    note(tech_login={"who": model.who, "role": model.role, "customer_mode": app.customer_mode})
    drv.wait_until(lambda: text_of(drv, "state_printer") == "OFFLINE", 10, "the missing printer offline")
    offline = {"error": text_of(drv, "error_printer")}
    shots["devices_offline"] = shot(drv, "devices_offline")
    drv.tap("sim_printer")
    drv.wait_until(lambda: text_of(drv, "state_printer") == "IDLE" and "printer" in sims, 20, "printer simulator")
    note(switch={"offline": offline, "check": text_of(drv, "check_result_printer"),
                 "driver_port": backend.devices["printer"].settings.port, "sim_port": sims["printer"].port})
    shots["devices"] = shot(drv, "devices")
    # --- test print through the simulator ----------------------------------------------------------------
    printer_sim = sims["printer"]
    before = len(printer_sim.receipts)
    drv.tap("test_printer")
    drv.wait_until(lambda: len(printer_sim.receipts) > before, 20, "the test page at the simulator")
    drv.wait_until(lambda: "test page queued" in text_of(drv, "check_result_printer"), 10, "check text")
    note(test_print={"receipt_text": printer_sim.receipts[-1].text, "check": text_of(drv, "check_result_printer")})
    # --- paper out in the simulator -> Devices page ---------------------------------------------------
    posted = []  # when the printer driver posted its "paper out" status (Event.at)
    drain = app.events.drain

    def watching_drain(limit=None):
        events = drain(limit)
        posted.extend(e.at for e in events if e.source == "printer" and e.data.get("paper") == "out")
        return events
    app.events.drain = watching_drain
    printer_sim.set_paper("out")
    t0 = time.monotonic()
    drv.wait_until(lambda: "paper" in text_of(drv, "error_printer").lower(), 10, "paper out on the page")
    seen = time.monotonic()
    app.events.drain = drain
    note(paper_out={"seconds": seen - t0, "event_to_page_s": seen - posted[0],
                    "poll_interval_s": backend.devices["printer"].settings.status_interval_s,
                    "error": text_of(drv, "error_printer"), "state": text_of(drv, "state_printer")})
    shots["devices_paper_out"] = shot(drv, "devices_paper_out")
    printer_sim.set_paper("ok")
    drv.wait_until(lambda: text_of(drv, "state_printer") == "IDLE", 10, "printer idle again")
    # --- scan test: the code is shown, the customer flow does not see it ---------------------------------
    sims["scanner"].scan("4006381333931")
    drv.wait_until(lambda: "4006381333931" in text_of(drv, "last_scan"), 10, "the scan on the page")
    note(scan_test={"last_scan": text_of(drv, "last_scan"), "session_state": app.session.state,
                    "cart": app.session.checkout.cart is not None and app.session.checkout.cart.item_count})
    # --- camera test: the live picture with what is decoded in it -----------------------------------------
    sims["camera"].show("4000000000013", "EAN-13")
    drv.tap("test_camera")
    drv.wait_until(lambda: "4000000000013" in text_of(drv, "preview_codes"), 20, "the code in the camera picture")
    preview = app.maintenance.view.ids.pages.get_screen("devices").ids.preview
    shots["devices_camera"] = shot(drv, "devices_camera")
    note(camera={"codes": text_of(drv, "preview_codes"), "texture": list(preview.texture.size),
                 "outlines": len(preview.ids.picture.canvas.after.children), "session_state": app.session.state})
    sims["camera"].clear()
    drv.tap("preview_close")
    # --- payment terminal diagnosis and end of day -------------------------------------------------------
    drv.tap("test_payment")
    drv.wait_until(lambda: text_of(drv, "check_result_payment").startswith(("OK", "FAILED")), 30, "diagnosis")
    diagnosis = text_of(drv, "check_result_payment")
    drv.tap("eod_payment")
    drv.wait_until(lambda: "end of day done" in text_of(drv, "check_result_payment")
                   or text_of(drv, "check_result_payment").startswith("FAILED"), 60, "end of day")
    note(payment={"diagnosis": diagnosis, "end_of_day": text_of(drv, "check_result_payment")})
    # --- the other pages ---------------------------------------------------------------------------------
    backend.record_event("help_called", {"screen": "checkout", "items": 2})
    sale = add_sale(backend.journal)
    logging.getLogger("kiosk.test").warning("printer reported paper out during the maintenance test")
    logging.getLogger("kiosk.test").error("an example error for the log page")
    pages = {}
    for page in ("sync", "journal", "logs", "config", "system"):
        drv.tap(f"tab_{page}")
        drv.wait_until(lambda p=page: model.page == p, 10, page)
        shots[page] = shot(drv, page)
        pages[page] = app.maintenance.view.ids.pages.current
    drv.tap("tab_logs")
    drv.tap("level_ERROR")
    config_page = app.maintenance.view.ids.pages.get_screen("config")
    note(pages=pages, logs_error_only=text_of(drv, "log_text"), sync_rows=model.sync_rows,
         help_rows=model.help_rows, system_rows=model.system_rows,
         config_ports={row.key: row.value for row in config_page.ids.rows.children
                       if row.key in ("devices.printer.port", "devices.payment.port")})
    drv.tap("level_INFO")
    # --- export of the unsent queue ----------------------------------------------------------------------
    drv.tap("tab_sync")
    header_before = text_of(drv, "message")
    drv.tap("export_queue")
    drv.frames(3)
    no_stick = {"text": text_of(drv, "sync_message"), "header": text_of(drv, "message"),
                "visible": drv.visible(drv.find("sync_message")), "bad": model.sync_message_bad}
    shots["sync_export_failed"] = shot(drv, "sync_export_failed")
    (Path(model.settings.maintenance.usb_export_dir)).mkdir(parents=True, exist_ok=True)
    drv.tap("export_queue")
    note(export={"no_stick": no_stick, "header_before": header_before, "done": text_of(drv, "sync_message"),
                 "depth": backend.journal.outbox_stats()[0],
                 "files": sorted(p.name for p in Path(model.settings.maintenance.usb_export_dir).iterdir())})
    # --- config edit: a bad value, then a good one ---------------------------------------------------------
    drv.tap("tab_config")
    drv.tap("edit_ui.idle_timeout_s")
    drv.tap("key_clear")
    drv.tap("key_0")
    drv.tap("config_save")
    drv.wait_until(lambda: text_of(drv, "config_message"), 10, "the refusal")
    shots["config_refused"] = shot(drv, "config_refused")
    note(config_bad={"message": text_of(drv, "config_message"), "file": config_path.read_text(),
                     "previous_exists": config_path.with_name("kiosk.toml.previous").exists()})
    drv.tap("key_clear")
    drv.tap("key_9")
    drv.tap("key_0")
    drv.tap("config_save")
    note(config_good={"message": text_of(drv, "message"), "file": config_path.read_text(),
                      "previous": config_path.with_name("kiosk.toml.previous").read_text()})
    # --- reprint from the journal, help calls dealt with --------------------------------------------------
    drv.tap("tab_journal")
    seq = backend.journal.transaction(sale).seq
    before = len(printer_sim.receipts)
    drv.tap(f"reprint_{seq}")
    drv.wait_until(lambda: len(printer_sim.receipts) > before, 20, "the reprint at the simulator")
    drv.tap("help_done")
    note(reprint={"text": printer_sim.receipts[-1].text, "message": text_of(drv, "message"),
                  "payments": [p["text"] for p in model.payment_rows],
                  "help_rows_after": model.help_rows})
    # --- the audit chain, intact and then tampered -------------------------------------------------------
    drv.tap("tab_system")
    drv.tap("check_audit")
    intact = text_of(drv, "audit_text")
    conn = sqlite3.connect(backend.journal.path)
    conn.execute("UPDATE audit SET details = '{\"level\": \"forged\"}' WHERE seq = 3")
    conn.commit()
    conn.close()
    drv.tap("check_audit")
    shots["system_tampered"] = shot(drv, "system_tampered")
    note(audit={"intact": intact, "tampered": text_of(drv, "audit_text")})
    drv.tap("restart")
    drv.wait_until(lambda: calls["restart"] == 1, 5, "restart called")
    # --- technician may exit (recorded, not done) -----------------------------------------------------------
    drv.tap("exit_desktop")
    drv.wait_until(lambda: calls["quit"] == 1, 5, "quit called")
    note(tech_exit={"quit_calls": calls["quit"], "customer_mode": app.customer_mode},
         restart_calls=calls["restart"])
    # --- an attendant: no exit ----------------------------------------------------------------------------
    app.customer_mode = True
    drv.tap("logout")
    drv.wait_until(lambda: not model.shown, 5, "overlay closed")
    gesture(drv)
    enter_pin(drv, ATTENDANT_PIN)
    drv.wait_until(lambda: model.role == "attendant", 10, "attendant login")
    drv.tap("tab_system")
    exit_shown = drv.has("exit_desktop")
    model.exit_desktop()  # even called directly (a stray tap, a script) it is refused
    drv.frames(20)
    from kivy.core.window import Window
    from screens.app import KEY_ESCAPE, KEY_F4
    close_refused = Window.dispatch("on_request_close") is True
    drv.key(KEY_ESCAPE)
    drv.key(KEY_F4, ["alt"])
    shots["system_attendant"] = shot(drv, "system_attendant")
    audit = [(r["technician"], r["action"], r["details"]) for r in backend.journal.audit_records()]
    note(attendant_exit={"exit_button_usable": exit_shown, "quit_calls": calls["quit"],
                         "customer_mode": app.customer_mode, "close_refused": close_refused,
                         "message": text_of(drv, "message"), "audit_tail": audit[-3:]})
    # --- a technician badge scanned on the attract screen opens the PIN pad ----------------------------------
    drv.tap("logout")
    drv.wait_until(lambda: not model.shown, 5, "overlay closed")
    sims["scanner"].scan("TECH-BADGE-ADA", "CODE128")
    drv.wait_until(lambda: model.shown, 10, "the PIN pad after the badge")
    note(badge={"pad": model.page, "session_state": app.session.state})
    enter_pin(drv, ATTENDANT_PIN)
    drv.wait_until(lambda: model.role == "attendant", 10, "attendant login")
    # --- 2 minutes without a touch log out ---------------------------------------------------------------------
    access = model.access
    real_clock = access.clock
    access.clock = lambda: real_clock() + 121
    drv.wait_until(lambda: not model.shown, 5, "timeout logout")
    access.clock = real_clock
    note(timeout={"shown": model.shown, "last_audit": backend.journal.audit_records()[-1]})
    # --- 5 wrong PINs lock the pad ------------------------------------------------------------------------
    gesture(drv)
    for n in range(5):
        enter_pin(drv, "0000")
    drv.frames(3)
    shots["pin_locked"] = shot(drv, "pin_locked")
    note(lock={"message": text_of(drv, "pin_message"), "keys_usable": drv.has("pin_1"),
               "locked_for": model.lockout.locked_for()}, shots=shots,
         audit_all=[(r["technician"], r["action"]) for r in backend.journal.audit_records()],
         outbox_audit_events=sum(1 for r in backend.journal.recent(1000)
                                 if r.body.kind == "event" and r.body.event == "maintenance_audit"))


def restart_scenario(drv, backend, model, calls, config_path) -> None:
    gesture(drv)
    shot(drv, "pin_locked_after_restart")
    keys_usable = drv.has("pin_1")
    model._pin = TECH_PIN  # the right PIN, even if it could be typed
    model.submit_pin()
    drv.wait_until(lambda: not model.checking, 20, "the PIN check")
    note(after_restart={"message": text_of(drv, "pin_message"), "keys_usable": keys_usable,
                        "logged_in": bool(model.who), "locked_for": model.lockout.locked_for()})


def sync_scenario(drv, backend, model, calls, config_path) -> None:
    """With a real local central server: reachable and emptied by "sync now", then the server gone."""
    drv.wait_until(lambda: backend.sync is not None, 90, "the local server and the sync client")
    gesture(drv)
    enter_pin(drv, TECH_PIN)
    drv.tap("tab_sync")
    rows = lambda: dict(model.sync_rows)  # noqa: E731
    drv.tap("sync_now")
    drv.wait_until(lambda: rows()["Unsent transactions"] == "0" and ": reachable" in rows()["Server"], 30, "synced")
    drv.wait_until(lambda: rows()["Attendant station"] == "connected", 30, "the live channel")
    note(sync_online=rows(), sync_now_message=text_of(drv, "sync_message"))
    shot(drv, "sync_online")
    backend.server.kill()
    backend.record_event("help_called", {"screen": "attract", "items": 0})
    drv.tap("sync_now")
    drv.wait_until(lambda: "NOT reachable" in rows()["Server"], 30, "the server to be missed")
    drv.wait_until(lambda: rows()["Attendant station"].startswith("NOT connected"), 60, "the live channel to drop")
    note(sync_offline=rows())
    shot(drv, "sync_offline")


def main() -> int:
    drv = backend = None
    try:
        drv, backend, model, calls, config_path = start()
        {"main": main_scenario, "restart": restart_scenario, "sync": sync_scenario}[SCENARIO](drv, backend, model, calls, config_path)
        note(finished=True)
        return 0
    except BaseException:
        note(error=traceback.format_exc())
        if drv is not None:
            try:
                shot(drv, f"failure-{SCENARIO}")
            except Exception:
                pass
        return 1
    finally:
        if drv is not None:
            drv.stop()
        if backend is not None:
            backend.close()


if __name__ == "__main__":
    raise SystemExit(main())
