"""Catalog import (CSV and JSON, bad rows reported, good rows kept), lookups, search and deltas."""
import json

import pytest

from kiosk.catalog import Catalog, RowInvalid, import_file

from .conftest import ean13

CSV_HEADER = "gtin,plu,name_en,name_de,name_nl,price,vat,min_age,image\n"


def import_csv(tmp_path, validator, body):
    source = tmp_path / "items.csv"
    source.write_text(CSV_HEADER + body, encoding="utf-8")
    return import_file(source, tmp_path / "catalog.sqlite", validator)


def test_bad_csv_rows_are_reported_with_line_and_reason_and_good_rows_imported(tmp_path, validator):
    report = import_csv(tmp_path, validator, (
        "4006381333931,,Milk,Milch,Melk,1.19,B,,\n"          # line 2 good
        "4006381333932,,Bad,Schlecht,,1.00,B,,\n"             # 3 bad check digit
        ",,No key,,,1.00,B,,\n"                               # 4 neither gtin nor plu
        f"{ean13('400000000001')},,Bread,,,2.5x,B,,\n"        # 5 bad price
        f"{ean13('400000000002')},,Wine,,,6.999,A,18,\n"      # 6 too many decimals
        f"{ean13('400000000003')},,Water,,,0.99,Z,,\n"        # 7 unknown VAT code
        f"{ean13('400000000004')},,,,,0.99,A,,\n"             # 8 no name
        f"{ean13('400000000005')},,Beer,,,1.29,A,old,\n"      # 9 bad age
        "4006381333931,,Milk again,,,1.19,B,,\n"              # 10 duplicate GTIN
        ",12ab,Apples,,,0.45,B,,\n"                           # 11 bad PLU
        ",4131,Apples,Äpfel,Appels,0.45,B,,apples.png\n"      # 12 good
        ",4131,Pears,,,0.55,B,,\n"                            # 13 duplicate PLU
        f"{ean13('400000000006')},,Gum,,,-0.10,A,,\n"         # 14 negative price
    ))
    assert [str(e) for e in report.errors] == [
        "line 3: gtin: bad check digit in EAN-13 4006381333932: expected 1, got 2",
        "line 4: needs a gtin or a plu",
        "line 5: price: expected an amount such as \"1.99\", got '2.5x'",
        "line 6: price: EUR amounts have at most 2 decimals, got '6.999'",
        "line 7: vat: expected one of A, B, C, got 'Z'",
        "line 8: needs a name in at least one of en, de, nl",
        "line 9: min_age: expected a whole number of years 0-99, got 'old'",
        "line 10: gtin: duplicate of line 2",
        "line 11: plu: expected 1 to 6 digits, got '12ab'",
        "line 13: plu: duplicate of line 12",
        "line 14: price: must not be negative, got '-0.10'",
    ]
    assert report.imported == 2
    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert catalog.count() == 2
    milk = catalog.lookup_code("4006381333931")[0]
    assert (milk.names, milk.price, milk.vat_code) == ({"en": "Milk", "de": "Milch", "nl": "Melk"}, 119, "B")
    apples = catalog.by_plu("4131")
    assert apples.name("nl") == "Appels" and apples.image == "apples.png" and apples.gtin is None


def test_csv_line_numbers_count_quoted_newlines(tmp_path, validator):
    report = import_csv(tmp_path, validator, '4006381333931,,"Milk\nfresh",,,1.19,B,,\n,x1,Bad,,,1,B,,\n')
    assert [str(e) for e in report.errors] == ["line 4: plu: expected 1 to 6 digits, got 'x1'"]


def test_csv_without_required_columns_is_refused(tmp_path, validator):
    source = tmp_path / "items.csv"
    source.write_text("gtin,name_en\n4006381333931,Milk\n")
    with pytest.raises(RowInvalid, match="header line lacks column.s. price, vat"):
        import_file(source, tmp_path / "catalog.sqlite", validator)


