"""Kivy set-up that must happen before the first `import kivy...`: environment and graphics config."""
from __future__ import annotations

import os
from pathlib import Path


def prepare_kivy(data_dir: Path, fullscreen: bool, width: int = 1280, height: int = 800) -> None:
    os.environ["KIVY_NO_ARGS"] = "1"  # our own command line, not Kivy's
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    # A Clock trigger fired from a device thread wakes the UI at once instead of at the next 60 Hz
    # tick: a scan is drawn up to 17 ms sooner. Read when kivy.clock is first imported.
    os.environ.setdefault("KIVY_CLOCK", "interrupt")
    kivy_home = Path(data_dir) / "kivy"
    kivy_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    from kivy.config import Config
    Config.set("kivy", "exit_on_escape", "0")  # lockdown: Escape never quits
    Config.set("kivy", "log_level", os.environ.get("KIOSK_KIVY_LOG_LEVEL", "warning"))
    Config.set("input", "mouse", "mouse,disable_multitouch")
    # Touches reach the app through SDL (from cage/libinput, or X11 in development). Kivy's default entry
    # `%(name)s = probesysfs` would also open /dev/input/event* itself: every touch twice, and where it selects
    # all devices (a Raspberry Pi: select_all=1) a keyboard-wedge scanner read as a touch panel.
    # KIOSK_TOUCH_PROVIDER sets one explicitly for a panel SDL does not see, e.g. "probesysfs,provider=mtdev,match=ILITEK".
    for option in Config.options("input"):
        if option != "mouse":
            Config.remove_option("input", option)
    if os.environ.get("KIOSK_TOUCH_PROVIDER"):
        Config.set("input", "touch", os.environ["KIOSK_TOUCH_PROVIDER"])
    Config.set("graphics", "allow_screensaver", "0")  # SDL keeps the display awake (idle-inhibit under cage)
    Config.set("graphics", "show_cursor", "0")  # a touchscreen kiosk shows no mouse cursor
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "maxfps", "60")
    Config.set("graphics", "multisamples", os.environ.get("KIOSK_MULTISAMPLES", "0"))  # MSAA: costly, flat UI needs none
