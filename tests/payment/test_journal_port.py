"""Issue 12: the payment device uses the journal only through the declared kiosk.ports.PaymentJournal, and
the device manager attaches the journal to devices that declare `needs_journal` (no hasattr probing)."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import SimpleNamespace

import devices.payment
import devices.zvt.reconcile
from devices.base import Device
from devices.manager import DeviceManager
from kiosk.events import EventQueue
from kiosk.journal import Journal
from kiosk.ports import PaymentJournal

ROOT = Path(__file__).resolve().parents[2]


def _journal_calls(module) -> set[str]:
    """Names X in `journal.X` / `self.journal.X` in a module's source."""
    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Attribute):
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "journal") or \
                    (isinstance(owner, ast.Attribute) and owner.attr == "journal"):
                names.add(node.attr)
    return names


def _protocol_methods() -> set[str]:
    return {name for name, value in vars(PaymentJournal).items()
            if callable(value) and not name.startswith("_")}


def test_the_protocol_is_exactly_what_the_payment_device_uses():
    used = _journal_calls(devices.payment) | _journal_calls(devices.zvt.reconcile)
    assert used == _protocol_methods()


def test_the_journal_satisfies_the_protocol_with_the_same_signatures():
    assert issubclass(Journal, PaymentJournal)
    for name in _protocol_methods():
        declared = inspect.signature(getattr(PaymentJournal, name))
        real = inspect.signature(getattr(Journal, name))
        assert list(declared.parameters) == list(real.parameters), name


def test_no_probing_of_the_journal_or_devices():
    for path in ("devices/payment.py", "devices/zvt/reconcile.py", "devices/manager.py", "launcher/backend.py"):
        text = (ROOT / path).read_text(encoding="utf-8")
        assert 'hasattr(device, "attach")' not in text and 'hasattr(payment, "attach")' not in text, path
        assert 'getattr(self.journal' not in text, path


class _Plain(Device):
    kind = "scanner"

    def open(self) -> None:
        pass

    def close(self, timeout: float = 5.0) -> None:
        pass


class _NeedsJournal(_Plain):
    kind = "payment"
    needs_journal = True

    def attach(self, journal) -> None:
        self.journal = journal


def test_the_manager_attaches_the_journal_only_to_devices_that_need_it():
    events = EventQueue()
    builders = {"scanner": lambda section, ev, name: (_Plain(name, ev), None),
                "payment": lambda section, ev, name: (_NeedsJournal(name, ev), None)}
    settings = SimpleNamespace(scanner=SimpleNamespace(enabled=True), payment=SimpleNamespace(enabled=True))
    manager = DeviceManager(settings, events, builders)
    journal = object()
    manager.attach_journal(journal)
    assert manager["payment"].journal is journal and not hasattr(manager["scanner"], "journal")
    manager.replace("payment", settings.payment, journal)
    manager.replace("scanner", settings.scanner, journal)  # a device without needs_journal: not attached
    assert manager["payment"].journal is journal and not hasattr(manager["scanner"], "journal")
    assert Device.needs_journal is False and devices.payment.PaymentTerminal.needs_journal is True
