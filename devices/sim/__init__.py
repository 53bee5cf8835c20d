"""Byte-level simulators of the kiosk's devices; `python -m devices.sim --help` drives them by hand."""
