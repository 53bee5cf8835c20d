"""Item pictures: a catalog item's `image` names a file under assets/ or an emoji, `emoji:<code points>`
in hex joined by `-` (e.g. `emoji:1F95B` for a glass of milk). Emoji are drawn from the Noto Color Emoji
font (Google, SIL Open Font License 1.1) that Debian's package fonts-noto-color-emoji installs, into
PNGs in a cache folder (`<data_dir>/cache/pictures/`), made once each. No Kivy here (Pillow only).

Without the font an emoji item has no picture, as an item whose file is missing, and one warning is logged."""
from __future__ import annotations

import logging
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")  # Debian: fonts-noto-color-emoji
FONT_SIZE = 109  # the one bitmap size (strike) the colour font has
SIZE = 96  # px, the picture grid's and the cart's picture size
SCHEME = "emoji:"
_CODES = re.compile(r"^[0-9A-Fa-f]{2,6}(-[0-9A-Fa-f]{2,6})*$")
_warned: set[str] = set()


def emoji_text(image: str) -> str | None:
    """The characters an `emoji:…` name stands for; None when `image` is not one (or malformed)."""
    if not image.startswith(SCHEME) or not _CODES.match(image[len(SCHEME):]):
        return None
    try:
        return "".join(chr(int(code, 16)) for code in image[len(SCHEME):].split("-"))
    except (ValueError, OverflowError):
        return None


def _warn_once(key: str, message: str, *args) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


@lru_cache(maxsize=4)
def _font(path: str):
    from PIL import ImageFont
    return ImageFont.truetype(path, FONT_SIZE)  # about 10 MB: loaded once


def render_emoji(text: str, out: Path, size: int = SIZE, font_path: Path | str = FONT) -> bool:
    """Draws `text` in the colour emoji font, trimmed, centred on a transparent square of `size` px, into
    `out` (written atomically). False, with one warning per font, when the font cannot be loaded."""
    from PIL import Image, ImageDraw
    try:
        font = _font(str(font_path))
    except OSError as exc:
        _warn_once(str(font_path), "item pictures: emoji font %s not usable (%s): install Debian's "
                   "fonts-noto-color-emoji; items are shown without pictures", font_path, exc)
        return False
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, embedded_color=True)
    canvas = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((-left, -top), text, font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()
    if box is None:
        _warn_once(f"{font_path}:{text}", "item pictures: the emoji font draws nothing for %r", text)
        return False
    canvas = canvas.crop(box)
    side = max(canvas.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(canvas, ((side - canvas.width) // 2, (side - canvas.height) // 2))
    square = square.resize((size, size), Image.LANCZOS)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            square.save(f, format="PNG")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def cached_path(cache: Path, image: str, size: int = SIZE) -> Path:
    """The cache file of the emoji picture `image` (an `emoji:…` name)."""
    return cache / ("emoji_u" + image[len(SCHEME):].lower().replace("-", "_") + f"_{size}.png")


def prepare(images: Iterable[str], cache: Path, size: int = SIZE, font_path: Path | str = FONT) -> int:
    """Draws into `cache` every emoji picture of `images` not there yet; returns how many it drew.
    Safe beside a `Pictures` reading the same cache (files are written atomically)."""
    drawn = 0
    for image in dict.fromkeys(images):
        text, out = emoji_text(image), cached_path(cache, image, size)
        if text is not None and not out.is_file():
            drawn += render_emoji(text, out, size, font_path)
    return drawn


def cache_dir(data_path: Path | str) -> Path:
    """Where the drawn emoji pictures of a kiosk with this data folder are kept."""
    return Path(data_path) / "cache" / "pictures"


class Pictures:
    """Resolves an item's `image` to a PNG path to show, or "" for no picture.

    `draw=False` (the UI thread): an emoji picture not in the cache yet is not drawn (about 120 ms
    each) but shown as no picture for now, and looked up again next time; `prepare()` draws them,
    on a background thread at start (launcher/backend.py)."""

    def __init__(self, assets: Path, cache: Path, size: int = SIZE, font_path: Path | str = FONT,
                 draw: bool = True):
        self.assets, self.cache, self.size, self.font_path = Path(assets), Path(cache), size, Path(font_path)
        self.draw = draw
        self._known: dict[str, str] = {}

    def path(self, image: str) -> str:
        if not image:
            return ""
        if image not in self._known:
            found = self._resolve(image)
            if found or self.draw or not image.startswith(SCHEME):
                self._known[image] = found
            return found
        return self._known[image]

    def _cached(self, image: str) -> Path:
        return cached_path(self.cache, image, self.size)

    def _resolve(self, image: str) -> str:
        text = emoji_text(image)
        if text is None:
            if image.startswith(SCHEME):
                _warn_once(image, "item pictures: %r is not emoji:<hex code points joined by ->", image)
                return ""
            path = self.assets / image
            return str(path) if path.is_file() else ""
        out = self._cached(image)
        if out.is_file():
            return str(out)
        return str(out) if self.draw and render_emoji(text, out, self.size, self.font_path) else ""
