"""The console tests use the server harness (tests/server/kserver_harness.py) and their own (console_harness)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
