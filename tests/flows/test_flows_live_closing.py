"""The live state says when a lane closes after the customer now at the kiosk (a deferred out_of_service), and
a kiosk still talks to a server that predates the field."""
from __future__ import annotations

import json

import httpx
from pydantic import create_model

from kiosk.events import EventQueue
from kiosk.flows import states as s
from kiosk.live import LiveClient, live_view
from kiosk.wire import LiveState

from .conftest import MILK, terminal
from .test_flows_remote import command, desk  # noqa: F401 - the fixture
from .test_flows_session import checkout


def test_a_close_during_a_session_is_pending_until_it_ends_then_out_of_service(desk):  # noqa: F811
    session = checkout(desk, MILK)
    assert live_view(session)["closing"] is None
    session.handle(command("out_of_service", reason="till count"), 2.0)
    view = live_view(session)
    assert view["closing"] == "till count" and view["out_of_service"] is None and view["phase"] == "shopping"
    LiveState(boot_id="b", seq=1, sent_at="2026-12-01T23:00:00Z", **view)  # the wire model takes it
    session.checkout.pay(3.0)
    sale = session.checkout.paying_sale
    session.handle(terminal("result", sale_uuid=sale, status="approved", message_id="payment.approved"), 4.0)
    session.checkout.receipt("none", 5.0)
    session.done(6.0)
    session.tick(30.0)
    assert session.state == s.OUT_OF_SERVICE
    view = live_view(session)
    assert view["closing"] is None and view["out_of_service"] == "till count"


def test_in_service_before_the_customer_leaves_cancels_the_pending_close(desk):  # noqa: F811
    session = checkout(desk, MILK)
    session.handle(command("out_of_service", id="c1"), 2.0)
    assert live_view(session)["closing"] == "closed by Anna"
    session.handle(command("in_service", id="c2"), 3.0)
    assert live_view(session)["closing"] is None and session.state == s.CHECKOUT


def test_closing_is_optional_on_the_wire():
    old = LiveState.model_validate({"boot_id": "b", "seq": 1, "sent_at": "2026-12-01T23:00:00Z"})
    assert old.closing is None  # a kiosk that predates the field


def _old_server(seen: list):
    """A server whose LiveState has no `closing` (extra fields forbidden, as they are)."""
    fields = {name: (info.annotation, info) for name, info in LiveState.model_fields.items() if name != "closing"}
    OldState = create_model("OldState", __config__=LiveState.model_config, **fields)

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        errors = [e for e in _errors(OldState, body)]
        if errors:
            return httpx.Response(422, json={"detail": errors})
        return httpx.Response(204)
    return handle


def _errors(model, body):
    from pydantic import ValidationError
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return []


def test_a_kiosk_talks_to_a_server_that_predates_closing(desk):  # noqa: F811
    seen: list = []
    client = LiveClient(server_url="http://old.invalid", token="t", events=EventQueue(), debounce_s=0)
    client.http = httpx.Client(base_url="http://old.invalid", transport=httpx.MockTransport(_old_server(seen)))
    session = checkout(desk, MILK)
    client.publish(live_view(session))
    client._post_state()
    assert "closing" not in seen[-1] and client.states_sent == 1  # unset: not sent at all
    session.handle(command("out_of_service", reason="till count"), 2.0)
    client.publish(live_view(session))
    client._post_state()
    assert "closing" in seen[-2] and "closing" not in seen[-1]  # refused once, then sent without it
    assert client.plain_states and client.states_sent == 2
    client.http.close()
    client.stream_http.close()
