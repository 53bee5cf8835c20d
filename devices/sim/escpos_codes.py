"""Codes for the simulated printer: GS k 1D barcodes (Code128 code sets resolved, HRI position, height
and module width from GS H / GS h / GS w) and GS ( k 2D symbols (QR model, size and error correction;
PDF417 columns, rows, module width, row height, error correction and options)."""
from __future__ import annotations

from dataclasses import dataclass, field

from devices.sim.escpos_doc import Code

SYMBOLOGIES = {0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR",
               65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "CODABAR",
               72: "CODE93", 73: "CODE128", 74: "GS1-128", 75: "GS1 DataBar Omnidirectional",
               76: "GS1 DataBar Truncated", 77: "GS1 DataBar Limited", 78: "GS1 DataBar Expanded",
               79: "CODE128 auto"}
HRI = {0: "none", 1: "above", 2: "below", 3: "both", 48: "none", 49: "above", 50: "below", 51: "both"}
QR_MODELS = {49: 1, 50: 2, 51: "micro"}
QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
SYMBOL_NAMES = {48: "PDF417", 49: "QR", 50: "MaxiCode", 51: "GS1 DataBar", 52: "Composite", 53: "Aztec",
                54: "DataMatrix"}


@dataclass
class CodeState:
    """What GS H / h / w / f and the GS ( k set-up functions have set (ESC @ resets it)."""
    hri: str = "none"
    hri_font: int = 0
    height: int = 162  # dots
    module: int = 3
    qr: dict = field(default_factory=lambda: {"model": 2, "size": 3, "ec": "L"})
    pdf417: dict = field(default_factory=lambda: {"columns": 0, "rows": 0, "size": 3, "row_height": 3,
                                                  "ec": "level 1", "options": "standard"})
    stored: dict = field(default_factory=dict)  # cn -> symbol data


def set_barcode_option(state: CodeState, cmd: bytes, n: int) -> str:
    """GS H / f / h / w; an error text for a value out of range (the setting is kept then)."""
    if cmd == b"H":
        if n not in HRI:
            return f"GS H {n}: HRI position out of range"
        state.hri = HRI[n]
    elif cmd == b"f":
        state.hri_font = n & 1 if n in (0, 1, 48, 49) else n
    elif cmd == b"h":
        if n == 0:
            return "GS h 0: barcode height 0"
        state.height = n
    elif cmd == b"w":
        if not (1 <= n <= 6 or 68 <= n <= 76):
            return f"GS w {n}: module width out of range"
        state.module = n if n <= 6 else n - 66
    return ""


def gs_k_split(b: bytearray, pos: int) -> tuple[int, int, bytes]:
    """GS k m d1..dk NUL (m 0-6) | GS k m n d1..dn (m 65-79): (bytes used, m, data); used 0 while
    incomplete; m -1 (3 bytes used) when no NUL ends the data within 255 bytes."""
    have = len(b) - pos
    if have < 3:
        return 0, 0, b""
    m = b[pos + 2]
    if m <= 6:
        end = b.find(b"\x00", pos + 3, pos + 3 + 256)
        if end < 0:
            return (3, -1, b"") if have > 3 + 255 else (0, 0, b"")
        return end + 1 - pos, m, bytes(b[pos + 3:end])
    if have < 4 or have < 4 + b[pos + 3]:
        return 0, 0, b""
    n = b[pos + 3]
    return 4 + n, m, bytes(b[pos + 4:pos + 4 + n])


def barcode(state: CodeState, m: int, data: bytes, align: str) -> Code:
    name = SYMBOLOGIES.get(m, f"GS k {m}")
    text = code128_text(data) if m in (73, 74) else data.decode("latin-1")
    return Code("barcode", data, symbology=m, align=align, name=name, text=text,
                options={"hri": state.hri, "height": state.height, "module": state.module})


def code128_text(data: bytes) -> str:
    """GS k 73 data: "{A"/"{B"/"{C" select the code set, "{S" shifts, "{1".."{4" are FNC1-4 (FNC1
    shown as GS, like a scanner sends it), "{{" is "{"; in code set C each byte is a pair of digits."""
    out, code_set, i = [], "B", 0
    while i < len(data):
        byte = data[i]
        if byte == 0x7B and i + 1 < len(data):
            nxt = chr(data[i + 1])
            if nxt in "ABC":
                code_set = nxt
            elif nxt == "{":
                out.append("{")
            elif nxt == "1":
                out.append("\x1d")
            elif nxt == "S" and i + 2 < len(data):  # the next character in the other of A / B
                out.append(chr(data[i + 2]))
                i += 1
            i += 2
            continue
        out.append(f"{byte:02d}" if code_set == "C" and byte <= 99 else chr(byte))
        i += 1
    return "".join(out)


def symbol_function(state: CodeState, data: bytes, align: str) -> Code | str | None:
    """GS ( k pL pH cn fn ...: a Code to print (fn 81), None for a set-up function, or an error text."""
    if len(data) < 2:
        return "GS ( k without cn and fn"
    cn, fn, args = data[0], data[1], data[2:]
    name = SYMBOL_NAMES.get(cn)
    if cn not in (48, 49):
        return f"GS ( k {name or cn} function {fn} is not simulated"
    params = state.qr if cn == 49 else state.pdf417
    n = args[0] if args else None
    if fn == 80:  # store: m d1...dk (m = 48)
        state.stored[cn] = bytes(args[1:])
    elif fn == 81:
        kind = "qr" if cn == 49 else "pdf417"
        stored = state.stored.get(cn, b"")
        return Code(kind, stored, size=params["size"], align=align, name=name or "",
                    text=stored.decode("utf-8", "replace"), options=dict(params))
    elif fn == 82:
        return f"GS ( k {name} size query (fn 82) is not answered"
    elif n is None:
        return f"GS ( k {name} function {fn} without its argument"
    elif cn == 49 and fn == 65:
        if n not in QR_MODELS:
            return f"GS ( k QR model {n} out of range"
        params["model"] = QR_MODELS[n]
    elif fn == 67:
        params["size"] = n
    elif cn == 49 and fn == 69:
        if n not in QR_EC:
            return f"GS ( k QR error correction {n} out of range"
        params["ec"] = QR_EC[n]
    elif cn == 48 and fn == 65:
        params["columns"] = n
    elif cn == 48 and fn == 66:
        params["rows"] = n
    elif cn == 48 and fn == 68:
        params["row_height"] = n
    elif cn == 48 and fn == 69 and len(args) >= 2:  # m n: m 48 = level n-48, m 49 = ratio n x 10 %
        params["ec"] = f"level {args[1] - 48}" if args[0] == 48 else f"ratio {args[1] * 10}%"
    elif cn == 48 and fn == 70:
        params["options"] = "truncated" if n & 1 else "standard"
    else:
        return f"GS ( k {name} function {fn} is not simulated"
    return None
