"""Starts the kiosk: `python main.py [--config PATH] [--simulate]` (same as the `kiosk` command)."""
from launcher.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
