"""Screenshots of the attendant console for the docs: `python -m tools.console_screenshots [OUT_DIR]`.

Starts a real server (a temporary SQLite database), enrolls nine simulated kiosks that hold their command
streams and post live states (one of each lane status), logs in with Debian's chromium (Playwright) and
writes console-board-en.png / console-queue-en.png (1280 wide), console-board-phone-en.png and
console-queue-phone-de.png (360 wide) and console-board-de.png into docs/img."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from server.process import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "screenshot password"
ADMIN = "shots-" + uuid.uuid4().hex
BEER = {"name": "Pale Ale 0.33 l", "quantity": 2, "amount_minor": 398, "age_restricted": True}
MILK = {"name": "Milk 1 l", "quantity": 1, "amount_minor": 119}
LANES = [  # kiosk id, name, live state fields (None: enrolled, never connected)
    ("lane-1", "Lane 1", {"phase": "idle"}),
    ("lane-2", "Lane 2", {"session_id": "s-2", "phase": "shopping", "item_count": 3, "total_minor": 636,
                          "lines": [MILK, {"name": "Bread", "quantity": 2, "amount_minor": 517}]}),
    ("lane-3", "Lane 3", {"session_id": "s-3", "phase": "paying", "item_count": 5, "total_minor": 2345}),
    ("lane-4", "Lane 4", {"session_id": "s-4", "phase": "help", "help_called": True, "item_count": 1,
                          "total_minor": 119}),
    ("lane-5", "Lane 5", {"session_id": "s-5", "phase": "age_check", "age_check_pending": True, "item_count": 3,
                          "total_minor": 517, "lines": [MILK, BEER]}),
    ("lane-6", "Lane 6", {"session_id": "s-6", "phase": "in_doubt", "payment_in_doubt": True, "item_count": 2,
                          "total_minor": 1890}),
    ("lane-7", "Lane 7", {"phase": "idle", "out_of_service": "Cleaning"}),
    ("lane-8", "Lane 8", {"phase": "idle", "devices": {"printer": "paper out", "scanner": "ok"}}),
    ("lane-9", "Lane 9", None),
]


def _admin(env: dict, *args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", "admin", *args], input=stdin, text=True,
                          capture_output=True, env=env, check=True)
    return done.stdout


def _hold_stream(url: str, headers: dict, stop: threading.Event) -> None:
    try:
        with httpx.Client(timeout=httpx.Timeout(10, read=None)) as client:
            with client.stream("GET", f"{url}/v1/live/commands", headers=headers) as response:
                for _line in response.iter_lines():
                    if stop.is_set():
                        return
    except httpx.HTTPError:
        pass  # the server stopped


def _state(seq: int, boot: str, fields: dict) -> dict:
    return {"boot_id": boot, "seq": seq, "sent_at": datetime.now(timezone.utc).isoformat(), **fields}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="console-shots-"))
    server = ServerProcess(data / "server", admin_token=ADMIN)
    stop = threading.Event()
    try:
        server.start()
        env = server.env
        _admin(env, "site", "add", "shop-1", "--name", "Market Street")
        _admin(env, "user", "add", "anna", "--role", "attendant", "--site", "shop-1", "--display-name", "Anna",
               stdin=PASSWORD + "\n")
        auth = {"Authorization": f"Bearer {ADMIN}"}
        for kiosk_id, name, fields in LANES:
            token = httpx.post(f"{server.url}/v1/admin/kiosks", json={"kiosk_id": kiosk_id, "name": name},
                               headers=auth, timeout=30).raise_for_status().json()["token"]
            _admin(env, "site", "assign", kiosk_id, "shop-1")
            headers = {"Authorization": f"Bearer {token}"}
            if fields is None:
                continue
            threading.Thread(target=_hold_stream, args=(server.url, headers, stop), daemon=True).start()
            time.sleep(0.3)
            httpx.post(f"{server.url}/v1/live/state", json=_state(1, uuid.uuid4().hex, fields), headers=headers,
                       timeout=30).raise_for_status()
        time.sleep(1)
        live = httpx.get(f"{server.url}/v1/admin/live", headers=auth, timeout=30).json()
        help_call = next(i for i in live["interventions"] if i["kind"] == "help")
        httpx.post(f"{server.url}/v1/admin/interventions/{help_call['id']}/acknowledge", json={"by": "Anna"},
                   headers=auth, timeout=30).raise_for_status()
        _shoot(server.url, out)
    finally:
        stop.set()
        server.close()
        shutil.rmtree(data, ignore_errors=True)
    return 0


def _shoot(url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"]
    shots = [  # file, page, language, width
        ("console-board-en.png", "/console", "en-GB", 1280),
        ("console-queue-en.png", "/console/queue", "en-GB", 1280),
        ("console-board-phone-en.png", "/console", "en-GB", 360),
        ("console-board-de.png", "/console", "de-DE", 1280),
        ("console-queue-phone-de.png", "/console/queue", "de-DE", 360),
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        for name, path, locale, width in shots:
            context = browser.new_context(locale=locale, viewport={"width": width, "height": 800},
                                          timezone_id="Europe/Berlin")
            page = context.new_page()
            page.goto(f"{url}/console/login")
            page.fill("input[name=name]", "anna")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/console")
            page.goto(f"{url}{path}")
            page.wait_for_selector("#queue li")
            page.wait_for_timeout(1200)  # the time-in-state counters have ticked
            page.screenshot(path=str(out / name), full_page=True)
            print(f"wrote {out / name}")
            context.close()
        browser.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
