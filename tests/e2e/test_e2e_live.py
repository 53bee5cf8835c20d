"""The live channel (issue 15) on the launched kiosk: `make run` with its local central server, driven from
outside. The attendant side is the server's admin HTTP API (the console's pages call the same hub): help
pressed on the kiosk with a real X tap reaches GET /v1/admin/live, an acknowledgement puts "help is on the
way" on the kiosk's screen, an age check approved from the station pays the same cart, a stale approval
for a customer who has left is refused, and a lane closed by staff says so on the kiosk."""
from __future__ import annotations

import subprocess
import time

import httpx

from launched import BEER, MILK, PYTHON, ROOT, LaunchedKiosk

KIOSK = "kiosk-001"


def admin(kiosk: LaunchedKiosk) -> dict[str, str]:
    if not kiosk._admin_token:  # the same token the harness's books check makes
        out = subprocess.run([str(PYTHON), "-m", "server.cli", "admin", "admin-token", "--note", "e2e live"],
                             cwd=ROOT, env={**kiosk.env, "KSERVER_DATA_DIR": str(kiosk.data_dir / "server")},
                             capture_output=True, text=True, timeout=60, check=True)
        kiosk._admin_token = out.stdout.strip().splitlines()[-1]
    return {"Authorization": f"Bearer {kiosk._admin_token}"}


def live(kiosk: LaunchedKiosk) -> dict:
    reply = httpx.get(f"{kiosk.server_url}/v1/admin/live", headers=admin(kiosk), timeout=10)
    reply.raise_for_status()
    return reply.json()


def wait_live(kiosk: LaunchedKiosk, predicate, what: str, timeout: float = 30):
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        seen = live(kiosk)
        found = predicate(seen)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; the server shows {seen}")


def lane(kiosk: LaunchedKiosk) -> dict | None:
    return next((lane for lane in live(kiosk)["lanes"] if lane["kiosk_id"] == KIOSK), None)


def wait_lane(kiosk: LaunchedKiosk, predicate, what: str, timeout: float = 30) -> dict:
    return wait_live(kiosk, lambda v: next((x for x in v["lanes"] if x["kiosk_id"] == KIOSK and x["state"]
                                            and predicate(x)), None), what, timeout)


def command(kiosk: LaunchedKiosk, kind: str, **body) -> dict:
    reply = httpx.post(f"{kiosk.server_url}/v1/admin/kiosks/{KIOSK}/commands", headers=admin(kiosk),
                       json={"kind": kind, "by": "Anna", "wait_s": 20, **body}, timeout=40)  # a loaded CI box
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_help_pressed_reaches_the_station_and_its_acknowledgement_the_customer(launch):
    kiosk = launch()
    wait_lane(kiosk, lambda x: x["connected"], "the kiosk's lane, connected")
    kiosk.scan(MILK)
    kiosk.tap("help")  # a real X tap on the header's Help button
    help_call = wait_live(kiosk, lambda v: next((i for i in v["interventions"] if i["kiosk_id"] == KIOSK
                                                 and i["kind"] == "help" and not i["resolved_at"]), None),
                          "the help call on the attendant station")
    view = kiosk.ui()
    assert not view["help_coming"], view["help_coming"]  # nobody has taken the call yet
    reply = httpx.post(f"{kiosk.server_url}/v1/admin/interventions/{help_call['id']}/acknowledge",
                       headers=admin(kiosk), json={"by": "Anna"}, timeout=30)
    assert reply.status_code == 200, reply.text
    view = kiosk.wait_ui(lambda v: "Help is on the way" in v["help_coming"], 10, "help on the way")
    assert view["help_coming"] in view["texts"] and view["screen"] == "checkout"
    kiosk.tap("help_ok")  # the local help box goes; the band stays on whatever screen
    kiosk.screenshot("help-on-the-way")
    kiosk.tap("lang_de")
    view = kiosk.wait_ui(lambda v: v["lang"] == "de", 10, "German")
    assert view["help_coming"].startswith("Hilfe kommt") and view["help_coming"] in view["texts"]
    kiosk.screenshot("help-on-the-way-de")
    wait_lane(kiosk, lambda x: x["state"]["help_acknowledged_by"] == "Anna", "the acknowledgement in the lane")

    reply = httpx.post(f"{kiosk.server_url}/v1/admin/interventions/{help_call['id']}/resolve",
                       headers=admin(kiosk), json={"by": "Anna"}, timeout=30)
    assert reply.status_code == 200, reply.text
    kiosk.wait_ui(lambda v: not v["help_coming"], 10, "the band to go once the call is resolved")
    acted = kiosk.wait_events("attendant_command", 2, lambda e: e["kind"] in ("help_acknowledged", "help_resolved"))
    assert [(e["kind"], e["by"], e["outcome"]) for e in acted] == [
        ("help_acknowledged", "Anna", "done"), ("help_resolved", "Anna", "done")]


