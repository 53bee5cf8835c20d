"""The item catalog: the store (SQLite, FTS5 search), row validation and the file import.

    store.py     Catalog, Item: lookups by GTIN/PLU, search, server deltas
    rows.py      ItemValidator, RowInvalid: a raw row to catalog columns, or why not
    importer.py  import_file: a CSV/JSON file replaces the catalog atomically
"""
from kiosk.catalog.importer import import_file
from kiosk.catalog.rows import ImportRefused, ImportReport, ItemValidator, RowError, RowInvalid, names_json, normalize_plu
from kiosk.catalog.store import COLUMNS, MIGRATIONS, Catalog, Item

__all__ = ["COLUMNS", "MIGRATIONS", "Catalog", "ImportRefused", "ImportReport", "Item", "ItemValidator", "RowError", "RowInvalid",
           "import_file", "names_json", "normalize_plu"]
