#!/usr/bin/env python3
"""Turns a fresh Debian 12 / Raspberry Pi OS (bookworm) box into a locked kiosk, or a central server host.

    sudo python3 deploy/kiosk_setup.py --kiosk-id shop1-k1 --server-url https://central.example.com \\
        --scanner 0c2e:0b61 --printer 04b8:0202 --terminal 0403:6001 [--rotate 90]

Idempotent: each file is written only when its content differs, the release venv is built only once, and a
second run with the same arguments changes nothing. `--root DIR` installs into DIR instead of / (tests, image
builds); there, and whenever systemd is not running, units are written but not enabled. Standard library only:
it runs before any venv exists. See docs/deploy.md.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
CHECKOUT = HERE.parent
KIOSK_GROUPS = ("dialout", "lp", "video", "input", "render")
# libinput calibration matrices for a touch panel mounted rotated clockwise by this many degrees
TOUCH_MATRIX = {90: "0 -1 1 1 0 0", 180: "-1 0 1 0 -1 1", 270: "0 1 0 -1 0 1"}
APT_KIOSK = ["cage", "xwayland", "python3-venv", "libmtdev1", "libgl1", "libegl1", "libzbar0", "fonts-noto-color-emoji"]
APT_SERVER = ["python3-venv"]
USB_ID = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{4}$")


class Installer:
    def __init__(self, root: Path, dry_systemd: bool) -> None:
        self.root = root
        self.dry_systemd = dry_systemd
        self.changed: list[str] = []

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def write(self, absolute: str, content: str, mode: int = 0o644, group: str = "root") -> bool:
        target = self.path(absolute)
        gid = self.gid(group)
        if target.is_file() and target.read_text() == content and (target.stat().st_mode & 0o7777) == mode \
                and target.stat().st_gid == gid:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(content)
        os.chown(tmp, 0, gid)
        tmp.chmod(mode)
        os.replace(tmp, target)
        self.changed.append(absolute)
        return True

    def write_once(self, absolute: str, content: str, mode: int = 0o644, group: str = "root") -> bool:
        """Site files (the kiosk's config): written when missing, never overwritten."""
        return False if self.path(absolute).exists() else self.write(absolute, content, mode, group)

    def gid(self, group: str) -> int:
        for line in self._lines("/etc/group"):
            fields = line.split(":")
            if fields[0] == group:
                return int(fields[2])
        if group == "root":
            return 0
        raise SystemExit(f"kiosk-setup: no group {group!r} in {self.path('/etc/group')}")

    def symlink(self, absolute: str, points_to: str) -> bool:
        link = self.path(absolute)
        if link.is_symlink() and os.readlink(link) == points_to:
            return False
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{link.name}.tmp")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(points_to)
        os.replace(tmp, link)  # rename(2): the link is switched atomically, never missing
        self.changed.append(f"{absolute} -> {points_to}")
        return True

    # --- users ------------------------------------------------------------------------------------------

    def user(self, name: str, home: str, groups: tuple[str, ...]) -> None:
        existing = {line.split(":")[0] for line in self._lines("/etc/group")}
        wanted = [g for g in groups if g in existing]
        if not any(line.split(":")[0] == name for line in self._lines("/etc/passwd")):
            cmd = ["useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home",
                   "--shell", "/usr/sbin/nologin", "--comment", "self-service kiosk"]
            if wanted:
                cmd += ["--groups", ",".join(wanted)]
            self._run(cmd + self._root_option() + [name])
            self.changed.append(f"user {name}")
            return
        member_of = {line.split(":")[0] for line in self._lines("/etc/group")
                     if name in line.rstrip("\n").split(":")[3].split(",")}
        missing = [g for g in wanted if g not in member_of]
        if missing:
            self._run(["usermod", "--append", "--groups", ",".join(missing)] + self._root_option() + [name])
            self.changed.append(f"user {name} groups +{','.join(missing)}")

    def _root_option(self) -> list[str]:
        return [] if self.root == Path("/") else ["--root", str(self.root)]

    def _lines(self, absolute: str) -> list[str]:
        path = self.path(absolute)
        return path.read_text().splitlines() if path.exists() else []

    # --- the release ----------------------------------------------------------------------------------

    def release(self, wheel: Path, extras: str, pip_options: list[str]) -> str:
        """Installs `wheel` into /opt/kiosk/releases/<version> (once) and points /opt/kiosk/current at it."""
        version = wheel_version(wheel)
        folder = f"/opt/kiosk/releases/{version}"
        venv = self.path(folder)
        if not (venv / ".complete").exists():
            if venv.exists():
                shutil.rmtree(venv)  # a half-built venv from an interrupted run
            self._run([sys.executable if not _in_venv() else _base_python(), "-m", "venv", str(venv)])
            spec = f"{wheel}[{extras}]" if extras else str(wheel)
            # a clean environment: a PYTHONPATH (e.g. a checkout with its egg-info) would make pip skip the wheel
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", *pip_options, spec], check=True, env=env)
            (venv / ".complete").write_text(version + "\n")
            self.changed.append(folder)
        self.symlink("/opt/kiosk/current", f"releases/{version}")
        return version

    # --- systemd and udev -------------------------------------------------------------------------------

    def activate(self, units: list[str], rules_changed: bool) -> None:
        if self.dry_systemd:
            print(f"kiosk-setup: systemd is not running here (or --root): enable later with "
                  f"`systemctl enable --now {' '.join(units)}`")
            return
        if any(c.startswith("/etc/systemd/") for c in self.changed):
            self._run(["systemctl", "daemon-reload"])
        self._run(["systemctl", "enable", *units])
        if rules_changed:
            self._run(["udevadm", "control", "--reload"])
            self._run(["udevadm", "trigger", "--action=add"])

    @staticmethod
    def _run(cmd: list[str]) -> None:
        subprocess.run(cmd, check=True)


def wheel_version(wheel: Path) -> str:
    parts = wheel.name.split("-")
    if wheel.suffix != ".whl" or len(parts) < 5:
        raise SystemExit(f"kiosk-setup: {wheel}: expected a wheel file name (name-version-py-abi-platform.whl)")
    return parts[1]


def _in_venv() -> bool:
    return sys.prefix != sys.base_prefix


def _base_python() -> str:
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")


def build_wheel(into: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(into), str(CHECKOUT)], check=True)
    [wheel] = into.glob("selfservice_kiosk-*.whl")
    return wheel