def test_age_check_approved_from_the_station_pays_the_same_cart_and_a_stale_one_is_refused(launch):
    kiosk = launch()
    kiosk.scan(MILK)
    kiosk.scan(BEER)
    kiosk.wait_screen("age_check")
    kiosk.tap("age_back")  # keep shopping while I wait ...
    kiosk.tap("pay")  # ... and pay: the age check comes first
    kiosk.wait_screen("age_check")
    state = wait_lane(kiosk, lambda x: x["state"]["age_check_pending"], "the age check in the lane")["state"]
    first = state["session_id"]
    assert first and [line["age_restricted"] for line in state["lines"]] == [False, True]
    record = command(kiosk, "approve_age", session_id=first)
    assert record["outcome"] == "done", record
    kiosk.wait_screen("receipt", 30)  # paid without anybody touching the kiosk
    time.sleep(0.5)  # the screen drawn in full
    kiosk.screenshot("paid-after-remote-approval")
    kiosk.tap("receipt_none")
    [sale] = kiosk.assert_books_agree()
    beer = [line for line in sale["record"]["body"]["lines"] if line["age_approved_by"]]
    assert [line["age_approved_by"] for line in beer] == ["Anna"]
    [acted] = kiosk.wait_events("attendant_command", 1, lambda e: e["kind"] == "approve_age")
    assert (acted["by"], acted["outcome"], acted["session_id"]) == ("Anna", "done", first)

    kiosk.scan(BEER)  # the next customer, with a restricted item too
    kiosk.wait_ui(lambda v: v["screen"] == "age_check", 20, "the next customer's age check")
    wait_lane(kiosk, lambda x: x["state"]["session_id"] not in (None, first) and x["state"]["age_check_pending"],
              "the next customer's session in the lane")
    stale = command(kiosk, "approve_age", session_id=first)
    assert stale["outcome"] == "refused" and "not the lane's current session" in stale["detail"], stale
    time.sleep(1.0)
    view = kiosk.ui()
    assert view["screen"] == "age_check" and [line["status"] for line in view["cart"]] == ["Age check"], view["cart"]


def test_lane_closed_by_staff_shows_out_of_service_with_the_reason_and_reopens(launch):
    kiosk = launch()
    wait_lane(kiosk, lambda x: x["connected"], "the kiosk's lane, connected")
    record = command(kiosk, "out_of_service", reason="Floor being cleaned")
    assert record["outcome"] == "done", record
    view = kiosk.wait_screen("out_of_service", 10)
    assert "Floor being cleaned" in view["closed"] and view["closed"] in view["texts"]
    kiosk.screenshot("closed-by-staff")
    wait_lane(kiosk, lambda x: x["state"]["out_of_service"] == "Floor being cleaned", "the closed lane")
    kiosk.send(f"scan {MILK}")
    time.sleep(1.0)
    assert kiosk.ui()["screen"] == "out_of_service"  # nothing starts on a closed lane
    record = command(kiosk, "in_service")
    assert record["outcome"] == "done", record
    kiosk.wait_screen("attract", 10)
    kiosk.scan(MILK)
    kiosk.wait_screen("checkout", 10)
    kinds = [(e["kind"], e["outcome"]) for e in kiosk.wait_events("attendant_command", 2)]
    assert kinds == [("out_of_service", "done"), ("in_service", "done")]


