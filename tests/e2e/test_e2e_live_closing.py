"""A lane put out of service while a customer is at the launched kiosk (`make run` with its local server):
the live state says the close is pending ("closes after this customer") while the customer finishes and
pays; when the session ends the lane is out of service."""
from __future__ import annotations

from launched import MILK
from test_e2e_live import command, wait_lane


def test_out_of_service_during_a_session_shows_a_pending_close_then_closes(launch):
    kiosk = launch()
    wait_lane(kiosk, lambda x: x["connected"], "the kiosk's lane, connected")
    kiosk.scan(MILK)
    kiosk.wait_screen("checkout")
    sid = wait_lane(kiosk, lambda x: x["state"]["session_id"], "the customer's session in the lane")["state"][
        "session_id"]
    record = command(kiosk, "out_of_service", reason="Till count")
    assert record["outcome"] == "done" and record["detail"].startswith("deferred"), record
    pending = wait_lane(kiosk, lambda x: x["state"]["closing"] == "Till count", "the pending close in the lane")
    assert pending["status"] == "shopping" and pending["state"]["session_id"] == sid
    assert pending["state"]["out_of_service"] is None
    assert kiosk.ui()["screen"] == "checkout"  # the customer carries on
    kiosk.tap("pay")
    kiosk.wait_screen("receipt", 30)
    kiosk.tap("receipt_none")
    kiosk.wait_screen("out_of_service", 40)  # once the thank-you screen is over
    closed = wait_lane(kiosk, lambda x: x["status"] == "out_of_service", "the closed lane")
    assert closed["state"]["closing"] is None and closed["state"]["out_of_service"] == "Till count"
