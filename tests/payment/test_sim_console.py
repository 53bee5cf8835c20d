"""`python -m devices.sim payment …` starts the ZVT terminal simulator as a process the real driver pays at."""
import re
import subprocess
import sys
from pathlib import Path

from devices.zvt.driver import Ecr
from devices.zvt.transport import TcpTransport

ROOT = Path(__file__).resolve().parents[2]


def test_console_starts_a_declining_terminal_that_the_driver_reaches():
    proc = subprocess.Popen([sys.executable, "-m", "devices.sim", "payment", "tcp", "--port", "0", "--decline", "05",
                             "--pin-delay", "0", "--busy-after", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        transport = TcpTransport.connect("127.0.0.1", port)
        try:
            ecr = Ecr(transport, first_answer_timeout=10, step_timeout=10)
            assert ecr.register().result_code == 0
            outcome = ecr.pay(500)
        finally:
            transport.close()
        assert not outcome.approved and outcome.result_code == 0x05
    finally:
        proc.terminate()
        proc.wait(timeout=10)
