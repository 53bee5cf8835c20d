"""Run a barcode decoder in a child process, so that a crash inside a C library (libzbar has
asserted and segfaulted on odd frames) costs one frame and a restart instead of the kiosk.

    decode = ProcessDecoder("devices.camera:pyzbar_decoder")   # a factory returning decode(gray)
    decode(gray)              # -> [(text, aim), ...]; raises DecoderCrashed after a crash or hang
    decode.close()

The child is a fresh `python -m devices.decoder_process` (it inherits nothing from the kiosk: no UI,
no threads). Frames go to its stdin as a 8-byte header (height, width) plus the gray pixels (about
1 ms for 1280x720); each answer comes back on its own pipe as one JSON line.
"""
from __future__ import annotations

import importlib
import json
import os
import select
import struct
import subprocess
import sys
import time

import numpy as np

ANSWER_TIMEOUT_S = 5.0
_HEADER = struct.Struct("<II")


class DecoderCrashed(RuntimeError):
    """The decoder process died or hung; it has been restarted."""


class ProcessDecoder:
    def __init__(self, factory: str, timeout: float = ANSWER_TIMEOUT_S) -> None:
        self.factory = factory
        self.timeout = timeout
        self.restarts = 0
        self.cpu_s = 0.0  # the child's CPU time spent decoding, in total (the bench's per-frame CPU figure)
        self._proc: subprocess.Popen | None = None
        self._start()

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._proc = subprocess.Popen([sys.executable, "-m", "devices.decoder_process", self.factory],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._buffer = b""

    def _restart(self, why: str) -> DecoderCrashed:
        self._stop()
        self.restarts += 1
        self._start()
        return DecoderCrashed(f"{why}; decoder process restarted")

    def __call__(self, gray: np.ndarray) -> list[tuple[str, str]]:
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError(f"expected a 2-D uint8 gray image, got shape {gray.shape} of {gray.dtype}")
        proc = self._proc
        try:
            proc.stdin.write(_HEADER.pack(*gray.shape))
            proc.stdin.write(np.ascontiguousarray(gray).data)
            proc.stdin.flush()
            line = self._read_line()
        except (BrokenPipeError, ConnectionResetError, EOFError):
            proc.wait(2.0)
            raise self._restart(f"the decoder process crashed (exit code {proc.returncode})") from None
        except TimeoutError:
            raise self._restart(f"the decoder did not answer within {self.timeout:g} s") from None
        reply = json.loads(line)
        self.cpu_s += reply.get("cpu_s", 0.0)
        if "error" in reply:  # an exception inside the child
            raise RuntimeError(reply["error"])
        return [tuple(code) for code in reply["codes"]]

    def _read_line(self) -> bytes:
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], self.timeout)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _stop(self) -> None:
        proc = self._proc
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait(5.0)

    def close(self) -> None:
        self._stop()


def _child(factory: str) -> None:
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a decoder library prints goes to stderr, not into the answers
    module, _, name = factory.partition(":")
    decode = getattr(importlib.import_module(module), name)()
    source = sys.stdin.buffer
    while True:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        height, width = _HEADER.unpack(header)
        data = source.read(height * width)
        if len(data) < height * width:
            return
        gray = np.frombuffer(data, np.uint8).reshape(height, width)
        start = time.process_time()
        try:
            answer = {"codes": [list(code) for code in decode(gray)], "cpu_s": time.process_time() - start}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(answer).encode() + b"\n")
        protocol.flush()


if __name__ == "__main__":
    _child(sys.argv[1])
