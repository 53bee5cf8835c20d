"""approve_to_kiosk against the REAL kiosk: an attendant clicks "Approve age" in Debian's chromium (Playwright)
-> the kiosk's own screen leaves the age check.

The kiosk is launched as the e2e tests launch it (tests/e2e/launched.py): the README's `make run` in its own
process group on its own Xvfb display, in simulation, with its local central server, which also serves the
console. Each round is a new customer: scan an age-restricted item (the simulators' control port), wait for
the kiosk's age_check screen and the console's "Age check" queue entry, tick "I have seen ID", then time from
just before Playwright's click on "Approve age" until the kiosk's `ui` query (its control port, polled
back to back) reports a screen other than age_check. Then the customer cancels and the next round starts.

    approve_to_kiosk_p50_ms / _p99_ms  click -> the kiosk's screen changed past the age check
    kiosk_ui_poll_p50_ms               one `ui` query's round trip: the resolution of the figure above

    .venv/bin/python bench/console_kiosk.py [--rounds 10]   (also run by bench/console.py)
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e"), str(ROOT / "tests" / "console")]

from launched import BEER, PYTHON, Display, LaunchedKiosk  # noqa: E402

KIOSK = "kiosk-001"  # the simulated kiosk's id (kiosk.toml)
USER, PASSWORD = "bench", "bench console password"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def console_user(kiosk: LaunchedKiosk) -> None:
    """An admin console user on the kiosk's local server, once that server answers."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{kiosk.server_url}/v1/health", timeout=10).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the kiosk's local server did not come up")
        time.sleep(0.2)
    done = subprocess.run([str(PYTHON), "-m", "server.cli", "admin", "user", "add", USER, "--role", "admin",
                           "--display-name", "Bench"], input=PASSWORD + "\n", text=True, cwd=ROOT,
                          env={**kiosk.env, "KSERVER_DATA_DIR": str(kiosk.data_dir / "server")},
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"console user: {done.stderr}")


def approve_round(kiosk: LaunchedKiosk, page, polls: list[float]) -> float:
    """One customer: BEER scanned, approved in the browser; ms from the click to the kiosk's screen change."""
    kiosk.scan(BEER)
    kiosk.wait_screen("age_check")
    item = page.locator(f"#queue li[data-kiosk={KIOSK}]", has_text="Age check")
    item.locator("input[name=seen_id]").check(timeout=30_000)
    button = item.locator("[data-action=approve]")
    button.wait_for(timeout=10_000)
    start = time.perf_counter()
    button.click()
    while True:
        asked = time.perf_counter()
        view = kiosk.ui()
        polls.append((time.perf_counter() - asked) * 1000)
        if view["screen"] != "age_check":
            elapsed = (time.perf_counter() - start) * 1000
            break
        if time.perf_counter() - start > 30:
            raise SystemExit(f"the kiosk still shows the age check 30 s after the approval: {view['message']}")
    kiosk.tap("cancel_session")  # the customer leaves; the next round is a new session
    kiosk.wait_screen("attract")
    return elapsed


def real_kiosk_latencies(rounds: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from browser import launch

    with tempfile.TemporaryDirectory() as tmp:
        display = Display()
        kiosk = LaunchedKiosk(display, Path(tmp) / "data", Path(tmp) / "artifacts")
        try:
            kiosk.start()
            console_user(kiosk)
            with sync_playwright() as p:
                browser = launch(p)
                page = browser.new_page(locale="en-GB")
                page.goto(f"{kiosk.server_url}/console/login")
                page.fill("input[name=name]", USER)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.locator(f"#lane-{KIOSK} .words").wait_for(timeout=30_000)
                approve_ms: list[float] = []
                polls: list[float] = []
                for _ in range(rounds):
                    approve_ms.append(approve_round(kiosk, page, polls))
                browser.close()
        finally:
            kiosk.kill()
            display.stop()
    return {"real_kiosk_rounds": rounds, "approve_to_kiosk_p50_ms": statistics.median(approve_ms),
            "approve_to_kiosk_p99_ms": pct(approve_ms, 0.99), "approve_to_kiosk_max_ms": max(approve_ms),
            "kiosk_ui_poll_p50_ms": statistics.median(polls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    for key, value in real_kiosk_latencies(args.rounds).items():
        print(f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}")


if __name__ == "__main__":
    main()
