"""The camera's barcode decoders: zxing-cpp, libzbar, and the two combined with a vote (`CombinedDecoder`).

A decoder is `decode(gray) -> [(text, AIM identifier, format name, UPC-E digits, box)]`, box = (x0, y0, x1, y1)
in pixels. The combined decoder returns one entry per opinion: a linear code read by zxing-cpp and libzbar, or
read once and again by a second look at its region, comes back twice, which counts as confirmed (Confirmer).

Why the vote (measured with bench/camera.py): zxing-cpp's wrong 1D reads come almost always together with the
right read of the same label in the same frame (a few scan lines through a blurred or creased label), and the
same wrong read can repeat in the next frame, so confirmation over two frames alone lets it through. A read that
another read of the same place contradicts is dropped unless both decoders agree on it; a read by one decoder
only gets a second look (its region enlarged 2x, zxing-cpp then libzbar): the same code and nothing else there
confirms it, another code there drops it.
"""
from __future__ import annotations

import time
from typing import Callable

import cv2
import numpy as np

from devices.codes import BadCode, code_from_decoder, decode_bytes
from devices.decoder_process import ProcessDecoder

Decoded = list[tuple]
ZXING_FORMATS = "EAN13,EAN8,UPCA,UPCE,Code128,QRCode,DataMatrix,DataBar,DataBarExpanded,DataBarLimited"
ZXING_LINEAR = "EAN13,EAN8,UPCA,UPCE,Code128,DataBar,DataBarExpanded,DataBarLimited"
LINEAR_AIM = set("EFGIACe")  # AIM code characters of linear symbologies: EAN/UPC, Codabar, 93, ITF, 39, 128, DataBar
FRAME_BUDGET_S = 0.030  # zbar is skipped on a frame where zxing alone used more than half of this (CPU time)
NEAR = 0.5  # two reads are of the same place when their boxes touch, each grown by this share of its short side
ZBAR_CANNOT = {"DataBarLimited", "DataBarLtd"}  # zxing formats libzbar has no decoder for


def is_linear(aim: str) -> bool:
    return aim[1:2] in LINEAR_AIM


def _unique(found: Decoded) -> Decoded:
    """One entry per code and decoder (zxing-cpp can report one DataBar twice, as omni and stacked)."""
    seen: set[tuple[str, str]] = set()
    return [code for code in found if tuple(code[:2]) not in seen and not seen.add(tuple(code[:2]))]


