"""Failed console logins are throttled per client address (429 with Retry-After), and the account lockout
holds only for the address the failures came from: a stranger cannot lock an attendant out. Over HTTP against
a real server process; the addresses arrive as X-Forwarded-For from loopback, which uvicorn trusts by default
(as it would from a reverse proxy on the same host)."""
from __future__ import annotations

import uuid

import pytest

from console_harness import Attendant, add_site, add_user, cli, console_server

BURST = 8


@pytest.fixture()
def server(tmp_path):
    srv, close = console_server(tmp_path, env={"KSERVER_CONSOLE_LOGIN_BURST": str(BURST),
                                               "KSERVER_CONSOLE_LOGIN_REFILL_S": "60"})
    kiosk_a, _ = srv.enroll("lane-a1")
    add_site(srv, "site-a", kiosk_a)
    add_user(srv, "anna", sites=("site-a",))
    add_user(srv, "ben", sites=("site-a",))
    yield srv
    close()


def from_address(server, address: str, language: str = "en") -> Attendant:
    browser = Attendant(server)
    browser.http.headers.update({"X-Forwarded-For": address, "Accept-Language": language})
    return browser


def test_a_stranger_locks_the_account_only_for_their_own_address(server):
    stranger = from_address(server, "203.0.113.7")
    for _ in range(5):
        reply = stranger.login("anna", "wrong password")
        assert reply.status_code == 401
    assert "locked on this device" in reply.text
    assert stranger.login("anna").status_code == 401  # the right password, but locked for this address
    assert "locked until" in cli(server, "user", "list")
    anna = from_address(server, "198.51.100.20")
    assert anna.login("anna").status_code == 303  # her own station still gets in
    assert anna.http.get("/console").status_code == 200


def test_failures_from_one_address_get_429_and_do_not_count_towards_the_lockout(server):
    guesser = from_address(server, "203.0.113.8")
    for _ in range(BURST):
        assert guesser.login("nobody-" + uuid.uuid4().hex[:6], "guess").status_code == 401
    reply = guesser.login("anna", "guess")
    assert reply.status_code == 429
    wait = int(reply.headers["retry-after"])
    assert 1 <= wait <= 60
    assert "Too many failed logins from this address. Try again in" in reply.text
    for _ in range(6):  # more than the lockout's 5: refused unseen, so ben is not locked by them
        assert guesser.login("ben", "wrong password").status_code == 429
    assert guesser.login("ben").status_code == 429  # the right password waits too
    german = from_address(server, "203.0.113.8", "de")
    reply = german.login("ben", "wrong password")
    assert reply.status_code == 429 and "Zu viele fehlgeschlagene Anmeldungen von dieser Adresse" in reply.text

    elsewhere = from_address(server, "198.51.100.30")  # another address has its own budget
    assert elsewhere.login("ben", "wrong password").status_code == 401
    assert elsewhere.login("ben").status_code == 303

    server.proc.stop()  # the buckets are in memory, the lockouts in the database: a restart shows what counted
    server.proc.start()
    assert guesser.login("ben").status_code == 303  # not locked: the throttled attempts never counted
