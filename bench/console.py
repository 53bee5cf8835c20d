"""Attendant console latency against a real `kiosk-server serve` on loopback with a simulated kiosk on the
live channel and Debian's chromium (Playwright). Prints name=value lines:

    help_to_console_p99_ms   the kiosk posts help_called -> the tile on the open board says "Needs help"
                             (state_post_p50_ms: of that, the kiosk's POST until the server has committed it)
    approve_to_kiosk_p99_ms  click "Approve age" in the browser -> approve_age arrives on the kiosk's command
                             stream (a simulated kiosk: its screen change is not included)

    .venv/bin/python bench/console.py [ROUNDS]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "server"), str(ROOT / "tests" / "console")]

from playwright.sync_api import sync_playwright  # noqa: E402

from browser import launch  # noqa: E402
from console_harness import SimKiosk, add_site, add_user, console_server, login  # noqa: E402


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv, close = console_server(Path(tmp))
        try:
            _, headers = srv.enroll("lane-1")
            add_site(srv, "site-a", "lane-1")
            add_user(srv, "anna", sites=("site-a",))
            kiosk = SimKiosk(srv, "lane-1", headers)
            kiosk.post(phase="idle")
            with sync_playwright() as p:
                browser = launch(p)
                ctx, page = login(browser, srv, "anna")
                words = page.locator("#lane-lane-1 .words")
                words.wait_for()
                help_ms, approve_ms, post_ms = [], [], []
                for i in range(rounds):
                    start = time.perf_counter()
                    kiosk.post(help_called=True, phase="help")
                    post_ms.append((time.perf_counter() - start) * 1000)
                    page.wait_for_function("() => document.querySelector('#lane-lane-1 .words').textContent === "
                                           "'Needs help'", polling="raf")
                    help_ms.append((time.perf_counter() - start) * 1000)
                    kiosk.post(help_called=False, phase="age_check", age_check_pending=True, session_id=f"s-{i}")
                    item = page.locator("#queue li[data-kiosk=lane-1]", has_text="Age check")
                    item.locator("input[name=seen_id]").check()
                    start = time.perf_counter()
                    item.locator("[data-action=approve]").click()
                    command = kiosk.next_command("approve_age")
                    approve_ms.append((time.perf_counter() - start) * 1000)
                    kiosk.answer(command)
                    kiosk.post(age_check_pending=False, session_id=None, phase="idle")
                    page.wait_for_function("() => document.querySelector('#lane-lane-1 .words').textContent === 'Idle'")
                ctx.close()
                browser.close()
            kiosk.close()
        finally:
            close()
    print(f"console_rounds={rounds}")
    print(f"state_post_p50_ms={statistics.median(post_ms):.1f}")  # of which: the kiosk's POST, committed
    print(f"help_to_console_p50_ms={statistics.median(help_ms):.1f}")
    print(f"help_to_console_p99_ms={p99(help_ms):.1f}")
    print(f"approve_to_kiosk_p50_ms={statistics.median(approve_ms):.1f}")
    print(f"approve_to_kiosk_p99_ms={p99(approve_ms):.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
