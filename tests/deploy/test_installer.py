"""The installer (deploy/kiosk_setup.py) as a technician runs it, twice, into a temporary root (as root, no
systemd running): the user, the release venv with its `current` link, units, udev rules and config appear, the
second run changes nothing, `systemd-analyze verify` accepts every unit and `udevadm test` parses the rules."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "deploy" / "kiosk_setup.py"
PYTHON = sys.executable
UNITS = ["kiosk.service", "kiosk-update.service", "kiosk-update.timer", "kiosk-server.service"]
ARGS = ["--role", "both", "--kiosk-id", "shop1-k1", "--server-url", "https://central.example.com",
        "--scanner", "0c2e:0b61", "--terminal", "0403:6001", "--rotate", "90", "--pip-option=--no-deps"]

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([PYTHON, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)], check=True,
                   timeout=300)
    [built] = out.glob("selfservice_kiosk-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel):
    """A root with the host's account files (what useradd --root edits) and systemd's own units (what
    `systemd-analyze verify --root` resolves dependencies against), installed into twice."""
    root = tmp_path_factory.mktemp("root")
    (root / "etc").mkdir()
    shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        if Path("/etc", name).exists():
            shutil.copy2(Path("/etc", name), root / "etc" / name)
    first = _setup(root, wheel)
    before = snapshot(root)
    second = _setup(root, wheel)
    return root, first, second, before, snapshot(root)


def _setup(root: Path, wheel: Path) -> str:
    done = subprocess.run([PYTHON, str(SETUP), "--root", str(root), "--wheel", str(wheel), *ARGS],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file, directory and link under root: type, mode, owner, mtime and content hash."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            st = path.lstat()
            if path.is_symlink():
                seen[str(path)] = ("link", os.readlink(path), st.st_mtime_ns)
            elif path.is_file():
                seen[str(path)] = ("file", st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns,
                                   hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                seen[str(path)] = ("dir", st.st_mode, st.st_uid, st.st_gid)
    return seen


def test_the_first_run_installs_everything_and_the_second_changes_nothing(installed, wheel):
    root, first, second, before, after = installed
    assert "changed /etc/systemd/system/kiosk.service" in first
    assert "changed /opt/kiosk/current -> releases/0.1.0" in first
    assert second.strip().splitlines() == ["kiosk-setup: systemd is not running here (or --root): enable later with "
                                           "`systemctl enable --now kiosk.service kiosk-update.timer kiosk-server.service`",
                                           "kiosk-setup: release 0.1.0 installed; nothing changed"]
    assert before == after
    assert os.readlink(root / "opt/kiosk/current") == "releases/0.1.0"
    for script in ("kiosk", "kiosk-update", "kiosk-server"):
        assert os.access(root / "opt/kiosk/current/bin" / script, os.X_OK), script
    assert os.access(root / "opt/kiosk/bin/kiosk-session", os.X_OK)


def test_the_kiosk_user_is_not_root_and_has_the_device_groups(installed):
    root = installed[0]
    [user] = [line.split(":") for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("kiosk:")]
    assert int(user[2]) != 0 and user[6] == "/usr/sbin/nologin" and user[5] == "/var/lib/kiosk"
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in (root / "etc/group").read_text().splitlines()}
    for group in ("dialout", "lp", "video", "input"):
        assert "kiosk" in groups[group], group
    toml = root / "etc/kiosk/kiosk.toml"
    assert toml.stat().st_mode & 0o777 == 0o640
    assert toml.stat().st_gid == int(next(line.split(":")[2] for line in (root / "etc/group").read_text().splitlines()
                                          if line.startswith("kiosk:")))


def test_the_config_points_at_the_stable_device_names_and_loads(installed):
    settings = config.load(installed[0] / "etc/kiosk/kiosk.toml", environ={})
    assert settings.kiosk.id == "shop1-k1"
    assert (settings.devices.scanner.driver, settings.devices.scanner.hid_device) == ("hid", "/dev/kiosk-scanner")
    assert (settings.devices.printer.driver, settings.devices.printer.url) == ("file", "/dev/kiosk-printer")
    assert (settings.devices.payment.driver, settings.devices.payment.url) == ("zvt-serial", "/dev/kiosk-terminal")
    assert settings.server.url == "https://central.example.com"
    env = (installed[0] / "etc/kiosk/kiosk.env").read_text()
    assert 'KIOSK_CAGE_ARGS="-r"' in env and "SDL_VIDEODRIVER=x11" in env


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify_accepts_every_unit(installed, unit):
    root = installed[0]
    done = verify(root, unit)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def verify(root: Path, unit: str) -> subprocess.CompletedProcess:
    """Every problem counts, also in the units it depends on (they come from the root: systemd's own)."""
    return subprocess.run(["systemd-analyze", "verify", "--recursive-errors=yes", f"--root={root}",
                           f"/etc/systemd/system/{unit}"], capture_output=True, text=True, timeout=120)


def test_systemd_analyze_verify_fails_on_a_broken_unit(installed, tmp_path):
    """The check above can fail: a unit whose program is missing is refused."""
    root = installed[0]
    broken = root / "etc/systemd/system/kiosk-broken.service"
    broken.write_text((root / "etc/systemd/system/kiosk.service").read_text().replace(
        "/opt/kiosk/bin/kiosk-session", "/opt/kiosk/bin/missing"))
    try:
        done = verify(root, "kiosk-broken.service")
    finally:
        broken.unlink()
    assert done.returncode != 0 and "/opt/kiosk/bin/missing" in done.stderr, done.stderr


def udevadm_test(rules_dir: Path, devpath: str) -> str:
    """`udevadm test` with only these rules, in a mount namespace where /etc/udev/rules.d, /dev and /run/udev are
    private folders (udevadm test really creates the links). udevadm 252 has no `verify`; `test` parses every
    rule file and names each bad line ("Invalid key ...")."""
    fake_dev = rules_dir.parent / "dev"
    fake_dev.mkdir(exist_ok=True)
    script = (f"mount --bind {rules_dir} /etc/udev/rules.d && mount -t tmpfs tmpfs /run/udev && "
              f"mount --bind {fake_dev} /dev && udevadm test --action=add {devpath}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def test_udevadm_parses_the_rules_without_a_complaint(installed, tmp_path):
    rules = tmp_path / "rules.d"
    rules.mkdir()
    shutil.copy(installed[0] / "etc/udev/rules.d/70-kiosk.rules", rules)
    out = udevadm_test(rules, "/sys/class/tty/ptmx")
    assert "Reading rules file: /etc/udev/rules.d/70-kiosk.rules" in out, out
    complaints = [line for line in out.splitlines() if "70-kiosk.rules:" in line]
    assert complaints == [], complaints
    # and the same check catches a broken rule
    (rules / "70-kiosk.rules").write_text('SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", SYMLNK+="kiosk-terminal"\n')
    out = udevadm_test(rules, "/sys/class/tty/ptmx")
    assert "70-kiosk.rules:1 Invalid key 'SYMLNK'" in out, out


def test_the_rules_name_each_device_and_rotate_the_touch_panel(installed):
    rules = (installed[0] / "etc/udev/rules.d/70-kiosk.rules").read_text()
    active = [line for line in rules.splitlines() if line and not line.startswith("#")]
    scanner, printer, terminal, touch = active
    assert 'ATTRS{idVendor}=="0c2e", ATTRS{idProduct}=="0b61"' in scanner and 'SYMLINK+="kiosk-scanner"' in scanner
    assert 'ENV{LIBINPUT_IGNORE_DEVICE}="1"' in scanner and 'ENV{ID_INPUT_TOUCHSCREEN}=""' in scanner
    assert 'SYMLINK+="kiosk-printer"' in printer and 'GROUP="lp"' in printer
    assert 'ATTRS{idVendor}=="0403"' in terminal and 'GROUP="dialout"' in terminal
    assert 'ENV{LIBINPUT_CALIBRATION_MATRIX}="0 -1 1 1 0 0"' in touch


def test_bad_arguments_are_refused_by_name(tmp_path):
    done = subprocess.run([PYTHON, str(SETUP), "--root", str(tmp_path), "--scanner", "honeywell"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--scanner: expected a USB id as VID:PID in hex (e.g. 04b8:0202), got 'honeywell'" in done.stderr
