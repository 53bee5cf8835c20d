"""A real `kiosk-server serve` with console users and sites made by the real CLI, and an HTTP client that logs
in as a browser does (login form, cookie, CSRF token from the page)."""
from __future__ import annotations

import re
import subprocess
import sys
import uuid

import httpx
from playwright.sync_api import expect

from kserver_harness import Server, start_server

PASSWORD = "correct horse battery"
LIVE_MS = 1000  # an update must reach the page within a second
TOKENS: dict[str, dict] = {}  # kiosk id -> its auth headers, on the module's server


def cli(server: Server, *args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", "admin", *args], input=stdin, text=True,
                          capture_output=True, env=server.proc.env, timeout=120)
    if done.returncode:
        raise AssertionError(f"kiosk-server admin {' '.join(args)}: {done.stderr}")
    return done.stdout


def add_user(server: Server, name: str, role: str = "attendant", sites: tuple[str, ...] = (),
             display: str = "") -> None:
    args = ["user", "add", name, "--role", role, "--display-name", display or name.title()]
    for site in sites:
        args += ["--site", site]
    cli(server, *args, stdin=PASSWORD + "\n")


def add_site(server: Server, site: str, *kiosk_ids: str) -> None:
    cli(server, "site", "add", site)
    for kiosk_id in kiosk_ids:
        cli(server, "site", "assign", kiosk_id, site)


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in the page"
    return found.group(1)


class Attendant:
    """One browser's worth of cookies against the console."""

    def __init__(self, server: Server):
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)
        self.csrf = ""

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        page = self.http.get("/console/login")
        reply = self.http.post("/console/login", data={"name": name, "password": password,
                                                       "csrf": field(page.text, "csrf")})
        if reply.status_code == 303:
            self.csrf = field(self.http.get("/console").text, "csrf")
        return reply

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **headers: str) -> httpx.Response:
        head = {"HX-Request": "true", **{k.replace("_", "-"): v for k, v in headers.items()}}
        if csrf:
            head["X-CSRF-Token"] = self.csrf
        return self.http.post(path, data=data or {}, headers=head)

    def close(self) -> None:
        self.http.close()


def console_server(tmp_path, env: dict[str, str] | None = None, backend: str = "sqlite"):
    return start_server(backend, tmp_path, env={"KSERVER_FAILURE_BURST": "1000000", **(env or {})})


class SimKiosk:
    """A kiosk as the live channel sees it: posts LiveState with its token and reads its command stream."""

    def __init__(self, server: Server, kiosk_id: str, headers: dict):
        from live_client import SseReader

        self.server, self.kiosk_id, self.headers = server, kiosk_id, headers
        self.seq, self.boot_id = 0, uuid.uuid4().hex  # a fresh boot: its first state is never taken for a stale one
        self.fields: dict = {}
        self.commands = SseReader(f"{server.url}/v1/live/commands", headers).wait_open()

    def post(self, **fields) -> None:
        from live_client import state

        self.fields.update(fields)
        self.seq += 1
        reply = httpx.post(f"{self.server.url}/v1/live/state", json=state(self.seq, self.boot_id, **self.fields),
                           headers=self.headers, timeout=30)
        assert reply.status_code == 204, reply.text

    def next_command(self, kind: str, timeout: float = 10) -> dict:
        """The next command of this kind (others are skipped)."""
        while True:
            command = self.commands.next("command", timeout)
            if command["kind"] == kind:
                return command

    def answer(self, command: dict, outcome: str = "done", detail: str = "") -> None:
        reply = httpx.post(f"{self.server.url}/v1/live/commands/{command['id']}/result",
                           json={"outcome": outcome, "detail": detail}, headers=self.headers, timeout=30)
        assert reply.status_code == 204, reply.text

    def close(self) -> None:
        self.commands.close()


def login(browser, server, name: str, **context):
    ctx = browser.new_context(locale="en-GB", **context)
    page = ctx.new_page()
    page.goto(f"{server.url}/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/console")
    return ctx, page
