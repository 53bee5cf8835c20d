"""A virtual camera: barcodes (EAN-13, Code 128, QR, DataMatrix) rendered into 1280x720 frames with
noise, blur, rotation and glare; or a folder of images / a video file played back (letterboxed: the
aspect ratio is kept).

It has the `read() -> (ok, frame)` / `release()` interface of `cv2.VideoCapture`, so the camera
driver uses it exactly like a real camera.

    cam = VirtualCamera()                 # an empty scene
    cam.show("4006381333931", "EAN-13")   # the code stays in view until clear()
    cam.stall(True)                       # delivers no frames, like a hung USB camera
    cam.unplug(); cam.replug()            # opening fails while unplugged
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from devices.codes import check_digit

WIDTH, HEIGHT = 1280, 720
SYMBOLOGIES = ("EAN-13", "Code128", "QR", "DataMatrix")  # the default corpus
MORE_SYMBOLOGIES = ("UPC-A", "UPC-E", "EAN-8", "DataBar", "DataBarExpanded", "DataBarLimited")
_F = zxingcpp.BarcodeFormat
_FORMAT = {"EAN-13": _F.EAN13, "Code128": _F.Code128, "QR": _F.QRCode, "DataMatrix": _F.DataMatrix,
           "UPC-A": _F.UPCA, "UPC-E": _F.UPCE, "EAN-8": _F.EAN8, "DataBar": _F.DataBar,
           "DataBarExpanded": getattr(_F, "DataBarExpanded", getattr(_F, "DataBarExp", None)),
           "DataBarLimited": getattr(_F, "DataBarLimited", getattr(_F, "DataBarLtd", None))}
_SCALE = {"EAN-13": 4, "Code128": 3, "QR": 6, "DataMatrix": 8, "UPC-A": 4, "UPC-E": 4, "EAN-8": 4,
          "DataBar": 4, "DataBarExpanded": 3, "DataBarLimited": 4}  # pixels per module
LINEAR = {"EAN-13", "Code128", "UPC-A", "UPC-E", "EAN-8", "DataBar", "DataBarExpanded", "DataBarLimited"}


@dataclass(frozen=True)
class Distortion:
    noise: float = 0.0  # standard deviation of Gaussian pixel noise (0-255 scale)
    blur: float = 0.0  # Gaussian blur sigma in pixels
    rotation: float = 0.0  # degrees
    glare: float = 0.0  # 0..1 strength of a bright spot near the code
    scale: float = 1.0  # relative size

    @classmethod
    def random(cls, rng: random.Random) -> "Distortion":
        return cls(noise=rng.uniform(0, 12), blur=rng.choice([0, 0, rng.uniform(0.5, 1.2)]),
                   rotation=rng.uniform(-25, 25), glare=rng.choice([0, 0, rng.uniform(0.2, 0.5)]),
                   scale=rng.uniform(0.85, 1.3))

    def for_symbology(self, symbology: str) -> "Distortion":
        """Linear codes are read along scan lines: held within ±12° like at a real scan window."""
        if symbology in LINEAR:
            return Distortion(self.noise, self.blur, max(-12.0, min(12.0, self.rotation * 12 / 25)), self.glare,
                              self.scale)
        return self


def random_code(symbology: str, rng: random.Random) -> str:
    if symbology == "EAN-13":
        body = "".join(rng.choice("0123456789") for _ in range(12))
        return body + str(check_digit(body))
    if symbology == "Code128":
        return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-") for _ in range(rng.randint(6, 14)))
    if symbology in ("UPC-A", "EAN-8", "UPC-E"):
        body = ("0" if symbology == "UPC-E" else "") + "".join(
            rng.choice("0123456789") for _ in range({"UPC-A": 11, "EAN-8": 7, "UPC-E": 6}[symbology]))
        if symbology == "UPC-E":  # the check digit is that of the UPC-A expansion
            from devices.codes import upce_to_upca
            code = body + str(check_digit(upce_to_upca(body + "0")[:-1]))
            try:  # not every 6 digits are a UPC-E zero suppression zint/zxing accepts
                zxingcpp.create_barcode(code[:-1], _FORMAT["UPC-E"])
            except ValueError:
                return random_code(symbology, rng)
            return code
        return body + str(check_digit(body))
    if symbology in ("DataBar", "DataBarLimited"):
        gtin = ("0" if symbology == "DataBarLimited" else str(rng.randrange(10))) + "".join(
            rng.choice("0123456789") for _ in range(12))
        return f"01{gtin}{check_digit(gtin)}"
    if symbology == "DataBarExpanded":  # a weighed item: GTIN, net weight in kg (3103) and best before (15)
        gtin = "9" + "".join(rng.choice("0123456789") for _ in range(12))
        return f"01{gtin}{check_digit(gtin)}3103{rng.randrange(10**6):06d}15{rng.randrange(24, 30)}1231"
    if symbology == "QR":
        return rng.choice([f"BK-{rng.randrange(16**6):06X}", f"https://shop.example/r/{rng.randrange(10**9)}",
                           "Grüße aus Köln " + str(rng.randrange(1000))])
    gtin = "".join(rng.choice("0123456789") for _ in range(13))
    return f"01{gtin}{check_digit(gtin)}10LOT{rng.randrange(10**5)}"


def code_image(text: str, symbology: str) -> np.ndarray:
    """The code as a black-on-white grayscale image, quiet zones included."""
    scale = _SCALE[symbology]
    content = text[:-1] if symbology in ("UPC-A", "EAN-8", "UPC-E") else text  # zxing adds the check digit
    if symbology == "DataBarExpanded":  # zxing-cpp encodes GS1 element strings given as "(01)...(15)..."
        import biip
        content = biip.parse(text).gs1_message.as_hri()
    img = np.asarray(zxingcpp.create_barcode(content, _FORMAT[symbology]).to_image(scale=scale))
    if img.ndim == 3:
        img = img[:, :, 0]
    if symbology in LINEAR and not symbology.startswith("DataBar") and img.shape[0] < 50 * scale:
        img = cv2.resize(img, (img.shape[1], 55 * scale), interpolation=cv2.INTER_NEAREST)
    return img


def background(rng: random.Random) -> np.ndarray:
    """A plausible scene: a smooth colour gradient (a counter top under a lamp)."""
    base = np.array([rng.randint(60, 160) for _ in range(3)], dtype=np.float32)
    ramp = np.linspace(-30, 30, WIDTH, dtype=np.float32)[None, :, None]
    frame = np.clip(base[None, None, :] + ramp + np.zeros((HEIGHT, 1, 1), np.float32), 0, 255)
    return frame.astype(np.uint8)


def render(codes: list[tuple[str, str]], distortion: Distortion = Distortion(), seed: int = 0,
           scene: np.ndarray | None = None) -> np.ndarray:
    """A 1280x720 BGR frame showing `codes` [(text, symbology)] on white labels."""
    rng = random.Random(seed)
    frame = (scene if scene is not None else background(rng)).copy()
    slots = len(codes)
    for i, (text, symbology) in enumerate(codes):
        img = code_image(text, symbology)
        if distortion.scale != 1.0:
            img = cv2.resize(img, None, fx=distortion.scale, fy=distortion.scale, interpolation=cv2.INTER_LINEAR)
        label = cv2.copyMakeBorder(img, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
        _paste_rotated(frame, label, distortion.rotation, rng, slot=(i, slots))
    if distortion.glare:
        _glare(frame, distortion.glare, rng)
    if distortion.blur:
        frame = cv2.GaussianBlur(frame, (0, 0), distortion.blur)
    if distortion.noise:
        cv2.setRNGSeed(seed)
        noise = np.empty(frame.shape, np.int16)
        cv2.randn(noise, 0, distortion.noise)
        frame = cv2.add(frame, noise, dtype=cv2.CV_8U)
    return frame


def _paste_rotated(frame: np.ndarray, label: np.ndarray, angle: float, rng: random.Random,
                   slot: tuple[int, int]) -> None:
    h, w = label.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(rot[0, 0]), abs(rot[0, 1])
    bw, bh = int(h * sin + w * cos), int(h * cos + w * sin)
    rot[0, 2] += bw / 2 - w / 2
    rot[1, 2] += bh / 2 - h / 2
    rotated = cv2.warpAffine(label, rot, (bw, bh), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpAffine(np.full_like(label, 255), rot, (bw, bh), flags=cv2.INTER_LINEAR, borderValue=0)
    index, count = slot
    lane = WIDTH // count
    x_room, y_room = max(0, lane - bw), max(0, HEIGHT - bh)
    x = index * lane + rng.randint(0, x_room)
    y = rng.randint(0, y_room)
    bw, bh = min(bw, WIDTH - x), min(bh, HEIGHT - y)
    alpha = (mask[:bh, :bw, None].astype(np.float32)) / 255.0
    region = frame[y:y + bh, x:x + bw].astype(np.float32)
    frame[y:y + bh, x:x + bw] = (region * (1 - alpha) + rotated[:bh, :bw, None] * alpha).astype(np.uint8)


def _glare(frame: np.ndarray, strength: float, rng: random.Random) -> None:
    radius = rng.randint(80, 200)
    size = 3 * radius
    cx, cy = rng.randint(0, WIDTH - size), rng.randint(0, HEIGHT - size)
    yy, xx = np.ogrid[:size, :size]
    spot = np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (2.0 * radius ** 2)) * 255 * strength
    spot = cv2.merge([spot.astype(np.uint8)] * 3)
    roi = frame[cy:cy + size, cx:cx + size]
    roi[:] = cv2.add(roi, spot)  # saturating


DEGRADATIONS = ("blur", "motion", "perspective", "noise", "jpeg", "low_contrast", "damage")


def degrade(frame: np.ndarray, kind: str, rng: random.Random) -> np.ndarray:
    """A camera effect on a rendered frame: defocus `blur`, `motion` blur, `perspective` (a label seen at
    an angle), sensor `noise`, `jpeg` compression (USB cameras send MJPEG), `low_contrast` (dim light,
    thermal paper) or `damage` (scratches and a crease across the label: the kind that causes wrong reads)."""
    if kind == "blur":
        return cv2.GaussianBlur(frame, (0, 0), rng.uniform(1.2, 2.2))
    if kind == "motion":
        length = rng.randint(5, 11)
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (length, length))
        return cv2.filter2D(frame, -1, kernel / max(kernel.sum(), 1e-6))
    if kind == "perspective":
        h, w = frame.shape[:2]
        d = [rng.uniform(0.02, 0.12) for _ in range(8)]
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = np.float32([[w * d[0], h * d[1]], [w * (1 - d[2]), h * d[3]], [w * (1 - d[4]), h * (1 - d[5])],
                          [w * d[6], h * (1 - d[7])]])
        return cv2.warpPerspective(frame, cv2.getPerspectiveTransform(src, dst), (w, h),
                                   borderMode=cv2.BORDER_REPLICATE)
    if kind == "noise":
        noise = np.empty(frame.shape, np.int16)
        cv2.randn(noise, 0, rng.uniform(14, 24))
        return cv2.add(frame, noise, dtype=cv2.CV_8U)
    if kind == "jpeg":
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(12, 30)])
        return cv2.imdecode(data, cv2.IMREAD_COLOR)
    if kind == "low_contrast":
        factor = rng.uniform(0.18, 0.3)
        return cv2.convertScaleAbs(frame, alpha=factor, beta=rng.uniform(60, 140))
    if kind == "damage":
        out = frame.copy()
        h, w = out.shape[:2]
        for _ in range(rng.randint(2, 4)):  # scratches: thin bright or dark lines across the middle
            y = rng.randint(h // 4, 3 * h // 4)
            colour = (255, 255, 255) if rng.random() < 0.6 else (30, 30, 30)
            cv2.line(out, (0, y + rng.randint(-40, 40)), (w, y + rng.randint(-40, 40)), colour, rng.randint(2, 5))
        x = rng.randint(w // 4, 3 * w // 4)  # a crease: a bright vertical streak
        cv2.line(out, (x, 0), (x + rng.randint(-30, 30), h), (235, 235, 235), rng.randint(2, 4))
        return out
    raise ValueError(f"unknown degradation {kind!r}; known: {', '.join(DEGRADATIONS)}")


def corpus(count: int, seed: int = 1) -> list[tuple[np.ndarray, str, str]]:
    """`count` frames (frame, text, symbology) cycling through the symbologies, randomly distorted."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        symbology = SYMBOLOGIES[i % len(SYMBOLOGIES)]
        text = random_code(symbology, rng)
        distortion = Distortion.random(rng).for_symbology(symbology)
        items.append((render([(text, symbology)], distortion, seed=seed * 100003 + i), text, symbology))
    return items


