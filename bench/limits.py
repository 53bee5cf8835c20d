"""300 MB request bodies against a real `kiosk-server serve` on loopback (issue 14): status, seconds and the
server's RSS growth, with and without a kiosk token, by Content-Length and chunked. Prints one line per case.
Then 700 idle and slow connections (as issue 14 measured): a normal batch's status and time meanwhile, and
when the server had closed the last of them.

    .venv/bin/python bench/limits.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "server")]

from kserver_harness import start_server  # noqa: E402
from test_server_limits import MB, _send_huge, hold_idle_and_slow, rss_kib  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv, close = start_server("sqlite", Path(tmp))
        try:
            kiosk, auth = srv.enroll()
            pid = srv.proc.proc.pid
            base = rss_kib(pid)
            print(f"rss_before_mib={base / 1024:.1f}")
            for chunked in (False, True):
                for name, headers in (("no-token", {}), ("kiosk-token", auth)):
                    status, secs = _send_huge(srv, "POST", f"/v1/kiosks/{kiosk}/transactions", headers, 300 * MB,
                                              chunked)
                    print(f"{'chunked' if chunked else 'content-length'} {name}: status={status} "
                          f"seconds={secs:.3f} rss_growth_mib={(rss_kib(pid) - base) / 1024:.1f}")
            held = hold_idle_and_slow(srv, 350, 350)
            print(f"held_connections={held['held']}")
            print(f"held_batch_status={held['batch_status']}")
            print(f"held_batch_ms={held['batch_s'] * 1000:.1f}")
            print(f"held_all_closed_s={held['all_closed_s']:.1f}")
            print(f"held_still_open_after_60_s={held['still_open']}")
        finally:
            close()


if __name__ == "__main__":
    main()
