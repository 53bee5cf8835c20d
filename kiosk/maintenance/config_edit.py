"""Viewing the effective configuration and editing the keys marked editable (`[maintenance]
editable_keys`) in the kiosk.toml the kiosk started from.

An edit changes only the line of that key (comments and layout stay), is validated by loading the
candidate file with `kiosk.config.load` itself, so it is refused with exactly the message start-up
would give, and is then written atomically: the old file is kept as `<name>.previous`, the new one
is fsynced and renamed over it. The new value takes effect at the next start of the app.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from kiosk import config
from kiosk.db import fsync_dir

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\s*(#.*)?$")


class NotEditable(ValueError):
    pass


@dataclass(frozen=True)
class Edit:
    key: str
    old: Any
    new: Any
    note: str = ""  # e.g. an environment variable that overrides the file


def started_from(argv: list[str], environ: Mapping[str, str]) -> str:
    """The file the kiosk started from: `kiosk --config PATH`, else $KIOSK_CONFIG, else ./kiosk.toml
    (the rules of launcher.cli and config.load)."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
    return environ.get("KIOSK_CONFIG", "kiosk.toml")


CONNECTION_KEYS = ("host", "port", "url", "hid_device", "index")  # of a [devices.*] section


def effective(settings: config.Settings, editable: list[str],
              in_use: Mapping[str, str] | None = None) -> list[tuple[str, str, bool]]:
    """(key, value as TOML, editable) for every setting; secrets are not shown.

    `in_use`: device name -> where its driver really talks to ("simulator on 127.0.0.1:41235", from
    the device snapshot's endpoint). It is shown beside that device's connection keys when it differs
    from them: with driver "simulator" the driver talks to an in-process simulator on a random port."""
    rows = []
    for keys in config.leaf_paths():
        value: Any = settings
        for key in keys:
            value = getattr(value, key)
        name = ".".join(keys)
        shown = "(set)" if keys[-1] in ("token", "password") and value else toml_value(value)
        actual = (in_use or {}).get(keys[1], "") if len(keys) == 3 and keys[0] == "devices" else ""
        if actual and keys[2] in CONNECTION_KEYS and (actual.startswith("simulator") or str(value) not in actual):
            shown += f"   (in use: {actual})"
        rows.append((name, shown, name in editable))
    return rows


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def parse_value(text: str) -> Any:
    """What a technician typed: TOML syntax when it parses (42, true, "x"), otherwise plain text."""
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


class ConfigEditor:
    def __init__(self, path: str | Path, editable: list[str], environ: Mapping[str, str] | None = None):
        self.path = Path(path)
        self.editable = list(editable)
        self.environ = os.environ if environ is None else environ

    def load(self) -> config.Settings:
        return config.load(self.path, environ=self.environ)

    def set(self, key: str, text: str) -> Edit:
        """Validates and writes; raises NotEditable or config.ConfigError (the start-up message)."""
        if key not in self.editable:
            raise NotEditable(f"{key} is not editable here (see [maintenance] editable_keys)")
        old_text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        old = self._value(self.load(), key)
        value = parse_value(text)
        new_text = set_key(old_text, key, value)
        candidate = self.path.with_name(self.path.name + ".candidate")
        _write_synced(candidate, new_text)
        try:
            settings = config.load(candidate, environ=self.environ)
        except config.ConfigError as exc:
            candidate.unlink(missing_ok=True)
            raise config.ConfigError(str(exc).replace(str(candidate), str(self.path))) from None
        if self.path.exists():
            _write_synced(self.path.with_name(self.path.name + ".previous"), old_text)
        os.replace(candidate, self.path)
        fsync_dir(self.path.parent)
        env = config.env_name(tuple(key.split(".")))
        note = f"{env} in the environment overrides the file" if env in self.environ else ""
        return Edit(key, old, self._value(settings, key), note)

    @staticmethod
    def _value(settings: config.Settings, key: str) -> Any:
        value: Any = settings
        for part in key.split("."):
            value = getattr(value, part)
        return value


def set_key(text: str, key: str, value: Any) -> str:
    """`text` (a TOML document) with `key` (dotted, last part under its table) set to `value`;
    only that key's line(s) change, its trailing comment is kept."""
    section, _, name = key.rpartition(".")
    lines = text.splitlines()
    new_line = f"{name} = {toml_value(value)}"
    start, end = _table_range(lines, section)
    if start is None:
        return text.rstrip("\n") + f"\n\n[{section}]\n{new_line}\n"
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*=")
    for i in range(start, end):
        if pattern.match(lines[i]):
            last = _value_end(lines, i, end)
            comment = _comment(lines[i]) if last == i else ""
            if comment:
                new_line = f"{new_line:<27} {comment}"
            lines[i:last + 1] = [new_line]
            return "\n".join(lines) + "\n"
    insert = end
    while insert > start and not lines[insert - 1].strip():
        insert -= 1
    lines.insert(insert, new_line)
    return "\n".join(lines) + "\n"


def _table_range(lines: list[str], section: str) -> tuple[int | None, int]:
    start = None
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if match is None:
            continue
        if start is not None:
            return start, i
        if match.group(1).replace(" ", "") == section:
            start = i + 1
    return start, len(lines)


def _value_end(lines: list[str], first: int, end: int) -> int:
    """The last line of a value that starts on `first` (arrays may span lines)."""
    for last in range(first, end):
        try:
            tomllib.loads("\n".join(lines[first:last + 1]))
            return last
        except tomllib.TOMLDecodeError:
            continue
    return first


def _comment(line: str) -> str:
    full = tomllib.loads(line)
    for i, char in enumerate(line):
        if char == "#":
            try:
                if tomllib.loads(line[:i]) == full:
                    return line[i:]
            except tomllib.TOMLDecodeError:
                continue
    return ""


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())