def test_bad_json_items_are_reported(tmp_path, validator):
    source = tmp_path / "items.json"
    source.write_text(json.dumps([
        {"gtin": "4006381333931", "names": {"en": "Milk"}, "price": "1.19", "vat": "B"},
        "not an object",
        {"gtin": 4006381333931.0, "names": {"en": "Float"}, "price": "1", "vat": "B"},
        {"gtin": ean13("400000000001"), "names": "Bread", "price": "2.49", "vat": "B"},
        {"gtin": ean13("400000000002"), "names": {"en": "Wine"}, "price": 6.99, "vat": "A"},
    ]))
    report = import_file(source, tmp_path / "catalog.sqlite", validator)
    assert [str(e) for e in report.errors] == [
        'line 2: expected an object, got "not an object"',
        "line 3: gtin: expected text, got 4006381333931.0",
        'line 4: names: expected an object such as {"en": "Milk"}, got "Bread"',
        'line 5: price: expected a decimal amount such as "1.99", got 6.99',
    ]
    assert report.imported == 1


def test_malformed_json_file(tmp_path, validator):
    source = tmp_path / "items.json"
    source.write_text('[{"gtin": ')
    with pytest.raises(RowInvalid, match="items.json: not valid JSON"):
        import_file(source, tmp_path / "catalog.sqlite", validator)


def test_failed_import_keeps_the_old_catalog(tmp_path, validator, catalog):
    before = catalog.count()
    catalog.close()
    source = tmp_path / "broken.json"
    source.write_text("{oops")
    with pytest.raises(RowInvalid):
        import_file(source, tmp_path / "catalog.sqlite", validator)
    assert Catalog(tmp_path / "catalog.sqlite").count() == before


def test_lookup_by_any_gtin_form(catalog):
    assert catalog.lookup_code("04006381333931")[0].name("de") == "Milch 1 l"
    assert catalog.lookup_code("0000004006381333931"[-14:])[0].price == 119
    assert catalog.lookup_code(ean13("400000000009")) is None


def test_price_embedded_label_finds_its_base_item(catalog):
    label = ean13("211234503456")  # cheese, 34.56
    item, price = catalog.lookup_code(label)
    assert item.name("en") == "Cheese (weighed)" and price == 3456


def test_search_matches_word_prefixes_in_every_language(catalog):
    assert [i.name("en") for i in catalog.search("milk")] == ["Milk 1 l"]
    assert [i.name("en") for i in catalog.search("mil")] == ["Milk 1 l"]
    assert [i.name("en") for i in catalog.search("roggen")] == ["Rye bread"]
    assert [i.name("en") for i in catalog.search("kase")] == ["Cheese (weighed)"]  # diacritics folded
    assert [i.name("en") for i in catalog.search("APF")] == ["Apples"]
    assert catalog.search("red bread") == []
    assert catalog.search('" OR *') == []  # query syntax is never passed through
    assert catalog.search("") == []


def test_plu_grid_lists_items_without_barcode(catalog):
    assert [i.plu for i in catalog.plu_items()] == ["4131"]


def test_delta_applies_in_one_transaction(catalog, validator):
    new_row = validator({"gtin": ean13("400000000007"), "names": {"en": "Tea"}, "price": "3.10", "vat": "B"})
    changed_milk = validator({"gtin": "4006381333931", "names": {"en": "Oat milk"}, "price": "1.99", "vat": "B"})
    catalog.apply_changes([new_row, changed_milk], deletes=[ean13("400000000001").zfill(14), "PLU:4131"], version=7)
    assert catalog.version == 7
    assert catalog.lookup_code("4006381333931")[0].price == 199
    assert catalog.lookup_code(ean13("400000000001")) is None
    assert catalog.by_plu("4131") is None
    assert [i.name("en") for i in catalog.search("oat")] == ["Oat milk"]
    assert catalog.search("milch") == []  # the old names left the index

    with pytest.raises(Exception):
        catalog.apply_changes([new_row, ("bad",)], deletes=[], version=8)
    assert catalog.version == 7 and catalog.lookup_code(ean13("400000000007"))[0].price == 310


def test_plu_leading_zeros_do_not_matter(tmp_path, validator):
    import_csv(tmp_path, validator, ",04131,Apples,,,0.45,B,,\n")
    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert catalog.by_plu("4131").plu == "4131"
    assert catalog.by_plu("004131").name("en") == "Apples"


# issue 14: imports that used to empty the catalog or abort without a line
from kiosk.catalog import ImportRefused  # noqa: E402


