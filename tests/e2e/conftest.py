"""End-to-end tests of the kiosk as `make run` launches it (see launched.py). Each test gets a fresh data
directory and its own kiosk process; the X display is shared by the tests of a module."""
from __future__ import annotations

import pytest

from launched import ROOT, Display, LaunchedKiosk

ARTIFACTS = ROOT / "test-artifacts" / "e2e"


@pytest.fixture(scope="module")
def display():
    d = Display()
    yield d
    d.stop()


@pytest.fixture
def launch(display, tmp_path, request):
    """launch(**KIOSK_settings) -> a started kiosk; every kiosk started is killed at the end, with a
    screenshot of its last screen kept in test-artifacts/e2e/ when the test failed."""
    started: list[LaunchedKiosk] = []

    def start(**config: str) -> LaunchedKiosk:
        kiosk = LaunchedKiosk(display, tmp_path / "data", ARTIFACTS / request.node.name, **config)
        started.append(kiosk)
        return kiosk.start()
    yield start
    for kiosk in started:
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        if failed and kiosk.proc is not None and kiosk.proc.poll() is None:
            try:
                kiosk.screenshot("at-failure")
            except Exception:
                pass
        kiosk.kill()
        (ARTIFACTS / request.node.name).mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / request.node.name / "output.txt").write_text("\n".join(kiosk.output))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
