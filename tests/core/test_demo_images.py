"""The demo catalog's item pictures: each names an emoji that kiosk/pictures.py draws from Debian's Noto Color
Emoji font into a non-blank PNG of the grid's size; the source and licence are noted; no font, no picture."""
from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from kiosk import pictures
from kiosk.pictures import FONT, SIZE, Pictures, emoji_text, prepare

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
CATALOG = ASSETS / "demo" / "catalog.json"
ITEMS = json.loads(CATALOG.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(pictures, "_warned", set())


def test_every_demo_item_names_an_emoji_listed_with_source_and_licence():
    notes = (ASSETS / "demo" / "README.md").read_text(encoding="utf-8")
    assert "Noto Color Emoji" in notes and "SIL Open Font License 1.1" in notes and "fonts-noto-color-emoji" in notes
    for item in ITEMS:
        assert emoji_text(item.get("image", "")), f"{item['names']['en']}: {item.get('image')!r} is not emoji:<hex>"
        assert f"`{item['image']}`" in notes, f"{item['image']} is not listed in assets/demo/README.md"
    assert "fonts-noto-color-emoji" in (ROOT / "scripts" / "setup-debian.sh").read_text()
    tracked = subprocess.run(["git", "ls-files", "assets/demo"], cwd=ROOT, capture_output=True, text=True).stdout
    assert not [name for name in tracked.split() if name.endswith(".png")], "picture files committed again"


@pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} missing: `make setup` installs fonts-noto-color-emoji")
def test_every_demo_picture_renders_non_blank_at_grid_size(tmp_path):
    cache = tmp_path / "cache" / "pictures"
    found = Pictures(ASSETS, cache)
    seen = set()
    for item in ITEMS:
        path = found.path(item["image"])
        assert path, f"{item['names']['en']}: no picture"
        assert Path(path).parent == cache
        with Image.open(path) as png:
            assert png.format == "PNG" and png.size == (SIZE, SIZE)
            rgba = png.convert("RGBA")
        alpha = rgba.getchannel("A")
        drawn = sum(alpha.histogram()[128:])
        assert drawn > SIZE * SIZE // 10, f"{item['names']['en']}: only {drawn} drawn pixels"
        colours = rgba.convert("RGB").getcolors(maxcolors=SIZE * SIZE)
        assert len(colours) > 20, f"{item['names']['en']}: not a colour picture"
        seen.add(rgba.tobytes())
    assert len(seen) == len(ITEMS), "two items got the same picture"
    # drawn once: a second Pictures (another start) reuses the cached files
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    again = Pictures(ASSETS, cache)
    assert all(again.path(item["image"]) for item in ITEMS)
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == before


def test_missing_font_gives_no_picture_and_one_warning(tmp_path, caplog):
    found = Pictures(ASSETS, tmp_path / "cache", font_path=tmp_path / "no-such-font.ttf")
    with caplog.at_level(logging.WARNING, logger="kiosk.pictures"):
        assert [found.path(item["image"]) for item in ITEMS] == [""] * len(ITEMS)
        assert Pictures(ASSETS, tmp_path / "cache", font_path=tmp_path / "no-such-font.ttf").path("emoji:1F34E") == ""
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "fonts-noto-color-emoji" in warnings[0].getMessage()
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_file_pictures_and_bad_names(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    found = Pictures(tmp_path, tmp_path / "cache")
    assert found.path("a.png") == str(tmp_path / "a.png")
    assert found.path("missing.png") == "" and found.path("") == ""
    assert found.path("emoji:xyz") == "" and emoji_text("emoji:1F1E9-1F1EA") == "\U0001F1E9\U0001F1EA"


def test_the_ui_only_loads_pictures_drawn_in_the_background(tmp_path):
    if not FONT.is_file():
        pytest.skip(f"{FONT} missing: `make setup` installs fonts-noto-color-emoji")
    cache = tmp_path / "cache"
    ui = Pictures(ASSETS, cache, draw=False)
    assert ui.path("emoji:1F95B") == "" and not cache.exists()  # not drawn on the UI thread
    assert prepare(["emoji:1F95B", "emoji:1F95B", "milk.png", "emoji:1F34E"], cache) == 2
    assert prepare(["emoji:1F95B"], cache) == 0  # drawn once
    assert Path(ui.path("emoji:1F95B")).is_file()  # the miss was not remembered: found now


def test_the_backend_draws_the_demo_pictures_after_open(tmp_path):
    if not FONT.is_file():
        pytest.skip(f"{FONT} missing: `make setup` installs fonts-noto-color-emoji")
    from kiosk import config
    from kiosk.events import EventQueue
    from kiosk.pictures import cache_dir
    from launcher.backend import KioskBackend
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False).open()
    try:
        assert backend.pictures_ready.wait(60)
        images = [i for i in backend.catalog.images() if i.startswith("emoji:")]
        assert images and all(Path(Pictures(ASSETS, cache_dir(tmp_path), draw=False).path(i)).is_file()
                              for i in images)
    finally:
        backend.close()
