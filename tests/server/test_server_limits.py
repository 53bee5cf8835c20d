"""Resource limits of the real server process (issue 14): body sizes, slow and idle connections, throttling of
failed authentication and receipt misses, disabled kiosks, hostile JSON and headers."""
from __future__ import annotations

import json
import os
import select
import socket
import time

import httpx
import pytest

from kserver_harness import start_server
from server_records import batch, event

MB = 1024 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server of its own with the default limits (the shared one runs with a generous throttle for the fuzzing)."""
    srv, close = start_server("sqlite", tmp_path_factory.mktemp("server-limits"))
    yield srv
    close()


def rss_kib(pid: int) -> int:
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def _send_huge(server, method: str, path: str, headers: dict, total: int, chunked: bool) -> tuple[int | None, float]:
    """Streams `total` bytes (1 MiB at a time, never held whole) until the server answers; (status, seconds)."""
    start = time.monotonic()
    sock = socket.create_connection((server.proc.host, server.proc.port), timeout=30)
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
    sock.sendall(head.encode())
    chunk = b"[" + b" " * (MB - 1)
    sent = 0
    try:
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered (or closed)
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
    except OSError:
        pass  # reset by the server: it refused the rest
    try:
        reply = sock.recv(4096)
    except OSError:
        reply = b""
    sock.close()
    status = int(reply.split()[1]) if reply.startswith(b"HTTP/1.1") else None
    return status, time.monotonic() - start


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_300_mb_body_is_refused_without_growing_the_server(limited, chunked):
    kiosk, auth = limited.enroll()
    pid = limited.proc.proc.pid
    before = rss_kib(pid)
    batches = f"/v1/kiosks/{kiosk}/transactions"
    for method, path, headers, expected in (("POST", batches, {}, (401, 413)), ("POST", batches, auth, (413,)),
                                            ("PUT", "/v1/admin/catalog", limited.admin, (413,)),
                                            ("PUT", "/v1/admin/catalog", {}, (401, 413)),
                                            # an unknown token is refused before the body, not after 64 MiB of it
                                            ("PUT", "/v1/admin/catalog", {"Authorization": "Bearer wrong"},
                                             (401, 429))):
        status, seconds = _send_huge(limited, method, path, headers, 300 * MB, chunked)
        assert status in expected, (headers, status)
        assert seconds < 20, seconds
    grown = (rss_kib(pid) - before) / 1024
    assert grown < 100, f"server RSS grew by {grown:.0f} MiB"
    assert httpx.get(f"{limited.url}/v1/health", timeout=10).status_code == 200


def test_too_many_records_are_refused(limited):
    kiosk, auth = limited.enroll()
    body = batch(*(event(kiosk, s) for s in range(1, 1002)))
    reply = httpx.post(f"{limited.url}/v1/kiosks/{kiosk}/transactions", json=body, headers=auth, timeout=60)
    assert reply.status_code in (413, 422) and len(reply.text) < 5000


def hold_idle_and_slow(server, idle_count: int, slow_count: int, within_s: float = 60) -> dict:
    """`idle_count` idle connections and `slow_count` sending a header byte a second, plus one sending its body a
    byte a second after complete headers; meanwhile a normal batch. Returns the batch's status and seconds, when
    the last held connection was closed by the server and how many were still open after `within_s`."""
    kiosk, auth = server.enroll()
    address = (server.proc.host, server.proc.port)
    idle = [socket.create_connection(address) for _ in range(idle_count)]
    slow = [socket.create_connection(address) for _ in range(slow_count)]
    start = time.monotonic()
    for s in slow:
        s.sendall(b"POST /v1/kiosks/x/transactions HTTP/1.1\r\n")
    t0 = time.monotonic()
    reply = httpx.post(f"{server.url}/v1/kiosks/{kiosk}/transactions", json=batch(event(kiosk, 1)), headers=auth,
                       timeout=30)
    batch_s = time.monotonic() - t0
    body_slow = socket.create_connection(address)
    body_slow.sendall(f"POST /v1/kiosks/{kiosk}/transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                      f"Authorization: {auth['Authorization']}\r\nContent-Type: application/json\r\n\r\n".encode())
    trickling = set(slow + [body_slow])
    open_ = set(idle + slow + [body_slow])
    last_closed = 0.0
    deadline = start + within_s
    while open_ and time.monotonic() < deadline:
        for s in list(open_):
            try:
                if s in trickling:
                    s.sendall(b"a")
                s.setblocking(False)
                if s.recv(4096) == b"":
                    open_.discard(s)
            except BlockingIOError:
                pass
            except OSError:
                open_.discard(s)
            finally:
                s.setblocking(True) if s.fileno() >= 0 else None
            if s not in open_:
                last_closed = time.monotonic() - start
        time.sleep(1)
    for s in idle + slow + [body_slow]:
        s.close()
    return {"batch_status": reply.status_code, "batch_s": batch_s, "all_closed_s": last_closed,
            "still_open": len(open_), "held": idle_count + slow_count + 1}


def test_700_idle_and_slow_connections_neither_block_a_batch_nor_stay_forever(limited):
    """Issue 14 measured 700 connections held for 60 s: 350 idle, 350 sending a header byte a second (and one a
    body byte a second). A normal batch still goes through, and the server closes every one within a minute."""
    held = hold_idle_and_slow(limited, 350, 350)
    assert held["batch_status"] == 200, held
    assert held["still_open"] == 0, f"{held['still_open']} of {held['held']} connections still open after 60 s"


def test_over_the_maximum_number_of_connections_a_request_gets_503_and_then_200_again(tmp_path):
    """KSERVER_MAX_CONNECTIONS: a request beyond it is answered 503 at once instead of queueing."""
    srv, close = start_server("sqlite", tmp_path, env={"KSERVER_MAX_CONNECTIONS": "10"})
    try:
        held = [socket.create_connection((srv.proc.host, srv.proc.port)) for _ in range(10)]
        time.sleep(0.5)  # accepted by the server
        over = httpx.get(f"{srv.url}/v1/health", timeout=10)
        assert over.status_code == 503, over.text
        for s in held:
            s.close()
        time.sleep(0.5)
        assert httpx.get(f"{srv.url}/v1/health", timeout=10).status_code == 200
    finally:
        close()


def test_an_idle_keep_alive_connection_is_closed_after_keep_alive_seconds(tmp_path):
    srv, close = start_server("sqlite", tmp_path, env={"KSERVER_KEEP_ALIVE": "2"})
    try:
        host, port = srv.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            request = f"GET /v1/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            for _ in range(2):  # kept alive between requests
                sock.sendall(request)
                reply = b""
                while b'"ok"' not in reply:
                    chunk = sock.recv(4096)
                    assert chunk, f"closed before the reply: {reply!r}"
                    reply += chunk
                assert reply.startswith(b"HTTP/1.1 200"), reply
            began = time.monotonic()
            assert sock.recv(4096) == b""  # then, idle, the server closes it (recv would time out at 30 s)
            assert time.monotonic() - began >= 1, "closed before KSERVER_KEEP_ALIVE seconds"
    finally:
        close()


def test_failed_authentication_and_receipt_misses_are_throttled(limited):
    codes = [httpx.get(f"{limited.url}/v1/admin/fleet", headers={"Authorization": "Bearer nope"}, timeout=10)
             for _ in range(40)]
    assert codes[0].status_code == 401
    throttled = [r for r in codes if r.status_code == 429]
    assert throttled and int(throttled[0].headers["Retry-After"]) >= 1
    misses = [httpx.get(f"{limited.url}/v1/receipts/{'x' * 20}{i}", timeout=10).status_code for i in range(40)]
    assert 429 in misses
    assert 429 in [httpx.get(f"{limited.url}/r/{'y' * 20}{i}", timeout=10).status_code for i in range(5)]
    # a valid token is still served from the throttled address
    assert httpx.get(f"{limited.url}/v1/admin/fleet", headers=limited.admin, timeout=10).status_code == 200


def test_429_is_declared_in_the_openapi_document(limited):
    paths = httpx.get(f"{limited.url}/v1/openapi.json").json()["paths"]
    assert "429" in paths["/v1/admin/fleet"]["get"]["responses"]
    assert "429" in paths["/v1/receipts/{token}"]["get"]["responses"]
    assert "413" in paths["/v1/kiosks/{kiosk_id}/transactions"]["post"]["responses"]


@pytest.mark.parametrize("text", ['{"records": [{"seq": NaN}]}', '{"records": [{"seq": Infinity}]}',
                                  '{"records": [{"seq": 1, "uuid": "\\ud800' + "x" * 100000 + '"}]}'])
def test_nan_infinity_and_lone_surrogates_are_422(limited, text):
    kiosk, auth = limited.enroll()
    for path, headers in ((f"/v1/kiosks/{kiosk}/transactions", auth), (f"/v1/kiosks/{kiosk}/heartbeat", auth),
                          ("/v1/admin/catalog", limited.admin)):
        reply = httpx.post(limited.url + path, content=text.encode(), headers=headers | {
            "Content-Type": "application/json"}, timeout=30) if "admin" not in path else \
            httpx.put(limited.url + path, content=text.encode(), headers=headers | {
                "Content-Type": "application/json"}, timeout=30)
        assert reply.status_code == 422, (path, reply.status_code, reply.text[:300])
        assert len(reply.text) < 5000


def test_huge_header_and_many_headers_are_refused(limited):
    for head in (b"X-Big: " + b"a" * (16 * MB) + b"\r\n", b"".join(b"X-%d: a\r\n" % i for i in range(100000))):
        status, seconds = _raw(limited, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        assert status in (400, 413, 431, None) and seconds < 20, status
    few_too_many = b"".join(b"X-%d: a\r\n" % i for i in range(150))  # small enough for h11, over the count limit
    assert _raw(limited, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + few_too_many + b"\r\n")[0] == 431
    assert httpx.get(f"{limited.url}/v1/health", timeout=10).status_code == 200


def _raw(server, data: bytes) -> tuple[int | None, float]:
    start = time.monotonic()
    sock = socket.create_connection((server.proc.host, server.proc.port), timeout=20)
    try:
        sock.sendall(data)
    except OSError:
        pass
    try:
        reply = sock.recv(4096)
    except OSError:
        reply = b""
    sock.close()
    return (int(reply.split()[1]) if reply.startswith(b"HTTP/1.1") else None), time.monotonic() - start


def test_disabled_kiosk_is_403(limited, tmp_path):
    kiosk, auth = limited.enroll()
    data = limited.proc.env["KSERVER_DATA_DIR"]
    done = _cli_at(data, "admin", "disable", kiosk)
    assert done.returncode == 0, done.stderr
    reply = httpx.get(f"{limited.url}/v1/kiosks/{kiosk}/sync-state", headers=auth, timeout=10)
    assert reply.status_code == 403 and "disabled" in reply.text
    assert _cli_at(data, "admin", "enable", kiosk).returncode == 0
    assert httpx.get(f"{limited.url}/v1/kiosks/{kiosk}/sync-state", headers=auth, timeout=10).status_code == 200


def _cli_at(data_dir, *args):
    import contextlib
    import io
    import subprocess
    from unittest import mock
    from server.cli import main
    out, err = io.StringIO(), io.StringIO()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KSERVER_")} | {"KSERVER_DATA_DIR": data_dir}
    with mock.patch.dict(os.environ, environ, clear=True), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_named_admin_tokens_are_listed_revoked_and_audited(limited):
    data = limited.proc.env["KSERVER_DATA_DIR"]
    made = _cli_at(data, "admin", "admin-token", "create", "--name", "ops-laptop")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{limited.url}/v1/admin/kiosks", json={"kiosk_id": "named-1"}, headers=headers,
                      timeout=10).status_code == 200
    assert "ops-laptop" in _cli_at(data, "admin", "admin-token", "list").stdout
    import sqlalchemy as sa
    from server.db import make_engine
    engine = make_engine(f"sqlite:///{data}/server.db")
    with engine.connect() as conn:
        actors = [r[0] for r in conn.execute(sa.text("SELECT actor FROM admin_log WHERE action = 'enroll'"))]
    engine.dispose()
    assert any("ops-laptop" in a for a in actors), actors
    assert _cli_at(data, "admin", "admin-token", "revoke", "ops-laptop").returncode == 0
    # revoked: 401, or 429 when an earlier test left this address throttled
    assert httpx.get(f"{limited.url}/v1/admin/fleet", headers=headers, timeout=10).status_code in (401, 429)
    assert _cli_at(data, "admin", "admin-token", "--note", "old style").returncode == 0


def test_short_admin_token_is_refused_at_start(tmp_path):
    done = _cli_env(tmp_path, KSERVER_ADMIN_TOKEN="short")
    assert done.returncode == 2 and "KSERVER_ADMIN_TOKEN" in done.stderr and "32" in done.stderr


def _cli_env(tmp_path, **env):
    import subprocess
    import sys
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KSERVER_")}
    return subprocess.run([sys.executable, "-m", "server.cli", "serve", "--port", "0"], capture_output=True,
                          text=True, timeout=60, env=environ | {"KSERVER_DATA_DIR": str(tmp_path)} | env,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