def udev_rules(scanner: str, printer: str, terminal: str, touch_matrix: str) -> str:
    """Stable names for the devices, access for the kiosk user's groups, the scanner kept from the UI's
    input stack and the touch panel's rotation (see docs/deploy.md, "Devices")."""
    def ids(value: str) -> str:
        vendor, product = value.split(":")
        return f'ATTRS{{idVendor}}=="{vendor}", ATTRS{{idProduct}}=="{product}", '

    def rule(name: str, value: str, text: str) -> str:
        return text if value else f"# --{name} VID:PID not given to kiosk-setup, so no rule for it\n# " + text
    out = [
        "# Managed by kiosk-setup (deploy/kiosk_setup.py): rerun it to change. Stable names for the kiosk's devices.",
        "# Keyboard-wedge barcode scanner: /dev/kiosk-scanner is its event node, read (and grabbed) by the kiosk.",
        "# LIBINPUT_IGNORE_DEVICE keeps cage from turning its keystrokes into keyboard input for the app; the",
        "# cleared ID_INPUT_* keep it from being taken for a pointer or touch panel (the app itself never probes",
        "# /dev/input: screens/boot.py drops Kivy's probesysfs entry; touches come through SDL from cage).",
        rule("scanner", scanner, 'SUBSYSTEM=="input", KERNEL=="event*", ' + (ids(scanner) if scanner else "")
             + 'SYMLINK+="kiosk-scanner", GROUP="input", MODE="0660", ENV{LIBINPUT_IGNORE_DEVICE}="1", '
             'ENV{ID_INPUT_TOUCHSCREEN}="", ENV{ID_INPUT_TABLET}="", ENV{ID_INPUT_MOUSE}=""'),
        "# ESC/POS receipt printer on the USB printer class driver (usblp): /dev/kiosk-printer, group lp.",
        'SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", ' + (ids(printer) if printer else "")
        + 'SYMLINK+="kiosk-printer", GROUP="lp", MODE="0660"',
        "# Card terminal (ZVT over a USB serial adapter): /dev/kiosk-terminal, group dialout.",
        rule("terminal", terminal, 'SUBSYSTEM=="tty", KERNEL=="tty[A-Z]*[0-9]*", ' + (ids(terminal) if terminal else "")
             + 'SYMLINK+="kiosk-terminal", GROUP="dialout", MODE="0660"'),
    ]
    if touch_matrix:
        out += ["# The touch panel is mounted rotated: libinput maps its touches (cage -r turns only the picture).",
                f'SUBSYSTEM=="input", KERNEL=="event*", ENV{{ID_INPUT_TOUCHSCREEN}}=="1", '
                f'ENV{{LIBINPUT_CALIBRATION_MATRIX}}="{touch_matrix}"']
    return "\n".join(out) + "\n"


def kiosk_toml(kiosk_id: str, server_url: str) -> str:
    return (FILES / "kiosk.toml.in").read_text().replace("@KIOSK_ID@", kiosk_id).replace("@SERVER_URL@", server_url)