def test_a_stale_approval_the_server_let_through_is_refused_by_the_kiosk(launch):
    """The kiosk's own check: with slow live updates (debounce 8 s) the server still shows the customer who
    has just left when the approval for them is sent; the kiosk refuses it for the next customer."""
    kiosk = launch(KIOSK_LIVE_DEBOUNCE_S="8")
    kiosk.scan(BEER)
    kiosk.wait_screen("age_check")
    first = wait_lane(kiosk, lambda x: x["state"]["age_check_pending"], "the age check in the lane", 40
                      )["state"]["session_id"]
    kiosk.tap("age_back")
    kiosk.tap("cancel_session")  # the first customer leaves ...
    kiosk.wait_screen("attract")
    kiosk.scan(BEER)  # ... and the next one has a restricted item too
    kiosk.wait_screen("age_check")
    assert lane(kiosk)["state"]["session_id"] == first  # the server has not heard yet
    stale = command(kiosk, "approve_age", session_id=first)
    assert stale["outcome"] == "refused" and f"session {first} is over" in stale["detail"], stale
    view = kiosk.ui()
    assert view["screen"] == "age_check" and [line["status"] for line in view["cart"]] == ["Age check"]
    [acted] = kiosk.wait_events("attendant_command", 1, lambda e: e["kind"] == "approve_age")
    assert (acted["outcome"], acted["session_id"], acted["by"]) == ("refused", first, "Anna")


def test_with_the_server_frozen_local_help_and_the_pin_work_as_before_then_the_lane_comes_back(launch):
    """The server stopped dead (SIGSTOP: connections hang, nothing answers), the worst case for a client that
    might block: the customer still calls help, the attendant's PIN still approves, the sale is paid; once the
    server runs again the lane is back with the kiosk's state and the books agree."""
    import os
    import signal

    from launched import ATTENDANT_PIN, server_processes

    kiosk = launch()
    wait_lane(kiosk, lambda x: x["connected"], "the kiosk's lane, connected")
    frozen = server_processes(kiosk.data_dir)
    assert frozen
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        kiosk.scan(MILK)
        kiosk.tap("help")
        kiosk.tap("help_ok")
        kiosk.scan(BEER)
        kiosk.wait_screen("age_check")
        for digit in ATTENDANT_PIN:
            kiosk.tap(f"key_pin_{digit}")
        kiosk.tap("pin_ok")
        kiosk.wait_ui(lambda v: v["state"] == "checkout", 20, "the local approval")
        kiosk.tap("pay")
        kiosk.wait_screen("receipt", 30)
        kiosk.tap("receipt_none")
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    wait_lane(kiosk, lambda x: x["connected"] and x["state"]["phase"] in ("receipt", "idle"),
              "the lane back with the kiosk's state", 90)
    [sale] = kiosk.assert_books_agree(90)
    assert [line["age_approved_by"] for line in sale["record"]["body"]["lines"] if line["age_approved_by"]]
    assert [e["reason"] for e in kiosk.events("help_called")] == ["customer"]
    assert not kiosk.events("attendant_command")


def test_lane_work_and_a_stuck_session_from_the_station(launch):
    """test_print puts the printer's test page out, sync_now and reload_config answer what they did, and
    cancel_session ends the customer's session (named by its id) back to attract; each is journaled."""
    kiosk = launch()
    wait_lane(kiosk, lambda x: x["connected"], "the kiosk's lane, connected")
    record = command(kiosk, "test_print")
    assert (record["outcome"], record["detail"]) == ("done", "test page queued"), record
    kiosk._wait(lambda: "TEST PAGE" in kiosk.send("receipt 1")[0], 20, "the test page at the printer")
    record = command(kiosk, "sync_now")
    assert record["outcome"] == "done" and "sync started" in record["detail"], record
    record = command(kiosk, "reload_config")
    assert record["outcome"] == "done" and "is valid" in record["detail"], record

    kiosk.scan(MILK)
    session = wait_lane(kiosk, lambda x: x["state"]["item_count"] == 1, "the cart in the lane")["state"]["session_id"]
    record = command(kiosk, "cancel_session", session_id=session)
    assert record["outcome"] == "done", record
    kiosk.wait_screen("attract", 10)
    [cancelled] = kiosk.wait_events("session_cancelled")
    assert (cancelled["by"], cancelled["items"]) == ("Anna", 1)
    kinds = [(e["kind"], e["outcome"]) for e in kiosk.wait_events("attendant_command", 4)]
    assert kinds == [("test_print", "done"), ("sync_now", "done"), ("reload_config", "done"),
                     ("cancel_session", "done")]
