"""Builds the devices named in `kiosk.toml` and gives the maintenance screen a snapshot of them.

Each device section (`[devices.scanner]`, `[devices.camera]`, `[devices.printer]`,
`[devices.payment]`) names a `driver`. The builder for a section lives in the device's module and
is looked up by `BUILDERS`:

    build(settings, events, name) -> (device, simulator or None)

With `driver = "simulator"` the builder starts a byte-level simulator in-process and points the
*real* driver at it (a TCP port on 127.0.0.1), so switching between hardware and simulator is a
config change only. The simulator is returned so tools can inject events (scan, paper out...).

Reconnecting is each device's own job (see `devices.base.Device`): the manager only opens, closes
and reports.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from kiosk.config import DevicesSection
from kiosk.events import EventQueue
from kiosk.ports import PaymentJournal

from devices.base import ERROR_STATE, Device

BUILDERS: dict[str, str] = {
    "scanner": "devices.scanner:build",
    "camera": "devices.camera:build",
    "printer": "devices.printer:build",
    "payment": "devices.payment:build",  # owned by the payment engineer; same contract
}


class UnavailableDevice(Device):
    """Stands in for a device whose driver could not be built, so the kiosk still starts and the
    maintenance screen says why."""

    def __init__(self, name: str, events: EventQueue, reason: str) -> None:
        super().__init__(name, events)
        self.reason = reason

    def open(self) -> None:
        self._set_state(ERROR_STATE, self.reason)
        self.post_error(self.reason)

    def close(self, timeout: float = 5.0) -> None:
        pass


class DeviceManager:
    def __init__(self, settings: DevicesSection, events: EventQueue,
                 builders: dict[str, str | Callable[..., Any]] | None = None) -> None:
        self.events = events
        self.devices: dict[str, Device] = {}
        self.simulators: dict[str, Any] = {}
        self._control: Any = None
        self.builders = dict(builders or BUILDERS)
        for name, builder in self.builders.items():
            section = getattr(settings, name, None)
            if section is None or not getattr(section, "enabled", True):
                continue
            try:
                device, simulator = _resolve(builder)(section, events, name)
            except Exception as exc:  # a missing library or bad port must not stop the kiosk
                device, simulator = UnavailableDevice(name, events, f"cannot build {name} driver "
                                                      f"{getattr(section, 'driver', '?')!r}: {exc}"), None
            self.devices[name] = device
            if simulator is not None:
                self.simulators[name] = simulator

    def __getitem__(self, name: str) -> Device:
        return self.devices[name]

    def get(self, name: str) -> Device | None:
        return self.devices.get(name)

    def attach_journal(self, journal: PaymentJournal) -> None:
        """Give the kiosk journal to every device that declares `needs_journal` (the payment terminal)."""
        for device in self.devices.values():
            if device.needs_journal:
                device.attach(journal)

    def reconnect(self, name: str) -> None:
        """Close and open device `name` again (blocks up to its close timeout: call off the UI thread)."""
        device = self.devices[name]
        device.close()
        device.open()

    def replace(self, name: str, section: Any, journal: PaymentJournal | None = None) -> None:
        """Device `name` rebuilt from `section` (e.g. the same settings with driver "simulator"): the old
        device and its simulator are closed, the new one opened. Blocking, like `reconnect`."""
        device, simulator = _resolve(self.builders[name])(section, self.events, name)
        old = self.devices.get(name)
        if old is not None:
            old.close()
        previous = self.simulators.pop(name, None)
        if previous is not None:
            previous.stop()
        if journal is not None and device.needs_journal:
            device.attach(journal)
        self.devices[name] = device
        if simulator is not None:
            self.simulators[name] = simulator
        device.open()

    def open_all(self) -> None:
        for device in self.devices.values():
            device.open()

    def close_all(self, timeout: Callable[[], float] = lambda: 5.0) -> None:
        """`timeout()`: how long the next device may take to stop (the caller's stop budget)."""
        for device in self.devices.values():
            device.close(timeout())
        for simulator in self.simulators.values():
            simulator.stop()
        if self._control is not None:
            self._control.stop()
            self._control = None

    def start_control(self, port: int = 0) -> int:
        """Serve the simulator console's commands for the in-process simulators on 127.0.0.1:`port`
        (0 = any free port; returned), so `python -m devices.sim send --port P "scan ..."` drives the kiosk."""
        from devices.sim.console import Console, ControlServer
        if self._control is None:
            self._control = ControlServer(Console(self.simulators), port)
        return self._control.port

    def add_query(self, name: str, answer: Callable[[], str]) -> None:
        """A read-only view on the control port (e.g. "ui": what the customer sees)."""
        if self._control is not None:
            self._control.console.queries[name] = answer

    def add_command(self, name: str, run: Callable[[list[str]], str]) -> None:
        """A command on the control port that changes the kiosk itself (e.g. "clock": simulation only)."""
        if self._control is not None:
            self._control.console.commands[name] = run

    def snapshot(self) -> list[dict[str, Any]]:
        """One row per device (name, kind, state, last_error, statistics), in config order."""
        return [device.snapshot() for device in self.devices.values()]

    def __enter__(self) -> "DeviceManager":
        self.open_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()


def _resolve(builder: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(builder):
        return builder
    module, _, attr = builder.partition(":")
    return getattr(importlib.import_module(module), attr)
