"""The kiosk's camera pipeline on real photographs (issue 13; tests/data/photos/README.md): on every format the
kiosk reads it does at least as well as the better of zxing-cpp and libzbar alone, and it reports nothing that
is not in the picture."""
from __future__ import annotations

import pytest

from photo_corpus import ENABLED, photos, run


@pytest.fixture(scope="module")
def tally():
    return run(photos())


def test_the_corpus_is_installed_whole_and_every_photograph_is_labelled():
    items = photos()
    assert len(items) == 202, len(items)
    assert all(p.path.is_file() for p in items), [str(p.path) for p in items if not p.path.is_file()]
    kinds = {p.symbology for p in items}
    assert {"QR", "UPC-A", "EAN-13", "Code128", "DataMatrix", "none"} <= kinds, kinds


def test_on_every_enabled_format_the_pipeline_reads_at_least_what_the_better_decoder_alone_reads(tally):
    short = {fmt: (tally.rate("project", fmt), tally.rate("zxing", fmt), tally.rate("zbar", fmt))
             for fmt in tally.seen if fmt in ENABLED and tally.rate("project", fmt) < max(
                 tally.rate("zxing", fmt), tally.rate("zbar", fmt))}
    assert not short, f"(project, zxing, zbar) read rates where the project is behind: {short}"
    assert tally.rate("project", "QR") >= 0.9, tally.rate("project", "QR")


def test_zbar_reads_a_real_upc_a_label_that_zxing_misses_and_the_pipeline_reports_it(tally):
    """android-1/upca-1.jpg: the reason for running both decoders on linear codes."""
    assert tally.rate("zbar", "UPC-A") > tally.rate("zxing", "UPC-A")
    assert tally.rate("project", "UPC-A") == tally.rate("zbar", "UPC-A")


def test_the_pipeline_reports_no_code_that_is_not_in_the_picture(tally):
    assert not tally.wrong.get("project"), tally.wrong["project"]
    assert tally.seen["none"] == 3  # fabric, a perforated sheet, a grid of dots: nothing may be read there
