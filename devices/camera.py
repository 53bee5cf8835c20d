"""The camera as a barcode reader: a capture thread keeps only the newest frame, a decode worker
reads codes from it, and each code is reported once while it stays in view.

    [devices.camera]
    enabled = true
    driver = "opencv"          # or "simulator" (devices/sim/camera.py)
    index = 0                  # /dev/video0
    decoder = "zxing+zbar"     # zxing-cpp, then libzbar for linear codes when time is left (misses, 2nd opinion);
                               # or "zxing", or "pyzbar" (no DataMatrix; libzbar has crashed on odd frames)
    confirm_linear = 2         # a linear code counts once seen in 2 frames (or by both decoders)

pyzbar runs in a child process (devices/decoder_process.py), zxing-cpp in-process (it has been
robust, and it releases the GIL). Linear codes (EAN/UPC, Code 128, DataBar) are confirmed before they
are reported: a damaged label can decode to another code whose check digit still passes, but it
rarely does so twice in a row, which is what handheld scanners' "redundancy" setting relies on.
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
from devices.codes import BadCode, code_from_decoder, decode_bytes
from devices.decoder_process import DecoderCrashed, ProcessDecoder
from kiosk.config import CameraSettings
from kiosk.events import EventQueue

# (text, AIM symbology identifier[, format name[, UPC-E digits]]): what a decoder reports per code
Decoded = list[tuple[str, ...]]
ERROR_REPORT_INTERVAL_S = 5.0  # a decoder failing on every frame gives one ERROR event per interval
ZXING_FORMATS = "EAN13,EAN8,UPCA,UPCE,Code128,QRCode,DataMatrix,DataBar,DataBarExpanded,DataBarLimited"
LINEAR_AIM = set("EFGIACe")  # AIM code characters of linear symbologies: EAN/UPC, Codabar, 93, ITF, 39, 128, DataBar
FRAME_BUDGET_S = 0.030  # zbar runs after zxing only when both are expected to finish within this (30 fps)


def is_linear(aim: str) -> bool:
    return aim[1:2] in LINEAR_AIM


def _unique(found: Decoded) -> Decoded:
    """One entry per code: a decoder can find the same symbol twice (zxing-cpp does with DataBar
    Expanded), and two entries for one code must mean two decoders agreeing (see Confirmer)."""
    seen: set[tuple[str, str]] = set()
    return [code for code in found if code[:2] not in seen and not seen.add(code[:2])]


def zxing_decoder() -> Callable[[np.ndarray], Decoded]:
    import zxingcpp

    formats = zxingcpp.barcode_formats_from_str(ZXING_FORMATS)

    def decode(gray: np.ndarray) -> Decoded:
        found = zxingcpp.read_barcodes(gray, formats=formats, text_mode=zxingcpp.TextMode.Plain)
        return _unique([(b.text, b.symbology_identifier, b.format.name, (b.extra or {}).get("UPCE", ""))
                        for b in found if b.valid])

    return decode


_PYZBAR_AIM = {"EAN13": "]E0", "EAN8": "]E4", "UPCA": "]E0", "UPCE": "]E0", "CODE128": "]C0", "QRCODE": "]Q1",
               "CODE39": "]A0", "I25": "]I0", "DATABAR": "]e0", "DATABAR_EXP": "]e0", "CODE93": "]G0"}
PYZBAR_LINEAR = ("EAN13", "EAN8", "UPCA", "UPCE", "CODE128", "DATABAR", "DATABAR_EXP")


def pyzbar_decoder(symbols: tuple[str, ...] | None = None) -> Callable[[np.ndarray], Decoded]:
    from pyzbar import pyzbar

    wanted = [pyzbar.ZBarSymbol[name] for name in symbols] if symbols else None

    def decode(gray: np.ndarray) -> Decoded:
        return _unique([(decode_bytes(r.data), _PYZBAR_AIM.get(r.type, "]X0"), r.type)
                        for r in pyzbar.decode(gray, symbols=wanted)])

    return decode


def pyzbar_linear_decoder() -> Callable[[np.ndarray], Decoded]:
    """libzbar for linear codes only (the fallback after zxing-cpp): faster than all symbologies."""
    return pyzbar_decoder(PYZBAR_LINEAR)


class CombinedDecoder:
    """zxing-cpp on every frame, then libzbar (in a child process, linear codes only) on the same frame
    when zxing's time plus zbar's usual time fit in `budget_s`: on a miss it reads linear codes zxing missed (some blurred or
    low-contrast EAN/UPC), on a linear read it is a second opinion, and two decoders reading the same
    code confirm it at once (Confirmer) instead of in the next frame. zxing reads everything 2D."""

    def __init__(self, fallback_factory: str = "devices.camera:pyzbar_linear_decoder",
                 budget_s: float = FRAME_BUDGET_S, isolate: bool = True, confirm_linear: bool = True) -> None:
        self.primary = zxing_decoder()
        self.budget_s = budget_s
        self.confirm_linear = confirm_linear  # also run zbar on frames where zxing read a linear code
        if isolate:
            self.fallback: Callable[[np.ndarray], Decoded] = ProcessDecoder(fallback_factory)
        else:
            module, _, name = fallback_factory.partition(":")
            import importlib
            self.fallback = getattr(importlib.import_module(module), name)()
        self.fallback_runs = 0
        self.fallback_skips = 0
        self.fallback_s = 0.010  # a running estimate of zbar's time per frame (moving average)

    def __call__(self, gray: np.ndarray) -> Decoded:
        start = time.perf_counter()
        found = self.primary(gray)
        if any(is_linear(aim) for _, aim, *_ in found) and not self.confirm_linear:
            return found
        if time.perf_counter() - start + self.fallback_s > self.budget_s:
            self.fallback_skips += 1
            self.fallback_s *= 0.9  # one slow frame must not keep zbar off: try again soon
            return found
        self.fallback_runs += 1  # on a miss: codes zxing missed; on a linear read: a second opinion
        begin = time.perf_counter()
        more = self.fallback(gray)
        if self.fallback_runs > 1:  # the first call includes starting the child process
            self.fallback_s = 0.8 * self.fallback_s + 0.2 * (time.perf_counter() - begin)
        return found + more

    def close(self) -> None:
        close = getattr(self.fallback, "close", None)
        if close is not None:
            close()


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
        for text, aim, *_ in found:  # the same code from two decoders in one frame counts twice
            times[aim + text] = times.get(aim + text, 0) + 1
        for text, aim, *more in found:
            key = aim + text
            if key not in times:
                continue  # the second decoder's copy of a code already handled in this frame
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
