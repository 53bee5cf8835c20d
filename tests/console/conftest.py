"""The console tests use the server harness (tests/server/kserver_harness.py) and their own (console_harness)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

import pytest  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from browser import launch  # noqa: E402
from console_harness import TOKENS, SimKiosk, add_site, add_user, console_server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with lane-1 and lane-2 on site-a, lane-9 on site-b; attendants anna and ben on site-a."""
    srv, close = console_server(tmp_path_factory.mktemp("console-live"))
    for kiosk_id in ("lane-1", "lane-2", "lane-9"):
        TOKENS[kiosk_id] = srv.enroll(kiosk_id)[1]
    add_site(srv, "site-a", "lane-1", "lane-2")
    add_site(srv, "site-b", "lane-9")
    add_user(srv, "anna", sites=("site-a",), display="Anna B.")
    add_user(srv, "ben", sites=("site-a",), display="Ben C.")
    yield srv
    close()


@pytest.fixture()
def kiosk(server):
    """lane-1, connected (its command stream open) and idle; idle again afterwards."""
    sim = SimKiosk(server, "lane-1", TOKENS["lane-1"])
    sim.post(phase="idle")
    yield sim
    sim.post(help_called=False, age_check_pending=False, session_id=None, phase="idle", item_count=0,
             total_minor=0, lines=[])
    sim.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
