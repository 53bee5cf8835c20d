"""The item catalog store: SQLite with GTIN and PLU keys and full-text name search (FTS5).

Names are kept per language; the search index holds all of them, so a customer finds "Milch"
or "milk" whichever language the screen is in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from kiosk import gtin
from kiosk.catalog.rows import normalize_plu
from kiosk.db import connect, migrate

MIGRATIONS = [
    """
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        gtin TEXT UNIQUE,                 -- 14-digit key (kiosk.gtin.normalize), or NULL
        plu TEXT UNIQUE,                  -- price look-up code for items without a barcode, or NULL
        names TEXT NOT NULL,              -- JSON {"en": "Milk", "de": "Milch"}
        search_text TEXT NOT NULL,        -- all names, for the FTS index
        price INTEGER NOT NULL,           -- minor units, VAT inclusive (per kg when sold_by = 'weight')
        vat_code TEXT NOT NULL,
        min_age INTEGER NOT NULL DEFAULT 0,
        image TEXT NOT NULL DEFAULT '',
        CHECK (gtin IS NOT NULL OR plu IS NOT NULL)
    );
    CREATE VIRTUAL TABLE items_fts USING fts5(
        search_text, content='items', content_rowid='id', prefix='1 2 3',
        tokenize='unicode61 remove_diacritics 2');
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('version', '0');
    """,
]

COLUMNS = ("gtin", "plu", "names", "price", "vat_code", "min_age", "image")


@dataclass(frozen=True)
class Item:
    id: int
    gtin: str | None
    plu: str | None
    names: dict[str, str]
    price: int
    vat_code: str
    min_age: int
    image: str

    def name(self, language: str) -> str:
        return self.names.get(language) or next(iter(self.names.values()), "")

    @property
    def key(self) -> str:
        return self.gtin or f"PLU:{self.plu}"


class Catalog:
    """Read side used by the cart and the item lookup screen; writes come from imports and sync."""

    def __init__(self, path: str | Path, price_embedded_prefixes: Iterable[str] = ()):
        self.path = Path(path)
        self.prefixes = tuple(price_embedded_prefixes)
        self.conn = connect(self.path, durable=True)
        migrate(self.conn, MIGRATIONS, "catalog")

    def close(self) -> None:
        self.conn.close()

    # --- lookups ------------------------------------------------------------------------------

    _SELECT = "SELECT id, gtin, plu, names, price, vat_code, min_age, image FROM items"

    def by_key(self, key: str) -> Item | None:
        row = self.conn.execute(f"{self._SELECT} WHERE gtin = ?", (key,)).fetchone()
        return _item(row) if row else None

    def by_plu(self, plu: str) -> Item | None:
        row = self.conn.execute(f"{self._SELECT} WHERE plu = ?", (normalize_plu(plu),)).fetchone()
        return _item(row) if row else None

    def by_id(self, item_id: int) -> Item | None:
        row = self.conn.execute(f"{self._SELECT} WHERE id = ?", (item_id,)).fetchone()
        return _item(row) if row else None

    def lookup_code(self, code: str, upce: bool = False) -> tuple[Item, int | None] | None:
        """A scanned code to (item, embedded price or None). Raises gtin.InvalidCode."""
        key = gtin.normalize(code, upce=upce)
        item = self.by_key(key)
        if item is not None:
            return item, None
        embedded = gtin.price_embedded(key, self.prefixes)
        if embedded is not None:
            item = self.by_key(embedded.base_key)
            if item is not None:
                return item, embedded.value
        return None

    def search(self, text: str, limit: int = 40) -> list[Item]:
        """Items whose names contain words starting with each typed word, e.g. "choc mil"."""
        words = ["".join(ch for ch in word if ch.isalnum()) for word in text.split()]
        query = " ".join(f'"{word}"*' for word in words if word)
        if not query:
            return []
        rows = self.conn.execute(
            f"{self._SELECT} WHERE id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
            (query, limit)).fetchall()
        return [_item(row) for row in rows]

    def plu_items(self, limit: int = 200) -> list[Item]:
        """Items sold without a barcode, for the picture grid."""
        rows = self.conn.execute(f"{self._SELECT} WHERE gtin IS NULL ORDER BY plu LIMIT ?", (limit,)).fetchall()
        return [_item(row) for row in rows]

    def keys(self) -> list[str]:
        """Every item's key (GTIN-14 or "PLU:<plu>"), e.g. to find what a full snapshot no longer has."""
        return [gtin or f"PLU:{plu}" for gtin, plu in self.conn.execute("SELECT gtin, plu FROM items")]

    def images(self) -> list[str]:
        """Every distinct picture name the items use."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT image FROM items WHERE image != ''")]

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM items").fetchone()[0]

    @property
    def version(self) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])

    # --- writes -------------------------------------------------------------------------------

    def apply_changes(self, upserts: Iterable[tuple], deletes: Iterable[str], version: int) -> None:
        """A delta from the central server, in one transaction: old or new catalog, never a mix.

        `upserts` are validated column tuples (ItemValidator output); `deletes` are item keys
        (GTIN-14 or "PLU:<plu>")."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for key in deletes:
                column, value = ("plu", normalize_plu(key[4:])) if key.startswith("PLU:") else ("gtin", key)
                self._delete_where(column, value)
            for row in upserts:
                if row[0] is not None:
                    self._delete_where("gtin", row[0])
                if row[1] is not None:
                    self._delete_where("plu", row[1])
                cur = conn.execute(f"INSERT INTO items ({INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)
                conn.execute("INSERT INTO items_fts(rowid, search_text) VALUES (?, ?)", (cur.lastrowid, row[3]))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(version),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _delete_where(self, column: str, value: str) -> None:
        row = self.conn.execute(f"SELECT id, search_text FROM items WHERE {column} = ?", (value,)).fetchone()
        if row:
            self.conn.execute("INSERT INTO items_fts(items_fts, rowid, search_text) VALUES ('delete', ?, ?)", row)
            self.conn.execute("DELETE FROM items WHERE id = ?", (row[0],))


INSERT_COLUMNS = "gtin, plu, names, search_text, price, vat_code, min_age, image"


def _item(row: tuple) -> Item:
    return Item(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7])
