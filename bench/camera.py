"""Camera decoding benchmark on a generated corpus of 1280x720 frames (EAN-13, Code 128, QR, DataMatrix with
noise, blur, rotation and glare; see devices/sim/camera.py).

Both decoders run the kiosk's own pipeline (BGR -> gray -> decode, devices.camera) pinned to one core;
pyzbar also as the kiosk runs it by default, in a child process (devices.decoder_process).
Prints name=value lines. Target: the default decoder (zxing) sustains >= 30 frames/s with >= 99 % of codes read.
Usage: python bench/camera.py [--frames 500] [--seed 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402

from devices.camera import pyzbar_decoder, zxing_decoder  # noqa: E402
from devices.decoder_process import ProcessDecoder  # noqa: E402
from devices.sim.camera import corpus  # noqa: E402


def run(decode, frames) -> tuple[float, float, dict[str, float]]:
    read, per_symbology, seen = 0, {}, {}
    start = time.perf_counter()
    for frame, text, symbology in frames:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        ok = any(found == text for found, _ in decode(gray))
        read += ok
        per_symbology[symbology] = per_symbology.get(symbology, 0) + ok
        seen[symbology] = seen.get(symbology, 0) + 1
    elapsed = time.perf_counter() - start
    return len(frames) / elapsed, read / len(frames), {s: per_symbology[s] / seen[s] for s in seen}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the issue asks
    cv2.setNumThreads(1)
    start = time.perf_counter()
    frames = corpus(args.frames, seed=args.seed)
    print(f"frames={len(frames)}")
    print(f"corpus_build_s={time.perf_counter() - start:.1f}")
    results = {}
    for name, factory in (("zxing", zxing_decoder), ("pyzbar", pyzbar_decoder)):
        fps, rate, by_symbology = run(factory(), frames)
        results[name] = fps, rate
        print(f"decode_fps_{name}={fps:.1f}")
        print(f"decode_rate_{name}={rate:.4f}")
        for symbology, value in sorted(by_symbology.items()):
            print(f"decode_rate_{name}_{symbology.replace('-', '').lower()}={value:.4f}")
    isolated = ProcessDecoder("devices.camera:pyzbar_decoder")  # how the kiosk runs pyzbar by default
    try:
        fps, rate, _ = run(isolated, frames)
    finally:
        isolated.close()
    print(f"decode_fps_pyzbar_isolated={fps:.1f}")
    print(f"decode_rate_pyzbar_isolated={rate:.4f}")
    print(f"decode_fps_ratio_zxing_over_pyzbar={results['zxing'][0] / results['pyzbar'][0]:.2f}")
    print(f"decode_rate_ratio_zxing_over_pyzbar={results['zxing'][1] / max(results['pyzbar'][1], 1e-9):.2f}")
    print(f"target_met={int(results['zxing'][0] >= 30 and results['zxing'][1] >= 0.99)}")


if __name__ == "__main__":
    main()
