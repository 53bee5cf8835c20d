"""Bit images for the simulated printer: GS v 0 (raster, four scaling modes), ESC * (column strips),
GS ( L / GS 8 L graphics (store in the print buffer, print it; NV and download graphics by key) and
ESC & (user-defined characters, whose bitmaps must be consumed whole)."""
from __future__ import annotations

from dataclasses import dataclass, field

from devices.sim.escpos_doc import Image

# GS v 0 m: (scale_x, scale_y)
RASTER_MODES = {0: (1, 1), 1: (2, 1), 2: (1, 2), 3: (2, 2), 48: (1, 1), 49: (2, 1), 50: (1, 2), 51: (2, 2)}
# ESC * m: (dots per column, scale_x, scale_y): 8-dot modes print at a third of the vertical density
COLUMN_MODES = {0: (8, 2, 3), 1: (8, 1, 3), 32: (24, 2, 1), 33: (24, 1, 1)}


def raster(mode: int, row_bytes: int, rows: int, data: bytes) -> Image:
    sx, sy = RASTER_MODES.get(mode, (1, 1))
    return Image(row_bytes * 8, rows, bytes(data), sx, sy, source="GS v 0")


def column_strip(mode: int, columns: int, data: bytes) -> Image:
    """ESC * data (columns top to bottom, MSB at the top) turned into raster rows."""
    dots, sx, sy = COLUMN_MODES[mode]
    return Image((columns + 7) // 8 * 8, dots, columns_to_rows(dots // 8, columns, data), sx, sy, source="ESC *")


def columns_to_rows(per_column: int, columns: int, data: bytes) -> bytes:
    dots = per_column * 8
    row_bytes = (columns + 7) // 8
    rows = bytearray(row_bytes * dots)
    for x in range(columns):
        for k in range(per_column):
            byte = data[x * per_column + k]
            for bit in range(8):
                if byte & (0x80 >> bit):
                    y = k * 8 + bit
                    rows[y * row_bytes + x // 8] |= 0x80 >> (x % 8)
    return bytes(rows)


def append_strip(last: object, strip: Image) -> bool:
    """Stack a column strip under the previous one (an image sent as ESC * lines) when they match."""
    if (isinstance(last, Image) and last.source == "ESC *" and last.width == strip.width
            and (last.scale_x, last.scale_y) == (strip.scale_x, strip.scale_y)):
        last.bits += strip.bits
        last.height += strip.height
        return True
    return False


def graphics_image(data: bytes, scale_ok: bool = True) -> Image | str:
    """The image in a GS ( L fn 112 / fn 67 / fn 83 body `a bx by c xL xH yL yH d...`; an error text
    when it is not a monochrome image of the declared size."""
    if len(data) < 8:
        return "graphics data shorter than its header"
    tone, bx, by, _color = data[0], data[1], data[2], data[3]
    width, height = data[4] | data[5] << 8, data[6] | data[7] << 8
    if tone != 48:
        return f"multi-tone graphics (a={tone}) are not simulated"
    row_bytes = (width + 7) // 8
    bits = data[8:8 + row_bytes * height]
    if len(bits) < row_bytes * height or width == 0 or height == 0:
        return f"graphics {width}x{height} with {len(data) - 8} data bytes"
    if bx not in (1, 2) or by not in (1, 2):
        return f"graphics scale {bx}x{by}, expected 1 or 2"
    return Image(row_bytes * 8, height, bytes(bits), bx, by, source="GS ( L")


def user_chars_length(b: bytearray, pos: int) -> int | str:
    """Bytes used by ESC & y c1 c2 [x d1...d(y*x)]...: 0 while incomplete, an error text when the
    header is out of range (the command cannot be measured then)."""
    if len(b) - pos < 5:
        return 0
    y, c1, c2 = b[pos + 2], b[pos + 3], b[pos + 4]
    if not 1 <= y <= 3 or not 32 <= c1 <= c2 <= 126:
        return f"ESC & with y={y} c1={c1} c2={c2} out of range"
    at = pos + 5
    for _ in range(c2 - c1 + 1):
        if at >= len(b):
            return 0
        at += 1 + y * b[at]
    return at - pos if at <= len(b) else 0


def user_chars(data: bytes) -> dict[int, Image]:
    """The glyphs of a complete ESC & command (column format, y bytes per column), by character code."""
    y, c1, c2 = data[2], data[3], data[4]
    glyphs, at = {}, 5
    for code in range(c1, c2 + 1):
        x = data[at]
        glyphs[code] = Image((x + 7) // 8 * 8, y * 8, columns_to_rows(y, x, data[at + 1:at + 1 + y * x]),
                             source="ESC &")
        at += 1 + y * x
    return glyphs


@dataclass
class GraphicsState:
    buffered: Image | None = None  # GS ( L fn 112, printed by fn 50
    stored: dict = field(default_factory=dict)  # NV (fn 67) / download (fn 83) graphics by key kc1 kc2


def graphics_function(state: GraphicsState, data: bytes) -> Image | str | None:
    """GS ( L / GS 8 L m fn ...: 112 stores in the print buffer, 50 prints it; 67 / 83 define NV /
    download graphics under a key, 69 / 85 print them; 49 (density), 65 / 66 (delete) change nothing
    visible. An Image to print, None, or an error text for what is not simulated."""
    fn = data[1] if len(data) >= 2 else -1
    if fn in (49, 65, 66):
        return None
    if fn == 112:
        image = graphics_image(data[2:])
        if isinstance(image, str):
            return image
        state.buffered = image
        return None
    if fn == 50:
        image, state.buffered = state.buffered, None
        return image or "GS ( L 50: no graphics in the print buffer"
    if fn in (67, 83) and len(data) >= 5:  # m fn a kc1 kc2 b xL xH yL yH c d  |  m fn a kc1 kc2 xL xH yL yH d
        a, key = data[2:3], data[3:5]
        body = data[6:] if fn == 67 else data[5:]
        image = graphics_image(a + b"\x01\x01\x31" + body[:4] + body[4 + (fn == 67):] if fn == 67
                               else a + b"\x01\x01\x31" + body)
        if isinstance(image, str):
            return image
        state.stored[key] = image
        return None
    if fn in (69, 85) and len(data) >= 4:  # m fn kc1 kc2 [x y]
        image = state.stored.get(data[2:4])
        return image or f"GS ( L {fn}: no graphics stored under key {data[2:4]!r}"
    if fn in (48, 51, 64, 80):
        return f"GS ( L function {fn} asks for a reply the simulator does not give"
    return f"GS ( L function {fn} is not simulated"
