"""The kiosk never opens /dev/input itself (Kivy's probesysfs), so a keyboard-wedge scanner is not read as a touch
panel and touches are not counted twice; a panel SDL does not see can still be named explicitly."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import json, sys; from screens.boot import prepare_kivy; prepare_kivy(sys.argv[1], False); "
         "from kivy.config import Config; print(json.dumps({'input': dict(Config.items('input')), "
         "'screensaver': Config.get('graphics', 'allow_screensaver')}))")


def _input_config(tmp_path: Path, **env: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env}, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_only_the_sdl_mouse_provider_and_no_screensaver(tmp_path):
    seen = _input_config(tmp_path)
    assert seen["input"] == {"mouse": "mouse,disable_multitouch"}  # Kivy's default adds %(name)s = probesysfs
    assert seen["screensaver"] == "0"


def test_an_explicit_touch_provider(tmp_path):
    seen = _input_config(tmp_path, KIOSK_TOUCH_PROVIDER="probesysfs,provider=mtdev,match=ILITEK")
    assert seen["input"]["touch"] == "probesysfs,provider=mtdev,match=ILITEK"
    assert "%(name)s" not in seen["input"]
