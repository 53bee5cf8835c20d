"""Camera decoding on real photographs (tests/data/photos/README.md; `make setup` installs them): the kiosk's
pipeline (Camera.decode_frame, each photograph as two frames) against zxing-cpp alone and libzbar alone.
bench/camera.py runs this after its generated frames; alone:

    .venv/bin/python bench/camera_photos.py

    photos=, photos_<fmt>=                       photographs in the corpus (per format)
    decode_rate_project_photo_<fmt>=             read right by the kiosk's pipeline
    decode_rate_zxing_photo_<fmt>=, decode_rate_zbar_photo_<fmt>=   read right by a decoder alone
    wrong_reads_photo=, wrong_reads_zxing_photo=, wrong_reads_zbar_photo=   codes reported that are not there
    decode_ms_p50_photo=, decode_ms_p95_photo=   the pipeline's time per frame (the photos are 65x65 to 640x480)
Formats the kiosk does not read (Code 39, ITF, PDF417 are in the corpus) are listed, not rated.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "devices")]

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from photo_corpus import ENABLED, photos, run  # noqa: E402


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    cv2.setNumThreads(1)
    items = photos()
    tally = run(items)
    print(f"photos={len(items)}")
    for fmt in sorted(tally.seen):
        name = fmt.replace("-", "").lower()
        print(f"photos_{name}={tally.seen[fmt]}")
        if fmt in ENABLED:
            for decoder in ("project", "zxing", "zbar"):
                print(f"decode_rate_{decoder}_photo_{name}={tally.rate(decoder, fmt):.4f}")
    print("photo_formats_not_read_by_the_kiosk=" + ",".join(sorted(f for f in tally.seen
                                                                    if f not in ENABLED and f != "none")))
    for decoder, suffix in (("project", ""), ("zxing", "_zxing"), ("zbar", "_zbar")):
        print(f"wrong_reads{suffix}_photo={len(tally.wrong.get(decoder, []))}")
    for line in tally.wrong.get("project", []):
        print(f"# wrong read by the project: {line}", file=sys.stderr)
    ms = np.array(tally.ms)
    print(f"decode_ms_p50_photo={np.percentile(ms, 50):.1f}")
    print(f"decode_ms_p95_photo={np.percentile(ms, 95):.1f}")


if __name__ == "__main__":
    main()
