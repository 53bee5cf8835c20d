import json

import pytest

from kiosk.catalog import Catalog, ItemValidator, import_file
from kiosk.gtin import check_digit

VAT = {"A": 1900, "B": 700, "C": 0}


def ean13(body12: str) -> str:
    return body12 + check_digit(body12)


@pytest.fixture
def validator():
    return ItemValidator(VAT, "EUR", ("en", "de", "nl"))


@pytest.fixture
def catalog(tmp_path, validator):
    """A small real catalog: milk, bread, wine (18+), a weighed-cheese label base, apples by PLU."""
    items = [
        {"gtin": "4006381333931", "names": {"en": "Milk 1 l", "de": "Milch 1 l"}, "price": "1.19", "vat": "B"},
        {"gtin": ean13("400000000001"), "names": {"en": "Rye bread", "de": "Roggenbrot"}, "price": "2.49", "vat": "B"},
        {"gtin": ean13("400000000002"), "names": {"en": "Red wine", "de": "Rotwein"}, "price": "6.99", "vat": "A",
         "min_age": "18"},
        {"gtin": ean13("211234500000"), "names": {"en": "Cheese (weighed)", "de": "Käse (gewogen)"},
         "price": "0.00", "vat": "B"},
        {"plu": "4131", "names": {"en": "Apples", "de": "Äpfel", "nl": "Appels"}, "price": "0.45", "vat": "B"},
    ]
    source = tmp_path / "items.json"
    source.write_text(json.dumps(items), encoding="utf-8")
    report = import_file(source, tmp_path / "catalog.sqlite", validator)
    assert report.errors == [] and report.imported == len(items)
    cat = Catalog(tmp_path / "catalog.sqlite", price_embedded_prefixes=["21"])
    yield cat
    cat.close()
