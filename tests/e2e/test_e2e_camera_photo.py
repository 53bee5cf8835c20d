"""A real photograph held up to the launched kiosk's camera (the camera simulator's `photo` control verb; it
letterboxes the picture into its frames) reaches the screen through the real camera driver and decoders
(issue 13)."""
from __future__ import annotations

import os
from pathlib import Path

from launched import ROOT, send

PHOTOS = Path(os.environ.get("KIOSK_PHOTO_CORPUS") or ROOT / ".venv" / "photos")


def test_a_photographed_upc_a_label_reaches_the_screen_as_upc_a_once(launch):
    kiosk = launch(KIOSK_DEVICES_CAMERA_ENABLED="true", KIOSK_DEVICES_CAMERA_FPS="10")
    # a phone photo of a real UPC-A label (tests/data/photos: "8 90444 00033 5"), not in the demo catalog
    [reply] = kiosk.send(f"photo {PHOTOS / 'zxing-benchmark' / 'android-1' / 'upca-1.jpg'}")
    assert "showing" in reply, reply
    view = kiosk.wait_ui(lambda v: "890444000335" in v["message"], 30, "the photographed code on the screen")
    assert "We do not know this barcode (890444000335)" in view["message"]  # the 12 digits of a UPC-A
    kiosk.screenshot("photographed-upc-a")
    kiosk.send("clear")
    [refused] = send(kiosk.control_port, [f"photo {PHOTOS / 'zxing-benchmark' / 'LICENSE'}"])
    assert refused.startswith("error") and "not a picture file" in refused, refused
