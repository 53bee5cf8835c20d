"""A settings error in one line a person can act on: `kiosk.toml: devices.printer.baudrate: expected an
integer, got "fast"` (the file or KIOSK_* variable, the key, what is expected, the value)."""
from __future__ import annotations

import json
from typing import Any


_EXPECTED = {
    "int_type": "expected an integer", "int_parsing": "expected an integer", "int_from_float": "expected an integer",
    "string_type": "expected a string", "float_type": "expected a number", "float_parsing": "expected a number", "bool_type": "expected true or false", "list_type": "expected a list",
    "dict_type": "expected a table", "model_type": "expected a table", "model_attributes_type": "expected a table",
    "extra_forbidden": "unknown key", "missing": "missing",
}


def describe(error: dict[str, Any], sources: dict[tuple[str, ...], str]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    source = next((sources[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in sources), "config")
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
    elif kind == "literal_error":
        expected = "expected one of " + _choices(ctx.get("expected", ""))
    elif kind == "string_pattern_mismatch":
        expected = _PATTERN_HINTS.get(loc[-1], f"expected text matching {ctx.get('pattern')}")
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        expected = f"expected a number {_BOUND[kind]} {ctx[next(iter(ctx))]}"
    elif kind in ("string_too_short", "string_too_long"):
        if kind == "string_too_short" and ctx.get("min_length") == 1:
            expected = "must not be empty"
        else:
            limit = ctx.get("min_length", ctx.get("max_length"))
            expected = f"at {'least' if kind == 'string_too_short' else 'most'} {limit} characters"
        value = error.get("input")
        got = len(value) if isinstance(value, str) else _show(value)
        return f"{source}: {'.'.join(loc)}: {expected}, got {got}" if kind == "string_too_long" \
            else f"{source}: {'.'.join(loc)}: {expected}, got {_show(value)}"
    elif kind in ("too_short", "too_long"):
        expected = f"expected at {'least' if kind == 'too_short' else 'most'} " \
                   f"{ctx.get('min_length', ctx.get('max_length'))} entries"
    elif kind == "value_error":
        expected = str(ctx.get("error", error["msg"]))
    else:
        expected = error["msg"]
    if not loc:
        return f"{source}: {expected}"
    path = ".".join(loc)
    if kind in ("missing",) or (kind == "value_error" and not _is_scalar(error.get("input"))):
        return f"{source}: {path}: {expected}"
    return f"{source}: {path}: {expected}, got {_show(error.get('input'))}"


_BOUND = {"greater_than_equal": "≥", "less_than_equal": "≤", "greater_than": ">", "less_than": "<"}
_PATTERN_HINTS = {
    "id": "expected 1 to 64 letters, digits, '.', '_' or '-'",
    "currency": "expected a three-letter ISO 4217 code such as \"EUR\"",
    "url": "expected an http:// or https:// URL",
    "public_receipt_url": "expected an http:// or https:// URL, or \"\" for the server url",
    "password": "expected 6 digits",
}


def _choices(expected: str) -> str:
    # pydantic gives "'a', 'b' or 'c'"; show TOML-style quoted choices
    return expected.replace("'", '"')


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _show(value: Any) -> str:
    """A value the way it looks in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
