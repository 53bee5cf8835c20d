"""Fleet insight end to end (issue 16): a customer on the launched kiosk (scans through the control port, taps as
X pointer events) becomes one session record in the journal, synced to the central server, and shows in the
server's insight numbers over HTTP."""
from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import httpx

from launched import BREAD, MILK, PYTHON, ROOT


def admin_token(kiosk) -> str:
    out = subprocess.run([str(PYTHON), "-m", "server.cli", "admin", "admin-token", "--name", "insight-e2e"], cwd=ROOT,
                         env={**kiosk.env, "KSERVER_DATA_DIR": str(kiosk.data_dir / "server")},
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_a_paid_and_rated_session_is_journaled_synced_and_counted(launch):
    kiosk = launch()
    kiosk.scan(MILK)
    kiosk.scan(BREAD)
    kiosk.wait_ui(lambda v: len(v["cart"]) == 2, 10, "two cart lines")
    kiosk.tap("pay")
    kiosk.wait_screen("receipt", 30)
    kiosk.tap("receipt_none")
    kiosk.wait_screen("thanks", 20)
    kiosk.tap("rate_4")
    view = kiosk.wait_ui(lambda v: any(b["tag"] == "easy_yes" and b["enabled"] for b in v["buttons"]), 10, "easy_yes")
    b = kiosk.button(view, "easy_yes")
    kiosk.xclick(b["x"] + b["w"] // 2, b["y"] + b["h"] // 2)  # the answer shows as a pressed button only
    kiosk._wait(lambda: kiosk.events("was_it_easy"), 10, "the answer journaled")
    kiosk.tap("thanks_done")
    kiosk.wait_screen("attract", 20)
    [sale] = kiosk.assert_books_agree()  # the session record is synced with the rest, exactly once
    [session] = kiosk.events("session")
    assert session["outcome"] == "completed" and session["flow"] == "checkout"
    assert (session["scans"], session["payment_attempts"], session["declines"]) == (2, 1, 0)
    assert (session["rating"], session["easy"], session["receipt_choice"]) == (4, True, "none")
    assert session["amount_minor"] == sale["total"] and session["taps"] >= 4
    assert session["first_scan_ms"] == 0 and session["paid_ms"] >= session["payment_ms"] > 0

    today = datetime.now(timezone.utc).date().isoformat()
    day = session["started_at"][:10]
    report = httpx.get(f"{kiosk.server_url}/v1/admin/insight", params={"from": min(day, today), "to": max(day, today)},
                       headers={"Authorization": f"Bearer {admin_token(kiosk)}"}, timeout=30).json()
    tiles = report["tiles"]
    assert tiles["sessions"]["value"] == 1 and tiles["completion_rate"]["value"] == 100.0
    assert tiles["csat"]["value"] == 100.0 and tiles["easy_pct"]["value"] == 100.0
    assert tiles["revenue_minor"]["value"] == sale["total"]
    assert [step["sessions"] for step in report["funnel"]] == [1, 1, 1, 1, 1]
