"""The camera as a barcode reader: a capture thread keeps only the newest frame, a decode worker
reads codes from it, and each code is reported once while it stays in view.

    [devices.camera]
    enabled = true
    driver = "opencv"          # or "simulator" (devices/sim/camera.py)
    index = 0                  # /dev/video0
    decoder = "zxing+zbar"     # zxing-cpp, then libzbar for linear codes and a vote (devices/decoding.py);
                               # or "zxing", or "pyzbar" (no DataMatrix; libzbar has crashed on odd frames)
    confirm_linear = 2         # a linear code counts once seen in 2 frames (or by both decoders, or a 2nd look)

pyzbar runs in a child process (devices/decoder_process.py), zxing-cpp in-process (it has been
robust, and it releases the GIL). Linear codes (EAN/UPC, Code 128, DataBar) are confirmed before they
are reported: a damaged label can decode to another code whose check digit still passes, but it
rarely does so twice in a row, which is what handheld scanners' "redundancy" setting relies on; when it
does, another read of the same place contradicts it (the vote in devices/decoding.py).
The UI gets preview frames with `latest_frame()`: the newest
captured array itself, not a copy (frames are never written to after capture), polled at display rate.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import cv2
import numpy as np

from devices.base import Device, DeviceError, release_quietly
from devices.codes import BadCode, code_from_decoder
from devices.decoder_process import DecoderCrashed, ProcessDecoder
from devices.decoding import CombinedDecoder, Decoded, is_linear, key_of, pyzbar_decoder, zxing_decoder
from kiosk.config import CameraSettings
from kiosk.events import EventQueue

ERROR_REPORT_INTERVAL_S = 5.0  # a decoder failing on every frame gives one ERROR event per interval


DECODERS: dict[str, Callable[[], Callable[[np.ndarray], Decoded]]] = {
    "zxing": zxing_decoder, "pyzbar": pyzbar_decoder, "zxing+zbar": lambda: CombinedDecoder(isolate=False)}


class Confirmer:
    """A linear code counts once it has been read `needed` times (frames, or decoders within a frame)
    with no more than `window_s` between reads; a read seen once and never again is dropped."""

    def __init__(self, needed: int = 2, window_s: float = 1.0) -> None:
        self.needed = needed
        self.window_s = window_s
        self._reads: dict[str, tuple[int, float]] = {}

    def confirmed(self, key: str, now: float, times: int = 1) -> bool:
        count, last = self._reads.get(key, (0, now))
        count = (count if now - last <= self.window_s else 0) + times
        self._reads[key] = (count, now)
        if len(self._reads) > 256:
            self._reads = {k: v for k, v in self._reads.items() if now - v[1] <= self.window_s}
        return count >= self.needed


class Deduper:
    """True the first time a code is seen, then False while it keeps being seen; once it has been
    out of view for `gone_after_s` it counts as new again."""

    def __init__(self, gone_after_s: float = 1.0) -> None:
        self.gone_after_s = gone_after_s
        self._last_seen: dict[str, float] = {}

    def is_new(self, key: str, now: float) -> bool:
        last = self._last_seen.get(key)
        self._last_seen[key] = now
        if len(self._last_seen) > 256:
            self._last_seen = {k: t for k, t in self._last_seen.items() if now - t <= self.gone_after_s}
        return last is None or now - last > self.gone_after_s


class Camera(Device):
    kind = "camera"

    def __init__(self, name: str, events: EventQueue, settings: CameraSettings,
                 open_capture: Callable[[], Any] | None = None, decoder_factory: str = "",
                 isolate: bool | None = None) -> None:
        super().__init__(name, events)
        self.settings = settings
        if isolate is None:  # pyzbar runs in a child process: a libzbar crash costs a frame, not the kiosk
            isolate = settings.decoder != "zxing"
        # an isolated decoder's process is started by the decode worker when the first frame arrives
        self.decode: Callable[[np.ndarray], Decoded] | None = None if isolate else DECODERS[settings.decoder]()
        self._custom_factory = bool(decoder_factory)
        self.decoder_factory = decoder_factory or f"devices.camera:{settings.decoder}_decoder"
        self.dedupe = Deduper(settings.dedupe_s)
        self.confirm = Confirmer(settings.confirm_linear, settings.dedupe_s)
        self._open_capture = open_capture or self._open_opencv
        self._capture: Any = None
        self._latest: tuple[int, np.ndarray | None] = (0, None)
        self._new_frame = threading.Condition()
        self._worker: threading.Thread | None = None
        self._last_error_report = -ERROR_REPORT_INTERVAL_S

    @property
    def endpoint(self) -> str:
        return f"/dev/video{self.settings.index}" if self._open_capture == self._open_opencv else "virtual camera"

    def latest_frame(self) -> tuple[int, np.ndarray | None]:
        """(frame number, newest BGR frame) for the live preview; the number says if it is new."""
        return self._latest

    # -- capture (the device's I/O thread) ----------------------------------------------------

    def _open_opencv(self) -> Any:
        capture = cv2.VideoCapture(self.settings.index)
        if not capture.isOpened():
            raise DeviceError(f"cannot open camera /dev/video{self.settings.index}")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.settings.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.settings.height)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # we want the newest frame, not a queue of old ones
        return capture

    def _connect(self) -> None:
        self._capture = self._open_capture()
        self._first_frame()
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._decode_loop, name=f"device-{self.name}-decode", daemon=True)
            self._worker.start()

    def _first_frame(self) -> None:
        """A camera that opens but sends nothing is not connected (and must not flap idle/offline)."""
        deadline = time.monotonic() + self.settings.no_frame_timeout_s
        while time.monotonic() < deadline and not self.stopping.is_set():
            ok, frame = self._capture.read()
            if ok and frame is not None:
                self._offer(frame)
                return
            self.stopping.wait(0.01)
        raise DeviceError(f"the camera opened but delivered no frames for {self.settings.no_frame_timeout_s:g} s")

    def _serve(self) -> None:
        last_frame = time.monotonic()
        timeout = self.settings.no_frame_timeout_s
        while not self.stopping.is_set():
            ok, frame = self._capture.read()
            now = time.monotonic()
            if ok and frame is not None:
                last_frame = now
                self._offer(frame)
            elif now - last_frame > timeout:
                raise DeviceError(f"the camera delivered no frames for {timeout:g} s")
            else:
                self.stopping.wait(0.01)

    def _offer(self, frame: np.ndarray) -> None:
        self.statistics["frames"] += 1
        with self._new_frame:
            self._latest = (self._latest[0] + 1, frame)
            self._new_frame.notify()

    def _disconnect(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            release_quietly(capture.release)

    def close(self, timeout: float = 5.0) -> None:
        super().close(timeout)
        with self._new_frame:
            self._new_frame.notify_all()
        if self._worker is not None:
            self._worker.join(timeout)
            self._worker = None
        if isinstance(self.decode, (ProcessDecoder, CombinedDecoder)):
            self.decode.close()
            self.decode = None

    def _check(self, level: str) -> str:
        seq, frame = self._latest
        if frame is None:
            raise DeviceError("no frame captured yet")
        return f"{frame.shape[1]}x{frame.shape[0]}, {seq} frames"

    # -- decoding (its own worker thread) -----------------------------------------------------

    def _decode_loop(self) -> None:
        if self.decode is None:
            if self.settings.decoder == "zxing+zbar" and not self._custom_factory:
                self.decode = CombinedDecoder(confirm_linear=self.settings.confirm_linear > 1)
            else:
                self.decode = ProcessDecoder(self.decoder_factory)
        done = 0
        while not self.stopping.is_set():
            with self._new_frame:
                while self._latest[0] == done and not self.stopping.is_set():
                    self._new_frame.wait(0.5)
                done, frame = self._latest
            if frame is not None and not self.stopping.is_set():
                self.decode_frame(frame)

    def decode_frame(self, frame: np.ndarray) -> int:
        """Decode one frame and post its new codes; returns how many were posted. Never raises."""
        now = time.monotonic()
        try:
            gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            found = self.decode(gray)
        except Exception as exc:  # a decoder bug or a malformed frame costs this frame only
            self.statistics["decoder_errors"] += 1
            if isinstance(exc, DecoderCrashed):
                self.statistics["decoder_restarts"] += 1
            if now - self._last_error_report >= ERROR_REPORT_INTERVAL_S:
                self._last_error_report = now
                self.post_error(f"{self.settings.decoder} decoder failed: {type(exc).__name__}: {exc}")
            return 0
        self.statistics["frames_decoded"] += 1
        posted = 0
        times: dict[str, int] = {}
        for read in found:  # the same code twice in one frame: two decoders (or a second look) agreeing
            times[key_of(read)] = times.get(key_of(read), 0) + 1
        for text, aim, *more in found:
            key = key_of((text, aim, *more))
            if key not in times:
                continue  # the second opinion's copy of a code already handled in this frame
            if is_linear(aim) and not self.confirm.confirmed(key, now, times.pop(key)):
                self.statistics["unconfirmed_reads"] += 1
                continue
            times.pop(key, None)
            if not self.dedupe.is_new(key, now):
                continue
            try:
                code = code_from_decoder(text, aim, *more[:1], extra={"UPCE": more[1]} if len(more) > 1 else None)
            except BadCode as exc:
                self.statistics["bad_reads"] += 1
                self.post_error(f"bad read: {exc}")
                continue
            self.statistics["reads"] += 1
            self.post_payload(code.as_scanned())
            posted += 1
        return posted


def build(settings: CameraSettings, events: EventQueue, name: str = "camera"):
    """The device manager's builder (see devices/manager.py)."""
    if settings.driver == "simulator":
        from devices.sim.camera import VirtualCamera
        sim = VirtualCamera(fps=settings.fps, folder=settings.simulator_folder or None)

        def open_virtual() -> VirtualCamera:
            if not sim.plugged:
                raise DeviceError("virtual camera is unplugged")
            return sim

        return Camera(name, events, settings, open_virtual), sim
    return Camera(name, events, settings), None