@pytest.mark.parametrize("name, content", [
    ("items.json", "[]"),
    ("items.csv", CSV_HEADER),
    ("items.csv", CSV_HEADER + "".join(f"{ean13(f'4{n:011d}')},,Item {n},,,1.x,B,,\n" for n in range(1000))),
])
def test_an_import_without_good_rows_keeps_the_catalog(tmp_path, validator, catalog, name, content):
    before = catalog.count()
    catalog.close()
    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    with pytest.raises(ImportRefused, match="no good rows") as info:
        import_file(source, tmp_path / "catalog.sqlite", validator)
    assert info.value.report.imported == 0
    assert len(info.value.report.errors) == content.count("1.x")
    assert Catalog(tmp_path / "catalog.sqlite").count() == before
    assert not (tmp_path / "catalog.sqlite.import").exists()


def test_emptying_the_catalog_must_be_asked_for(tmp_path, validator, catalog):
    catalog.close()
    source = tmp_path / "items.json"
    source.write_text("[]")
    report = import_file(source, tmp_path / "catalog.sqlite", validator, allow_empty=True)
    assert report.imported == 0 and Catalog(tmp_path / "catalog.sqlite").count() == 0


def test_prices_must_be_plain_amounts(tmp_path, validator):
    report = import_csv(tmp_path, validator, (
        "4006381333931,,Milk,,,1.19,B,,\n"                     # 2 good
        f"{ean13('400000000001')},,Huge,,,1e30,B,,\n"          # 3 once an OverflowError for the whole import
        f"{ean13('400000000002')},,Thousand,,,1e3,B,,\n"       # 4 once €1,000.00
        f"{ean13('400000000003')},,Big,,,12345678901,B,,\n"    # 5 digits beyond any price
        f"{ean13('400000000004')},,Inf,,,Infinity,B,,\n"       # 6
        f"{ean13('400000000005')},,Comma,,,\"1,99\",B,,\n"     # 7
        f"{ean13('400000000006')},,Arabic,,,١٢,B,,\n"          # 8 non-ASCII digits
    ))
    assert [str(e) for e in report.errors] == [
        "line 3: price: expected an amount such as \"1.99\", got '1e30'",
        "line 4: price: expected an amount such as \"1.99\", got '1e3'",
        "line 5: price: more than 9 digits before the decimal point, got '12345678901'",
        "line 6: price: expected an amount such as \"1.99\", got 'Infinity'",
        "line 7: price: expected an amount such as \"1.99\", got '1,99'",
        "line 8: price: expected an amount such as \"1.99\", got '١٢'",
    ]
    assert report.imported == 1


def test_a_50_mb_cell_costs_its_row_only(tmp_path, validator):
    report = import_csv(tmp_path, validator, (
        "4006381333931,,Milk,,,1.19,B,,\n"
        f"{ean13('400000000001')},,\"{'x' * 50_000_000}\",,,1.00,B,,\n"
        f"{ean13('400000000002')},,Bread,,,2.49,B,,\n"))
    assert [str(e) for e in report.errors] == ["line 3: not a CSV record: field larger than field limit (131072)"]
    assert report.imported == 2


def test_invalid_utf8_names_its_line(tmp_path, validator, catalog):
    catalog.close()
    source = tmp_path / "items.csv"
    source.write_bytes((CSV_HEADER + "4006381333931,,Milk,,,1.19,B,,\n" + f"{ean13('400000000001')},,").encode()
                       + b"K\xe4se,,,1.00,B,,\n")
    with pytest.raises(RowInvalid) as info:
        import_file(source, tmp_path / "catalog.sqlite", validator)
    assert str(info.value) == "items.csv: line 3: not UTF-8 text (byte 0xe4 at column 17); save the file as UTF-8"
    source.write_bytes(b"gtin,name_\xe4,price,vat\n")
    with pytest.raises(RowInvalid, match="items.csv: line 1: not UTF-8 text"):
        import_file(source, tmp_path / "catalog.sqlite", validator)


def test_formula_names_are_refused(tmp_path, validator):
    report = import_csv(tmp_path, validator, (
        "4006381333931,,Milk,,,1.19,B,,\n"
        f"{ean13('400000000001')},,\"=HYPERLINK(\"\"http://evil\"\",\"\"Bread\"\")\",,,2.49,B,,\n"
        f"{ean13('400000000002')},,-20% Yoghurt,,,0.99,B,,\n"))
    assert [str(e) for e in report.errors] == [
        "line 3: name_en: looks like a spreadsheet formula, got '=HYPERLINK(\"http://evil\",\"Bread\")'"]
    assert report.imported == 2
