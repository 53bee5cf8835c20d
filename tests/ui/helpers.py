"""Driving the kiosk like a customer: scans through the scanner simulator, taps through the window."""
from __future__ import annotations

MILK, BREAD, BUTTER, COFFEE, CHOCOLATE = "4006381333931", "4000000000013", "4000000000020", "4000000000037", \
    "4000000000044"
BEER, UNKNOWN = "4000000000075", "4000000000990"


def scan(driver, backend, code: str, symbology: str | None = None) -> None:
    """Scanner bytes in; returns once the session has handled the code (not merely changed: a device's
    status event changes it too)."""
    session = driver.app.session
    handled = []

    def scanned(scan, now):
        type(session).scanned(session, scan, now)
        handled.append(scan.code)
    session.scanned = scanned
    try:
        assert backend.devices.simulators["scanner"].scan(code, symbology)
        driver.wait_until(lambda: code in handled, 10, f"scan of {code} to be handled")
    finally:
        del session.scanned


def lines(driver) -> list[tuple[str, str, bool]]:
    return [(row["name"], row["quantity"], row["voided"]) for row in driver.app.cart_lines]


def wait_state(driver, state: str, timeout: float = 20) -> None:
    driver.wait_until(lambda: driver.app.session.state == state, timeout,
                      f"state {state} (now {driver.app.session.state})")


def journal_events(backend, name: str) -> list[dict]:
    backend.journal.flush()  # events are journaled by the writer thread, after record_event returns
    return [r.body.details for r in backend.journal.recent(500) if r.body.kind == "event" and r.body.event == name]
