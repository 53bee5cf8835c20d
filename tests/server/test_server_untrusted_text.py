"""Untrusted text: the ingest check for full card numbers in free text (server/checks.py) must find them however they are
written, and must not take random ids for them (0.2 % of uuid4 strings once were, dead-lettering events)."""
import uuid

from server.checks import card_number_in, mask_card_numbers


def test_card_numbers_are_found_however_written():
    for text in ("4111111111111111", "auth 4111 1111 1111 1111 ok", "4111-1111-1111-1111", "PAN:4111111111111111",
                 "x4111111111111111", "qty 2 4111 1111 1111 1111", "5500 0000 0000 0004"):
        assert card_number_in(text), text
        assert "4111 1111 1111" not in mask_card_numbers(text) and "411111111111" not in mask_card_numbers(text)


def test_random_ids_and_short_numbers_are_not_card_numbers():
    assert not card_number_in("1234567") and not card_number_in("trace 1234567890123")  # short; not Luhn-valid
    assert not card_number_in("00000000-0000-0000-4111-111111111111")  # a UUID's all-digit groups
    assert not card_number_in("deadbeef4111111111111111")  # a run inside a hex word (an id, a hash)
    ids = [str(uuid.uuid4()) for _ in range(20000)] + [uuid.uuid4().hex for _ in range(20000)]
    assert [i for i in ids if card_number_in(i)] == []  # 0.2 % of these were flagged before
    assert mask_card_numbers(ids[0]) == ids[0]


def test_insight_csv_cells_never_run_as_formulas():
    from server.insight_api import series_csv
    report = {"series_columns": ["period", "site", "sessions"],
              "series": [{"period": "2026-12-01", "site": '=HYPERLINK("http://x","y")', "sessions": -3},
                         {"period": "2026-12-02", "site": "@SUM(A1)", "sessions": None}]}
    lines = series_csv(report).splitlines()
    assert lines[1] == '2026-12-01,"\'=HYPERLINK(""http://x"",""y"")",-3'  # text quoted, a number stays a number
    assert lines[2] == "2026-12-02,'@SUM(A1),"
