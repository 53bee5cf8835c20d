"""Costs on the appliance path: one sd_notify datagram (sent from the UI thread every WatchdogSec/2) and the
Ed25519 check of a release manifest (kiosk-update). Prints name=value lines."""
from __future__ import annotations

import base64
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from kiosk.sdnotify import Notifier  # noqa: E402
from launcher.release_store import verify  # noqa: E402


def main() -> None:
    folder = tempfile.mkdtemp(prefix="bn-")
    path = os.path.join(folder, "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    notifier = Notifier(path, 2_000_000)
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        notifier.watchdog()
        listener.recv(64)
    print(f"sdnotify_watchdog_us={(time.perf_counter() - start) / n * 1e6:.2f}")
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw)).decode()
    manifest = '{"filename":"x-1.0.0-py3-none-any.whl","name":"x","sha256":"' + "0" * 64 + '","size":1,"version":"1.0.0"}'
    signature = base64.b64encode(key.sign(manifest.encode())).decode()
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        verify(manifest, signature, public)
    print(f"release_manifest_verify_us={(time.perf_counter() - start) / n * 1e6:.1f}")


if __name__ == "__main__":
    main()
