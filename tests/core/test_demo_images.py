"""The demo catalog's item pictures: each one exists, is small, and has its source and licence noted."""
from __future__ import annotations

import json
import re
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CATALOG = ASSETS / "demo" / "catalog.json"


def test_every_demo_item_has_a_picture_with_a_licence_entry():
    items = json.loads(CATALOG.read_text(encoding="utf-8"))
    licences: dict[Path, str] = {}
    for item in items:
        assert item.get("image"), f"{item['names']['en']} has no picture"
        picture = ASSETS / item["image"]
        assert picture.is_file(), f"{item['names']['en']}: {item['image']} is missing"
        notes = picture.parent / "LICENSES.md"
        assert notes.is_file(), f"no LICENSES.md beside {item['image']}"
        licences.setdefault(notes, notes.read_text(encoding="utf-8"))
        row = [line for line in licences[notes].splitlines() if line.startswith(f"| `{picture.name}` |")]
        assert row, f"{picture.name} is not listed in {notes.relative_to(ASSETS)}"
        assert re.search(r"\*\*Licence:\*\* \S", licences[notes]) and re.search(r"\*\*Source:\*\* \S", licences[notes])
        assert re.search(r"\*\*Author:\*\* \S", licences[notes])
    total = sum((ASSETS / item["image"]).stat().st_size for item in items)
    assert total < 1_000_000, f"demo pictures take {total} bytes"