class VirtualCamera:
    """A `cv2.VideoCapture` look-alike; `read()` paces itself to `fps`."""

    def __init__(self, fps: float = 30.0, folder: str | None = None, seed: int = 0) -> None:
        self.fps = fps
        self.seed = seed
        self.plugged = True
        self._stalled = False
        self._codes: list[tuple[str, str]] = []
        self._distortion = Distortion()
        self._frame: np.ndarray | None = None
        self._lock = threading.Lock()
        self._next = 0.0
        self._playlist = _playlist(folder) if folder else None
        self._video: cv2.VideoCapture | None = None
        self._scene = background(random.Random(seed))

    # -- injection ----------------------------------------------------------------------------

    def show(self, text: str, symbology: str = "QR", distortion: Distortion = Distortion()) -> None:
        if symbology not in _FORMAT:
            raise ValueError(f"the virtual camera renders {', '.join(SYMBOLOGIES)}, not {symbology!r}")
        code_image(text, symbology)  # raises now, for content the symbology cannot hold, not in read()
        with self._lock:
            self._codes, self._distortion, self._frame = [(text, symbology)], distortion, None

    def hold_picture(self, path: str) -> None:
        """A photograph (any picture file) held in front of the camera, letterboxed, until `clear`."""
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path} is not a picture file OpenCV can read")
        with self._lock:
            self._codes, self._frame = [], letterbox(image)

    def clear(self) -> None:
        with self._lock:
            self._codes, self._frame = [], None

    def stall(self, stalled: bool = True) -> None:
        self._stalled = stalled

    def unplug(self) -> None:
        self.plugged = False

    def replug(self) -> None:
        self.plugged = True

    # -- the cv2.VideoCapture interface -------------------------------------------------------

    def isOpened(self) -> bool:  # noqa: N802 (cv2's name)
        return self.plugged

    def read(self) -> tuple[bool, np.ndarray | None]:
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + 1.0 / self.fps
        if not self.plugged or self._stalled:
            return False, None
        if self._playlist is not None:
            return self._play()
        with self._lock:
            if self._frame is None:
                self._frame = render(self._codes, self._distortion, self.seed, self._scene)
            return True, self._frame

    def release(self) -> None:
        if self._video is not None:
            self._video.release()
            self._video = None

    def stop(self) -> None:  # the device manager stops simulators
        self.release()

    def _play(self) -> tuple[bool, np.ndarray | None]:
        while True:
            if self._video is not None:
                ok, frame = self._video.read()
                if ok:
                    return True, letterbox(frame)
                self._video.release()
                self._video = None
            path = self._playlist.pop(0)
            self._playlist.append(path)
            if path.suffix.lower() in (".mp4", ".avi", ".mkv", ".mov", ".webm"):
                self._video = cv2.VideoCapture(str(path))
                continue
            frame = cv2.imread(str(path))
            if frame is not None:
                return True, letterbox(frame)


def letterbox(image: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """`image` scaled to fit width x height with its aspect ratio kept, centred on black bars: a photo of
    a barcode played back must not have its bars stretched (that changes module widths)."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    out[y:y + new_h, x:x + new_w] = scaled[:, :, :3]
    return out


def _playlist(folder: str) -> list[Path]:
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in
                   (".png", ".jpg", ".jpeg", ".bmp", ".mp4", ".avi", ".mkv", ".mov", ".webm"))
    if not files:
        raise FileNotFoundError(f"no images or videos in {folder}")
    return files
