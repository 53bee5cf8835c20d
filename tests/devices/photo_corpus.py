"""The real-photo corpus (tests/data/photos/README.md): what each photograph shows, and the kiosk's camera
pipeline, zxing-cpp alone and libzbar alone run over it. Used by tests/devices/test_camera_photos.py and
bench/camera.py.

A photograph is shown to the kiosk's pipeline as two consecutive camera frames, as when a customer holds the
item still: the picture, then the picture with a little fresh sensor noise. The pipeline is the real one
(`Camera.decode_frame`: zxing-cpp, libzbar in its child process, the vote, linear-code confirmation,
de-duplication, classification), built as the camera's decode worker builds it."""
from __future__ import annotations

import os
import time
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
LABELS = ROOT / "tests" / "data" / "photos" / "labels.toml"
# the formats the kiosk's camera reads (devices.camera.ZXING_FORMATS); others in the corpus are counted apart
ENABLED = ("EAN-13", "UPC-A", "UPC-E", "EAN-8", "Code128", "QR", "DataMatrix", "DataBar", "DataBarExpanded",
           "DataBarLimited")


def corpus_dir() -> Path:
    return Path(os.environ.get("KIOSK_PHOTO_CORPUS") or ROOT / ".venv" / "photos")


@dataclass(frozen=True)
class Photo:
    path: Path
    symbology: str  # "none" when the picture holds no code
    expected: str  # the GTIN-13 for EAN/UPC, else the text
    also: tuple[str, ...] = ()  # other codes really in the picture: reading them is right, not counted


def photos() -> list[Photo]:
    """Every labelled photograph; FileNotFoundError naming the set-up step when the corpus is not installed."""
    base = corpus_dir()
    if not (base / "zxing-blackbox").is_dir() or not (base / "zxing-benchmark").is_dir():
        raise FileNotFoundError(f"no photo corpus in {base}: run `make setup` (scripts/photo-corpus.sh)")
    labels = tomllib.loads(LABELS.read_text())
    out = []
    for text_file in sorted((base / "zxing-blackbox").glob("qrcode-*/*.txt")):
        [picture] = [p for p in text_file.parent.glob(text_file.stem + ".*") if p.suffix in (".png", ".jpg")]
        also = tuple(labels["also"].get(f"{text_file.parent.name}/{picture.name}", ()))
        out.append(Photo(picture, "QR", text_file.read_bytes().decode("utf-8"), also))
    for name, (symbology, expected) in labels["benchmark"].items():
        out.append(Photo(base / "zxing-benchmark" / name, symbology, expected))
    return out


def key(code) -> str:
    """What must match the label: the GTIN-13 for EAN/UPC (zxing and zbar spell UPC-A differently), else text."""
    return code.gtin[-13:] if code.category == "product" else code.text


def frames(photo: Photo) -> list[np.ndarray]:
    picture = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
    if picture is None:
        raise ValueError(f"{photo.path} is not a picture OpenCV can read")
    rng = np.random.default_rng(zlib.crc32(str(photo.path.relative_to(photo.path.parents[1])).encode()))
    noisy = np.clip(picture.astype(np.int16) + rng.normal(0, 3, picture.shape).astype(np.int16), 0, 255)
    return [picture, noisy.astype(np.uint8)]


@dataclass
class Tally:
    seen: dict[str, int] = field(default_factory=dict)  # photos per format
    read: dict[str, dict[str, int]] = field(default_factory=dict)  # decoder -> format -> photos read right
    wrong: dict[str, list[str]] = field(default_factory=dict)  # decoder -> "photo: what it reported"
    ms: list[float] = field(default_factory=list)  # the pipeline's time per frame

    def rate(self, decoder: str, symbology: str) -> float:
        return self.read.get(decoder, {}).get(symbology, 0) / self.seen[symbology]


def single_decoder_keys(decode, gray) -> set[str]:
    """What a decoder alone reads, as raw as it comes: its text, with only UPC-A's 12 digits put in their
    GTIN-13 form (zxing and zbar spell UPC-A differently). None of the kiosk's checks apply here."""
    keys = set()
    for text, aim, *_ in decode(gray):
        product = aim.startswith("]E") and text.isascii() and text.isdigit() and len(text) in (12, 13)
        keys.add(text.zfill(13) if product else text)
    return keys


def run(items: list[Photo]) -> Tally:
    """The kiosk's pipeline and each decoder alone over `items`."""
    from devices.camera import Camera
    from devices.decoding import CombinedDecoder, pyzbar_decoder, zxing_decoder
    from kiosk.config import CameraSettings
    from kiosk.events import EventQueue

    zxing, zbar = zxing_decoder(), pyzbar_decoder()
    settings = CameraSettings(enabled=True)  # the kiosk's defaults: decoder "zxing+zbar", confirm_linear = 2
    project = CombinedDecoder(confirm_linear=settings.confirm_linear > 1)  # as Camera._decode_loop builds it
    tally = Tally()
    try:
        for photo in items:
            tally.seen[photo.symbology] = tally.seen.get(photo.symbology, 0) + 1
            events = EventQueue()  # a fresh camera per photograph: nothing carried over from the one before
            camera = Camera("camera", events, settings, open_capture=lambda: None)
            camera.decode = project
            alone: dict[str, set[str]] = {"zxing": set(), "zbar": set()}
            for frame in frames(photo):
                begin = time.perf_counter()
                camera.decode_frame(frame)
                tally.ms.append((time.perf_counter() - begin) * 1000)
                gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                alone["zxing"] |= single_decoder_keys(zxing, gray)
                alone["zbar"] |= single_decoder_keys(zbar, gray)
            reported = {e.data["gtin"][-13:] if e.data["category"] == "product" else e.data["code"]
                        for e in events.drain() if e.kind == "data"}
            for decoder, keys in (("project", reported), *alone.items()):
                if photo.expected in keys:
                    counts = tally.read.setdefault(decoder, {})
                    counts[photo.symbology] = counts.get(photo.symbology, 0) + 1
                for other in sorted(keys - {photo.expected, *photo.also}):
                    tally.wrong.setdefault(decoder, []).append(f"{photo.path.parent.name}/{photo.path.name}: {other!r}")
    finally:
        project.close()
    return tally
