"""The ESC/POS command set as the simulated printer frames it: the lead bytes, and how many argument
bytes each fixed-length command takes (devices/sim/escpos.py parses with these)."""
from __future__ import annotations

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10

# Commands with a fixed number of argument bytes after ESC x / GS x / FS x
ESC_FIXED = {b"@": 0, b"t": 1, b"a": 1, b"E": 1, b"-": 1, b"!": 1, b"M": 1, b"G": 1, b"{": 1, b"V": 1,
              b"2": 0, b"3": 1, b"d": 1, b"J": 1, b" ": 1, b"R": 1, b"r": 1, b"p": 3, b"i": 0, b"m": 0,
              b"e": 1, b"=": 1, b"U": 1, b"$": 2, b"\\": 2, b"L": 0, b"S": 0, b"T": 1, b"W": 8, b"K": 1,
              b"%": 1, b"?": 1, b"<": 0, b"c": 2}
GS_FIXED = {b"!": 1, b"B": 1, b"L": 2, b"W": 2, b"h": 1, b"w": 1, b"H": 1, b"f": 1, b"a": 1, b"b": 1,
             b"P": 2, b"r": 1, b"I": 1, b"/": 1, b"E": 1, b"$": 2, b"\\": 2, b"T": 1, b"^": 3, b"C": 1,
             b"g": 2, b"z": 2}
FS_FIXED = {b".": 0, b"&": 0, b"C": 1, b"!": 1, b"-": 1, b"W": 1, b"S": 2, b"p": 2}
NAMES = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}
KANJI = {0: "jis", 1: "shift_jis", 48: "jis", 49: "shift_jis"}  # FS C n; no FS C: GB18030 (Chinese models)
