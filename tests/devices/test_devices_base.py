"""The device contract: states, events, reconnect with capped backoff. Pure unit tests (a fake transport)."""
import threading

from devices.base import BUSY, CLOSED, IDLE, OFFLINE, Device, DeviceError, wait_until
from devices.manager import DeviceManager
from kiosk.config import DevicesSection
from kiosk.events import ERROR, STATUS, EventQueue


class FlakyDevice(Device):
    """Connects only while `plugged` is set; `_serve` ends with an error when unplugged."""

    def __init__(self, events):
        super().__init__("flaky", events)
        self.plugged = threading.Event()

    def _connect(self):
        if not self.plugged.is_set():
            raise DeviceError("no such device")

    def _serve(self):
        while not self.stopping.wait(0.01):
            if not self.plugged.is_set():
                raise DeviceError("unplugged")

    def _check(self, level):
        return f"fine ({level})"


def statuses(queue):
    return [(e.data["state"]) for e in queue.drain() if e.kind == STATUS]


def test_unplug_replug_goes_offline_then_idle():
    events = EventQueue()
    dev = FlakyDevice(events)
    dev.open()
    assert dev.state == OFFLINE
    assert wait_until(lambda: "no such device" in dev.last_error, 5)
    dev.plugged.set()
    assert wait_until(lambda: dev.state == IDLE, 5)
    assert dev.health_check() == (True, "fine (internal)")
    dev.plugged.clear()
    assert wait_until(lambda: dev.state == OFFLINE, 5)
    assert "unplugged" in dev.last_error
    dev.plugged.set()
    assert wait_until(lambda: dev.state == IDLE, 5)
    dev.close()
    assert dev.state == CLOSED
    seen = [e for e in events.drain()]
    states = [e.data["state"] for e in seen if e.kind == STATUS]
    states = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]  # error text updates repeat a state
    assert states == [OFFLINE, IDLE, OFFLINE, IDLE, CLOSED]
    errors = [e.data["message"] for e in seen if e.kind == ERROR]
    assert any("cannot connect: no such device" in m for m in errors)
    assert any("connection lost: unplugged" in m for m in errors)
    assert all(e.source == "flaky" for e in seen)
    assert dev.statistics["reconnects"] >= 1


def test_health_check_of_offline_or_unknown_level_reports_not_ok():
    dev = FlakyDevice(EventQueue())
    ok, text = dev.health_check()
    assert not ok and "closed" in text
    ok, text = dev.health_check("loud")
    assert not ok and "unknown health check level" in text


def test_busy_state_clears_error_and_posts_status():
    events = EventQueue()
    dev = FlakyDevice(events)
    dev._set_state(BUSY)
    dev._set_state(BUSY)  # no duplicate event
    assert statuses(events) == [BUSY]


def test_manager_builds_named_devices_and_reports_unbuildable_ones():
    events = EventQueue()

    def build_ok(section, events, name):
        dev = FlakyDevice(events)
        dev.name = name
        dev.plugged.set()
        return dev, None

    def build_broken(section, events, name):
        raise OSError("libfoo missing")

    settings = DevicesSection.model_validate({"camera": {"enabled": False}})
    manager = DeviceManager(settings, events, {"scanner": build_ok, "printer": build_broken, "camera": build_ok})
    assert list(manager.devices) == ["scanner", "printer"]  # camera disabled
    with manager:
        assert wait_until(lambda: manager["scanner"].state == IDLE, 5)
        rows = {row["name"]: row for row in manager.snapshot()}
        assert rows["printer"]["state"] == "error"
        assert "libfoo missing" in rows["printer"]["last_error"]
    assert manager["scanner"].state == CLOSED


def test_release_quietly_runs_every_action_whatever_fails():
    from devices.base import release_quietly
    done = []

    def broken():
        raise OSError("the port is gone")
    release_quietly(broken, lambda: done.append("close"))
    assert done == ["close"]
