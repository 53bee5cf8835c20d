"""The layer rules of pyproject.toml's import-linter contracts hold, and they do catch a forbidden import
(one added to a copy of the project)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("launcher", "kiosk", "devices", "screens", "server")


def lint(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(folder)})


def test_the_layer_contracts_hold():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "5 kept, 0 broken" in done.stdout


def test_a_forbidden_import_breaks_a_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "kiosk" / "money.py").open("a") as f:
        f.write("\n\ndef _uses_a_device():\n    from devices.codes import classify  # inside a function counts too\n"
                "    return classify\n")
    done = lint(tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "kiosk is not allowed to import devices" in done.stdout and "kiosk.money -> devices.codes" in done.stdout
