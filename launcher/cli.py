"""`kiosk [--config PATH] [--simulate]`: starts the full-screen kiosk app.

With --simulate every device is its simulator and, when the server package is installed, a local
central server runs in a child process, so a whole checkout can be tried on any machine.
A configuration error prints its message and exits with status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import faulthandler
import logging
import logging.handlers
import os
import signal
import sys
from pathlib import Path

from kiosk import config


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kiosk", description="Self-service kiosk: checkout and check-in.")
    parser.add_argument("--config", metavar="PATH", help="kiosk.toml to use (default: $KIOSK_CONFIG or ./kiosk.toml)")
    parser.add_argument("--simulate", action="store_true",
                        help="simulate every device and run a local central server")
    parser.add_argument("--windowed", action="store_true", help="a 1280x800 window instead of full screen")
    return parser.parse_args(argv)


def simulated(settings: config.Settings) -> config.Settings:
    """The same settings with every device driver switched to its simulator; each driver replaced
    is said on stderr, so a configured real device is never swapped silently."""
    devices = settings.devices
    for name in type(devices).model_fields:
        driver = getattr(devices, name).driver
        if driver != "simulator":
            print(f"kiosk: --simulate: devices.{name} driver {driver!r} replaced by its simulator",
                  file=sys.stderr, flush=True)
    update = {name: getattr(devices, name).model_copy(update={"driver": "simulator"})
              for name in type(devices).model_fields}
    return settings.model_copy(update={"devices": devices.model_copy(update=update)})


def simulator_state_in(settings: config.Settings, data_dir: Path) -> config.Settings:
    """A simulated card terminal keeps its ledger in the data directory unless told otherwise, so what it
    charged survives a restart of the kiosk, as a real terminal's does."""
    payment = settings.devices.payment
    if payment.driver != "simulator" or payment.simulator_state_file:
        return settings
    payment = payment.model_copy(update={"simulator_state_file": str(data_dir / "terminal-simulator.json")})
    return settings.model_copy(update={"devices": settings.devices.model_copy(update={"payment": payment})})


def configure_logging(data_dir: Path) -> Path:
    """INFO and up to `<data_dir>/logs/kiosk.log` (rotated; the maintenance screen shows its tail),
    warnings and up to stderr."""
    folder = data_dir / "logs"
    path = folder / "kiosk.log"
    to_stderr = logging.StreamHandler()
    to_stderr.setLevel(logging.WARNING)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
    except OSError as exc:  # a read-only or full data directory: log to stderr, start (out of service)
        logging.basicConfig(level=logging.INFO, handlers=[to_stderr], force=True)
        logging.getLogger("launcher").error("cannot write the log file %s: %s", path, exc)
        return path
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[to_file, to_stderr], force=True)
    return path


def use_cache_dir(data_dir: Path) -> None:
    """python-escpos parses its printer capability YAML (about 2 s) on every start unless told where
    to keep its parsed copy; by default it picks a new temporary folder each time."""
    folder = data_dir / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(folder))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    faulthandler.enable()  # a crash in a C library (SDL, zbar) leaves every thread's stack on stderr
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: the same, on a live kiosk
    try:
        settings = config.load(args.config)
    except config.ConfigError as exc:
        print(f"kiosk: configuration error:\n{exc}", file=sys.stderr)
        return 2
    if args.simulate:
        settings = simulated(settings)
    settings = simulator_state_in(settings, settings.data_path)
    configure_logging(settings.data_path)
    use_cache_dir(settings.data_path)
    from screens.boot import prepare_kivy
    prepare_kivy(settings.data_path, fullscreen=settings.ui.fullscreen and not args.windowed)
    from launcher.ui import run  # imports Kivy: only after prepare_kivy
    return run(settings, simulate=args.simulate)


if __name__ == "__main__":
    raise SystemExit(main())
