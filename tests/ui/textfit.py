"""Does every visible text fit its widget? Measured on what Kivy actually laid out.

A Kivy Label lays its text out in `_label._cached_lines` (lines of words) within `text_size`; words wider
than the width are broken between characters, lines beyond a fixed height are dropped, and a label
without `text_size` simply draws past its edges. Each of those is a problem here.
"""
from __future__ import annotations

from kivy.uix.label import Label


def laid_out_lines(label: Label) -> list[str]:
    label.texture_update()
    return ["".join(word.text for word in line.words) for line in label._label._cached_lines]


def text_problems(label: Label, may_shorten: bool = False) -> list[str]:
    """What is wrong with how `label`'s text is shown: cut off, broken mid-word or drawn past the widget."""
    text = label.text
    lines = laid_out_lines(label)
    words = set(text.split())
    shown = [token for line in lines for token in line.split()]
    problems = []
    broken = [token for token in shown if token not in words and not (may_shorten and token.endswith("..."))]
    if broken:
        problems.append(f"word broken across lines: {broken}")
    if "".join(shown) != "".join(text.split()):
        if not (may_shorten and label.shorten and "..." in "".join(shown)):
            problems.append(f"cut off: shows {lines}")
    tw, th = label._label._internal_size  # the laid-out text with its padding
    limit_w = label.text_size[0] if label.text_size[0] is not None else label.width
    limit_h = label.text_size[1] if label.text_size[1] is not None else label.height
    if tw > min(limit_w, label.width) + 1:
        problems.append(f"{tw:.0f} px wide in {min(limit_w, label.width):.0f} px")
    if th > min(limit_h, label.height) + 1:
        problems.append(f"{th:.0f} px high in {min(limit_h, label.height):.0f} px")
    if problems:
        problems.append(f"(lines {lines} in {label.width:.0f}x{label.height:.0f}, font {label.font_size:.0f})")
    return problems


def ink_rect(label: Label) -> tuple[float, float, float, float]:
    """Where the label's text is drawn, in window coordinates (x, y, width, height): its lines, not the
    whitespace of its texture (each line placed as Kivy's `render_lines` places it)."""
    lines = label._label._cached_lines
    tw, th = label.texture_size
    x0, y0 = label.to_window(int(label.center_x - tw / 2), int(label.center_y - th / 2))
    left_pad, top, right_pad, bottom = label._label.options["padding"]
    if not lines:
        return x0, y0, 0, 0
    xs = []
    for line in lines:
        if label.halign == "center":
            x = min(int(tw - line.w), max(int(left_pad), int((tw - line.w + left_pad - right_pad) / 2.0)))
        elif label.halign == "right":
            x = max(0, int(tw - line.w - right_pad))
        else:
            x = left_pad
        xs.append((x, x + line.w))
    left, right = min(x for x, _ in xs), max(x for _, x in xs)
    return x0 + left, y0 + bottom, right - left, max(0, th - top - bottom)
