"""The README's "What a customer sees" is true: `make run` prints what it shows, and the console commands
it lists, run as written (with the control port the kiosk printed), do what their comments say."""
from __future__ import annotations

import re
import shlex
import subprocess

from launched import ROOT, LaunchedKiosk

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(language: str, containing: str) -> list[str]:
    for block in re.findall(rf"```{language}\n(.*?)```", README, re.S):
        if containing in block:
            return block.strip().splitlines()
    raise AssertionError(f"no ```{language} block with {containing!r} in the README")


def test_make_run_prints_what_the_readme_shows(launch):
    kiosk = launch()
    shown = _block("console", "$ make run")
    assert shown[0] == "$ make run"
    for line in shown[1:]:
        # the ports and the data folder differ from run to run
        pattern = re.escape(line)
        pattern = re.sub(r"7700", r"\\d+", pattern)
        pattern = re.sub(r"127\\\.0\\\.0\\\.1:\d+", r"127\\.0\\.0\\.1:\\d+", pattern)
        pattern = pattern.replace(re.escape("var/server"), r"\S+")
        assert any(re.fullmatch(pattern, out) for out in kiosk.output), (line, kiosk.output)


def test_readme_console_commands_do_what_they_say(launch):
    kiosk = launch()
    commands = [line for line in _block("sh", "devices.sim send") if line.strip()]
    assert len(commands) >= 6

    def run(line: str) -> str:
        words = shlex.split(line, comments=True)
        assert words[:5] == [".venv/bin/python", "-m", "devices.sim", "send", "--port"] and words[5] == "7700", line
        words[5] = str(kiosk.control_port)
        done = subprocess.run(words, cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and not done.stdout.startswith("error"), (line, done.stdout, done.stderr)
        return done.stdout

    effects = {
        "scan": lambda out: kiosk.wait_ui(lambda v: [c["name"] for c in v["cart"]] == ["Milk 1 L"], 10, "milk"),
        "ui": lambda out: _is_json_view(out),
        "payment decline": lambda out: _pay_and_expect(kiosk, "payment_failed"),
        "payment approve": lambda out: (kiosk.tap("retry_payment"),
                                        kiosk.wait_ui(lambda v: v["state"] == "receipt", 30, "the approval")),
        "paper out": lambda out: _receipt_cannot_be_printed(kiosk),
        "paper ok": lambda out: None,
        "payment ledger": lambda out: _one_charge(kiosk, out),
    }
    for line in commands:
        command = shlex.split(line, comments=True)[6]
        effect = next(effect for key, effect in effects.items() if command.startswith(key))
        effect(run(line))


def _is_json_view(out: str) -> None:
    import json
    view = json.loads(out)
    assert view["screen"] == "checkout" and view["cart"][0]["name"] == "Milk 1 L"


def _pay_and_expect(kiosk: LaunchedKiosk, state: str) -> None:
    kiosk.tap("pay")
    view = kiosk.wait_ui(lambda v: v["state"] == state, 30, state)
    assert "declined" in view["payment_message"].lower()


def _receipt_cannot_be_printed(kiosk: LaunchedKiosk) -> None:
    """With the paper out, the customer is not sent to a printer that cannot print: the receipt comes as a
    QR code (printing is not offered, or fails over to the QR code)."""
    view = kiosk.ui()
    printing = [b for b in view["buttons"] if b["tag"] == "receipt_print" and b["enabled"]]
    kiosk.tap("receipt_print" if printing else "receipt_qr_choice")
    kiosk.wait_ui(lambda v: v["state"] == "receipt_qr", 20, "the receipt as a QR code")


def _one_charge(kiosk: LaunchedKiosk, out: str) -> None:
    assert re.fullmatch(r"payment 119 receipt 1 trace \d+\n?", out), out
    kiosk.assert_books_agree()


def test_simulate_says_which_configured_drivers_it_replaces(launch):
    kiosk = launch(KIOSK_DEVICES_PAYMENT_DRIVER='"zvt-tcp"', KIOSK_DEVICES_PRINTER_DRIVER='"network"')
    assert "kiosk: --simulate: devices.payment driver 'zvt-tcp' replaced by its simulator" in kiosk.output
    assert "kiosk: --simulate: devices.printer driver 'network' replaced by its simulator" in kiosk.output
    assert not any("devices.scanner" in line for line in kiosk.output)  # already a simulator: nothing to say
