"""The console's login, sessions, CSRF and site scoping over HTTP against a real server process."""
from __future__ import annotations

import time

import pytest

from console_harness import Attendant, add_site, add_user, cli, console_server


@pytest.fixture()
def server(tmp_path):
    srv, close = console_server(tmp_path, env={"KSERVER_CONSOLE_IDLE_S": "3"})
    kiosk_a, _ = srv.enroll("lane-a1")
    kiosk_b, _ = srv.enroll("lane-b1")
    add_site(srv, "site-a", kiosk_a)
    add_site(srv, "site-b", kiosk_b)
    add_user(srv, "anna", sites=("site-a",))
    yield srv
    close()


def test_login_board_and_logout(server):
    anna = Attendant(server)
    assert anna.http.get("/console").headers["location"] == "/console/login"
    reply = anna.login("anna")
    assert reply.status_code == 303 and reply.headers["location"] == "/console"
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    board = anna.http.get("/console")
    assert board.status_code == 200 and "Anna" in board.text
    assert board.headers["content-security-policy"].startswith("default-src 'self'")
    assert anna.post("/console/logout").status_code == 303
    assert anna.http.get("/console").headers["location"] == "/console/login"


def test_wrong_password_then_lockout_survives_a_restart(server):
    anna = Attendant(server)
    for _ in range(5):
        reply = anna.login("anna", "wrong password")
        assert reply.status_code == 401
    assert "locked" in reply.text
    assert anna.login("anna").status_code == 401  # the right password, but locked
    server.proc.stop()
    server.proc.start()
    again = Attendant(server)
    reply = again.login("anna")
    assert reply.status_code == 401 and "locked" in reply.text
    assert "locked until" in cli(server, "user", "list")
    cli(server, "user", "passwd", "anna", stdin="a new password\n")  # an admin clears the lock
    assert again.login("anna", "a new password").status_code == 303


def test_idle_session_expires(server):
    anna = Attendant(server)
    anna.login("anna")
    assert anna.http.get("/console").status_code == 200
    time.sleep(4)
    assert anna.http.get("/console").headers["location"] == "/console/login"
    assert anna.post("/console/logout").status_code == 401


def test_csrf_token_and_origin_are_checked(server):
    anna = Attendant(server)
    anna.login("anna")
    assert anna.post("/console/logout", csrf=False).status_code == 403
    assert anna.post("/console/kiosks/lane-a1/commands", {"kind": "test_print"}, csrf=False).status_code == 403
    forged = {"X-CSRF-Token": "not-the-token"}
    assert anna.http.post("/console/logout", headers=forged).status_code == 403
    assert anna.post("/console/logout", Origin="https://evil.example").status_code == 403
    assert anna.post("/console/logout", Sec_Fetch_Site="cross-site").status_code == 403
    page = anna.http.get("/console/login")  # the login form has its own token too
    assert anna.http.post("/console/login", data={"name": "anna", "password": "x"}).status_code == 403
    assert page.status_code == 200
    assert anna.http.get("/console").status_code == 200  # still logged in: none of those did anything


def test_attendant_of_site_a_never_sees_site_b(server):
    anna = Attendant(server)
    assert anna.http.get("/console/events").status_code == 401  # no live stream before logging in
    anna.login("anna")
    assert anna.http.get("/console/kiosks/lane-a1").status_code == 200
    assert anna.http.get("/console/kiosks/lane-b1").status_code == 403
    assert anna.post("/console/kiosks/lane-b1/commands", {"kind": "test_print"}).status_code == 403
    assert "lane-b1" not in anna.http.get("/console").text
    assert "lane-b1" not in anna.http.get("/console/queue").text


def test_cli_refuses_bad_input(server):
    with pytest.raises(AssertionError, match="role"):
        cli(server, "user", "add", "bob", "--role", "boss", stdin="long enough\n")
    with pytest.raises(AssertionError, match="no site"):
        cli(server, "user", "add", "bob", "--site", "nowhere", stdin="long enough\n")
    with pytest.raises(AssertionError, match="too short"):
        cli(server, "user", "add", "bob", stdin="short\n")
    with pytest.raises(AssertionError, match="no kiosk"):
        cli(server, "site", "assign", "ghost", "site-a")
