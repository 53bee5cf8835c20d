"""The simulator's command line: start it, pay against it, stop it with Ctrl-C, read its ledger."""
from __future__ import annotations

import signal
import subprocess
import sys

from devices.zvt.driver import Ecr
from devices.zvt.transport import TcpTransport


def test_simulator_command_line_serves_and_prints_its_ledger():
    proc = subprocess.Popen([sys.executable, "-m", "devices.sim", "payment", "tcp", "--port", "0", "--pin-delay", "0",
                             "--busy-after", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "ZVT terminal simulator on 127.0.0.1:" in first, first + proc.stderr.read()
        port = int(first.split("127.0.0.1:")[1].split()[0])
        ecr = Ecr(TcpTransport.connect("127.0.0.1", port))
        assert ecr.register().result_code == 0
        assert ecr.pay(2500).approved
        ecr.transport.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert "ledger: payment receipt 1 trace 1 amount 2500" in out


def test_simulator_command_line_rejects_a_bad_fault():
    proc = subprocess.run([sys.executable, "-m", "devices.sim", "payment", "--fault", "explode@now"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "bad --fault 'explode@now'" in proc.stderr