def _box(points) -> tuple[int, int, int, int]:
    xs, ys = [p.x for p in points], [p.y for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def zxing_decoder(formats: str = ZXING_FORMATS, fast: bool = False) -> Callable[[np.ndarray], Decoded]:
    """`fast`: no 90° rotation, inversion or downscaling (the second look at an enlarged crop)."""
    import zxingcpp

    wanted = zxingcpp.barcode_formats_from_str(formats)
    options = {"try_rotate": False, "try_invert": False, "try_downscale": False} if fast else {}

    def decode(gray: np.ndarray) -> Decoded:
        found = zxingcpp.read_barcodes(gray, formats=wanted, text_mode=zxingcpp.TextMode.Plain, **options)
        return _unique([(b.text, b.symbology_identifier, b.format.name, (b.extra or {}).get("UPCE", ""),
                         _box((b.position.top_left, b.position.top_right, b.position.bottom_right,
                               b.position.bottom_left))) for b in found if b.valid])

    return decode


_PYZBAR_AIM = {"EAN13": "]E0", "EAN8": "]E4", "UPCA": "]E0", "UPCE": "]E0", "CODE128": "]C0", "QRCODE": "]Q1",
               "CODE39": "]A0", "I25": "]I0", "DATABAR": "]e0", "DATABAR_EXP": "]e0", "CODE93": "]G0"}
PYZBAR_LINEAR = ("EAN13", "EAN8", "UPCA", "UPCE", "CODE128", "DATABAR", "DATABAR_EXP")


def pyzbar_decoder(symbols: tuple[str, ...] | None = None, density: int = 1) -> Callable[[np.ndarray], Decoded]:
    """libzbar; `density` 3 scans every third row and column: a third of the time (p95 12 ms instead of 35 ms
    per 720p frame, one core), and on the bench's frames it read as many codes as density 1 (zbar needs two
    agreeing scan lines for EAN/UPC either way)."""
    from ctypes import c_void_p, cast

    from pyzbar import pyzbar
    from pyzbar.wrapper import (ZBarConfig, zbar_image_scanner_set_config, zbar_image_set_data,
                                zbar_image_set_format, zbar_image_set_size, zbar_scan_image)

    wanted = [pyzbar.ZBarSymbol[name] for name in symbols] if symbols else None

    def decode(gray: np.ndarray) -> Decoded:
        gray = np.ascontiguousarray(gray)
        with pyzbar._image_scanner() as scanner:
            if wanted:
                zbar_image_scanner_set_config(scanner, 0, ZBarConfig.CFG_ENABLE, 0)
                for symbol in wanted:
                    zbar_image_scanner_set_config(scanner, symbol, ZBarConfig.CFG_ENABLE, 1)
            zbar_image_scanner_set_config(scanner, 0, ZBarConfig.CFG_X_DENSITY, density)
            zbar_image_scanner_set_config(scanner, 0, ZBarConfig.CFG_Y_DENSITY, density)
            with pyzbar._image() as image:
                zbar_image_set_format(image, pyzbar._FOURCC["L800"])
                zbar_image_set_size(image, gray.shape[1], gray.shape[0])
                zbar_image_set_data(image, cast(gray.ctypes.data, c_void_p), gray.size, None)
                zbar_scan_image(scanner, image)
                found = list(pyzbar._decode_symbols(pyzbar._symbols_for_image(image)))  # before image is freed
        return _unique([(decode_bytes(r.data), _PYZBAR_AIM.get(r.type, "]X0"), r.type, "",
                         (r.rect.left, r.rect.top, r.rect.left + r.rect.width, r.rect.top + r.rect.height))
                        for r in found])

    return decode


def pyzbar_linear_decoder() -> Callable[[np.ndarray], Decoded]:
    """libzbar for linear codes only, every third scan line (the combined decoder's second decoder)."""
    return pyzbar_decoder(PYZBAR_LINEAR, density=3)


def key_of(read: tuple) -> str:
    """What two reads of one code share: the GTIN for EAN/UPC (zxing-cpp sends a UPC-A as 13 digits, libzbar as
    12), else the text."""
    text, aim, *more = read
    try:
        code = code_from_decoder(text, aim, *more[:1], extra={"UPCE": more[1]} if len(more) > 1 else None)
    except BadCode:
        return aim + text
    return code.gtin if code.category == "product" else code.text


def _near(a, b) -> bool:
    pad = NEAR * max(min(a[2] - a[0], a[3] - a[1]), min(b[2] - b[0], b[3] - b[1]), 8)
    return a[0] - pad <= b[2] and b[0] - pad <= a[2] and a[1] - pad <= b[3] and b[1] - pad <= a[3]


class CombinedDecoder:
    """zxing-cpp on every frame; libzbar (linear codes, in a child process) on the same frame unless zxing found
    only 2D codes; then the vote described in the module docstring."""

    def __init__(self, fallback_factory: str = "devices.decoding:pyzbar_linear_decoder",
                 budget_s: float = FRAME_BUDGET_S, isolate: bool = True, confirm_linear: bool = True) -> None:
        self.primary = zxing_decoder()
        self.look = zxing_decoder(ZXING_LINEAR, fast=True)
        self.budget_s = budget_s
        self.confirm_linear = confirm_linear  # False: no second opinions (confirm_linear = 1)
        if isolate:
            self.fallback: Callable[[np.ndarray], Decoded] = ProcessDecoder(fallback_factory)
        else:
            module, _, name = fallback_factory.partition(":")
            import importlib
            self.fallback = getattr(importlib.import_module(module), name)()
        self.fallback_runs = 0
        self.fallback_skips = 0
        self.second_looks = 0
        self.conflicts = 0

    def __call__(self, gray: np.ndarray) -> Decoded:
        start = time.thread_time()  # CPU time: what is decoded must not depend on the machine's load
        first = self.primary(gray)
        linear = any(is_linear(aim) for _, aim, *_ in first)
        if first and (not linear or not self.confirm_linear):
            return first
        if time.thread_time() - start > self.budget_s / 2:
            self.fallback_skips += 1
            return first
        self.fallback_runs += 1  # on a miss: codes zxing missed; on a linear read: a second opinion
        return self.vote(gray, [("zxing", r) for r in first] + [("zbar", tuple(r)) for r in self.fallback(gray)])

    def vote(self, gray: np.ndarray, reads: list[tuple[str, tuple]]) -> Decoded:
        opinions: dict[str, set[str]] = {}
        where: dict[str, list] = {}
        first: dict[str, tuple] = {}
        out: Decoded = []
        for source, read in reads:
            if not is_linear(read[1]):
                out.append(read)
                continue
            key = key_of(read)
            opinions.setdefault(key, set()).add(source)
            where.setdefault(key, []).append(read[4])
            first.setdefault(key, read)
        for key, sources in opinions.items():
            rivals = [other for other in opinions if other != key and
                      any(_near(a, b) for a in where[key] for b in where[other])]
            if len(sources) < 2 and any(len(opinions[r]) >= len(sources) for r in rivals):
                self.conflicts += 1  # another code read at the same place, by as many decoders: trust neither
                continue
            times = len(sources) if len(sources) > 1 else self._second_look(gray, key, first[key], where[key][0])
            out.extend([first[key]] * times)
        return out

    def _second_look(self, gray: np.ndarray, key: str, read: tuple, box) -> int:
        """2: the enlarged region reads as this code and nothing else; 1: reads as nothing; 0: as another code."""
        self.second_looks += 1
        x0, y0, x1, y1 = box
        pad = int(0.3 * max(x1 - x0, y1 - y0)) + 8
        crop = gray[max(0, int(y0) - pad):int(y1) + pad, max(0, int(x0) - pad):int(x1) + pad]
        if crop.size == 0:
            return 1
        big = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        looks = [self.look] if read[2] in ZBAR_CANNOT else [self.look, self.fallback]
        for look in looks:
            keys = {key_of(tuple(r)) for r in look(big) if is_linear(r[1])}
            if keys - {key}:
                self.conflicts += 1
                return 0
            if key in keys:
                return 2
        return 1

    def close(self) -> None:
        close = getattr(self.fallback, "close", None)
        if close is not None:
            close()