def kiosk_env(rotate: int) -> str:
    cage = {0: "", 90: "-r", 180: "-r -r", 270: "-r -r -r"}[rotate]
    return ("# Environment of kiosk.service, managed by kiosk-setup (rerun it to change)\n"
            f'KIOSK_CAGE_ARGS="{cage}"\n'
            "SDL_VIDEODRIVER=x11\n"  # through cage's Xwayland: PyPI's Kivy has no SDL Wayland driver
            "KIOSK_CONFIG=/etc/kiosk/kiosk.toml\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kiosk-setup", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--role", choices=["kiosk", "server", "both"], default="kiosk")
    p.add_argument("--root", default="/", help="install into this directory instead of / (no systemctl, no apt)")
    p.add_argument("--wheel", help="the release to install (default: build one from this checkout)")
    p.add_argument("--pip-option", action="append", default=[], help="passed to pip install (repeatable)")
    p.add_argument("--kiosk-id", default="kiosk-001")
    p.add_argument("--server-url", default="http://127.0.0.1:8765")
    p.add_argument("--scanner", default="", help="USB VID:PID of the keyboard-wedge barcode scanner (lsusb)")
    p.add_argument("--printer", default="", help="USB VID:PID of the receipt printer (default: any USB printer)")
    p.add_argument("--terminal", default="", help="USB VID:PID of the card terminal's serial adapter")
    p.add_argument("--rotate", type=int, choices=[0, 90, 180, 270], default=0, help="screen mounted rotated CW")
    p.add_argument("--touch-matrix", default="", help="libinput calibration matrix (6 numbers) for the touch panel")
    p.add_argument("--release-key", help="the Ed25519 public key file (kiosk-server admin release keygen)")
    p.add_argument("--no-apt", action="store_true", help="do not install Debian packages")
    args = p.parse_args(argv)
    for name in ("scanner", "printer", "terminal"):
        value = getattr(args, name).lower()
        if value and not USB_ID.match(value):
            p.error(f"--{name}: expected a USB id as VID:PID in hex (e.g. 04b8:0202), got {value!r}")
        setattr(args, name, value)
    if args.touch_matrix and len(args.touch_matrix.split()) != 6:
        p.error(f"--touch-matrix: expected 6 numbers, got {args.touch_matrix!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(args.root).resolve()
    if os.geteuid() != 0:
        print("kiosk-setup: run as root (sudo)", file=sys.stderr)
        return 2
    live = root == Path("/")
    inst = Installer(root, dry_systemd=not (live and Path("/run/systemd/system").is_dir()))
    kiosk, server = args.role in ("kiosk", "both"), args.role in ("server", "both")
    if live and not args.no_apt:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        *(APT_KIOSK if kiosk else APT_SERVER)], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(args.wheel) if args.wheel else build_wheel(Path(tmp))
        if kiosk:
            inst.user("kiosk", "/var/lib/kiosk", KIOSK_GROUPS)
        if server:
            inst.user("kiosk-server", "/var/lib/kiosk-server", ())
        version = inst.release(wheel.resolve(), "server" if server else "", args.pip_option)
    units = []
    if kiosk:
        for script in ("kiosk-session", "kiosk-on-start"):
            inst.write(f"/opt/kiosk/bin/{script}", (FILES / script).read_text(), 0o755)
        for unit in ("kiosk.service", "kiosk-update.service", "kiosk-update.timer"):
            inst.write(f"/etc/systemd/system/{unit}", (FILES / unit).read_text())
        rules_changed = inst.write("/etc/udev/rules.d/70-kiosk.rules", udev_rules(
            args.scanner, args.printer, args.terminal, args.touch_matrix or TOUCH_MATRIX.get(args.rotate, "")))
        inst.write("/etc/kiosk/kiosk.env", kiosk_env(args.rotate))
        inst.write_once("/etc/kiosk/kiosk.toml", kiosk_toml(args.kiosk_id, args.server_url), 0o640, "kiosk")
        if args.release_key:
            inst.write("/etc/kiosk/release-key.pub", Path(args.release_key).read_text())
        units += ["kiosk.service", "kiosk-update.timer"]
    else:
        rules_changed = False
    if server:
        inst.write("/etc/systemd/system/kiosk-server.service", (FILES / "kiosk-server.service").read_text())
        inst.write_once("/etc/kiosk/server.env", (FILES / "server.env.in").read_text(), 0o640, "kiosk-server")
        units.append("kiosk-server.service")
    inst.activate(units, rules_changed)
    if kiosk and not inst.dry_systemd:
        inst._run(["systemctl", "set-default", "graphical.target"])
    for change in inst.changed:
        print(f"kiosk-setup: changed {change}")
    print(f"kiosk-setup: release {version} installed; {len(inst.changed) or 'nothing'} changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
