"""Runs `kiosk-server serve` as a child process: for `kiosk --simulate`, the tests and the benchmarks.

The listening socket is bound here and inherited by the child, so the port is known before the
server starts, no other process can take it between restarts, and a killed server's successor
picks up connections that queued up meanwhile.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx


class ServerProcess:
    def __init__(self, data_dir: str | os.PathLike[str], database_url: str = "", admin_token: str = "",
                 host: str = "127.0.0.1", port: int = 0, workers: int = 1, log_path: str | None = None,
                 tls: tuple[str, str] | None = None, pid_file: str | os.PathLike[str] | None = None):
        """`tls` = (certificate file, key file): serve HTTPS, as `serve --ssl-certfile/--ssl-keyfile` does.

        `pid_file`: the server's pid and port are written there; a server of the same data dir left by a
        parent that was SIGKILLed (its own session: the kiosk's process group does not include it) is ended
        before this one starts, so two servers never share one database."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(1024)
        self.sock.set_inheritable(True)
        self.host, self.port = self.sock.getsockname()[:2]
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://{self.host}:{self.port}"
        self.workers = workers
        self.env = dict(os.environ, KSERVER_DATA_DIR=str(data_dir))
        self.env.pop("KSERVER_DATABASE_URL", None)
        if database_url:
            self.env["KSERVER_DATABASE_URL"] = database_url
        if admin_token:
            self.env["KSERVER_ADMIN_TOKEN"] = admin_token
        self.log_path = Path(log_path or Path(data_dir) / "server.log")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.data_dir = str(data_dir)
        self.pid_file = Path(pid_file) if pid_file else None

    def end_stale(self, timeout: float = 30) -> int | None:
        """Ends the server the pid file names if it still runs on this data dir; its pid, or None."""
        if self.pid_file is None:
            return None
        try:
            pid = int(json.loads(self.pid_file.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _serves(pid, self.data_dir):  # gone, or the pid now belongs to someone else
            self.pid_file.unlink(missing_ok=True)
            return None
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and group_alive(pid):
                time.sleep(0.05)
            if not group_alive(pid):
                break
        self.pid_file.unlink(missing_ok=True)
        return pid

    def start(self, timeout: float = 60) -> "ServerProcess":
        self.end_stale()
        command = [sys.executable, "-m", "server.cli", "serve", "--fd", str(self.sock.fileno()),
                   "--workers", str(self.workers), "--log-level", "warning", "--no-access-log"]
        if self.tls:
            command += ["--ssl-certfile", str(self.tls[0]), "--ssl-keyfile", str(self.tls[1])]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, env=self.env, pass_fds=[self.sock.fileno()], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=Path(__file__).resolve().parent.parent)
        if self.pid_file is not None:
            tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
            tmp.write_text(json.dumps({"pid": self.proc.pid, "port": self.port, "data_dir": self.data_dir}))
            os.replace(tmp, self.pid_file)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kiosk-server exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            try:
                verify = ssl.create_default_context(cafile=self.tls[0]) if self.tls else True
                if httpx.get(self.url + "/v1/health", timeout=2, verify=verify).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"kiosk-server not ready after {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL to the whole process group (uvicorn workers too): a crash, not a shutdown."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout: float = 30) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        self.sock.close()
        if self.pid_file is not None and self.proc is not None and self.proc.poll() is not None:
            self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def _serves(pid: int, data_dir: str) -> bool:
    """Process `pid` lives and is a kiosk-server of `data_dir` (its environment says so)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2:].split()[0] != "Z" and f"KSERVER_DATA_DIR={data_dir}".encode() in environ


def group_alive(pgid: int) -> bool:
    """A live (not zombie) process is left in process group `pgid` (uvicorn's workers included)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
