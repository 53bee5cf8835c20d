"""The item catalog: SQLite with GTIN and PLU keys and full-text name search (FTS5).

Names are kept per language; the search index holds all of them, so a customer finds "Milch"
or "milk" whichever language the screen is in.
"""
from __future__ import annotations

import collections
import csv
import io
import itertools
import json
import multiprocessing
import os
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from kiosk import gtin
from kiosk.db import connect, fsync_dir, migrate
from kiosk.money import parse_amount

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


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)


class RowInvalid(ValueError):
    pass


def normalize_plu(plu: str) -> str:
    """PLUs are numbers: "04131" and "4131" are the same item."""
    return plu.strip().lstrip("0") or "0"


def names_json(names: dict[str, str], _quote=json.encoder.encode_basestring) -> str:
    """json.dumps(names) for a dict of strings, compact, at a fraction of its cost."""
    return "{" + ",".join(f"{_quote(lang)}:{_quote(name)}" for lang, name in names.items()) + "}"


class ItemValidator:
    """Turns a raw row (CSV cells, or a JSON object) into catalog columns, or says what is wrong.

    Written for speed: a 1,000,000-row import spends most of its time here."""

    def __init__(self, vat_codes: Iterable[str], currency: str, languages: Iterable[str]):
        self.vat_codes = frozenset(vat_codes)
        self.currency = currency
        self.languages = tuple(languages)

    def __call__(self, row: Mapping[str, Any]) -> tuple:
        """A JSON object (or any mapping) with keys gtin, plu, names or name_<lang>, price, vat, min_age, image."""
        given = row.get("names")
        if given is None:
            names = {lang: _text(row, f"name_{lang}") for lang in self.languages}
        elif isinstance(given, dict):
            names = {str(k): v.strip() for k, v in given.items() if isinstance(v, str)}
        else:
            raise RowInvalid(f"names: expected an object such as {{\"en\": \"Milk\"}}, got {json.dumps(given)}")
        price = row.get("price")
        if not isinstance(price, str):
            raise RowInvalid(f"price: expected a decimal amount such as \"1.99\", got {json.dumps(price)}")
        return self.columns(_text(row, "gtin"), _text(row, "plu"), names, price.strip(), _text(row, "vat"),
                            _text(row, "min_age"), _text(row, "image"))

    def csv_rows(self, header: list[str]) -> Callable[[list[str]], tuple]:
        """A validator for CSV records with this header: cells by position, no dict per row."""
        where = {name: index for index, name in enumerate(header)}
        names = tuple((lang, where[f"name_{lang}"]) for lang in self.languages if f"name_{lang}" in where)
        fields = [where.get(name) for name in ("gtin", "plu", "price", "vat", "min_age", "image")]
        width = max(where.values()) + 1

        def validate(cells: list[str]) -> tuple:
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            gtin_, plu, price, vat, min_age, image = (cells[i].strip() if i is not None else "" for i in fields)
            return self.columns(gtin_, plu, {lang: cells[i].strip() for lang, i in names}, price, vat, min_age, image)
        return validate

    def columns(self, code: str, plu: str, names: dict[str, str], price_text: str, vat: str, min_age: str,
                image: str) -> tuple:
        if not code and not plu:
            raise RowInvalid("needs a gtin or a plu")
        key = None
        if code:
            if len(code) == 13 and code.isdigit() and code.isascii() and gtin.check_digit(code[:12]) == code[12]:
                key = "0" + code  # the usual EAN-13, without the general path's overhead
            else:
                try:
                    key = gtin.normalize(code)
                except gtin.InvalidCode as exc:
                    raise RowInvalid(f"gtin: {exc}") from None
        if plu:
            if not (plu.isdigit() and plu.isascii() and len(plu) <= 6):
                raise RowInvalid(f"plu: expected 1 to 6 digits, got {plu!r}")
            plu = normalize_plu(plu)
        names = {lang: name for lang, name in names.items() if name}
        if not names:
            raise RowInvalid(f"needs a name in at least one of {', '.join(self.languages)}")
        if max(map(len, names.values())) > 120:
            raise RowInvalid("name: longer than 120 characters")
        try:
            price = parse_amount(price_text, self.currency)
        except ValueError as exc:
            raise RowInvalid(f"price: {exc}") from None
        if price < 0:
            raise RowInvalid(f"price: must not be negative, got {price_text!r}")
        if vat not in self.vat_codes:
            raise RowInvalid(f"vat: expected one of {', '.join(sorted(self.vat_codes))}, got {vat!r}")
        if min_age and not (min_age.isdigit() and int(min_age) <= 99):
            raise RowInvalid(f"min_age: expected a whole number of years 0-99, got {min_age!r}")
        return (key, plu or None, names_json(names), " ".join(names.values()), price, vat,
                int(min_age or 0), image)


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowInvalid(f"{key}: expected text, got {json.dumps(value)}")
    return str(value)


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
                cur = conn.execute(f"INSERT INTO items ({_INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)
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


_INSERT_COLUMNS = "gtin, plu, names, search_text, price, vat_code, min_age, image"


def _item(row: tuple) -> Item:
    return Item(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7])


# --- import -----------------------------------------------------------------------------------

def read_json_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(item number from 1, object) from a JSON list of objects."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RowInvalid(f"{path.name}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise RowInvalid(f"{path.name}: expected a JSON list of items")
    return enumerate(data, start=1)


def read_csv_chunks(path: Path, rows_per_chunk: int) -> tuple[list[str], Iterator[tuple[int, str]]]:
    """The header, and (first line number, text) chunks of whole CSV records for the validators to
    parse: reading stays cheap here while parsing happens in parallel."""
    f = path.open(encoding="utf-8-sig", newline="")
    header = next(csv.reader([f.readline()]), [])
    missing = {"price", "vat"} - set(header)
    if missing:
        f.close()
        raise RowInvalid(f"{path.name}: header line lacks column(s) {', '.join(sorted(missing))}")

    def chunks() -> Iterator[tuple[int, str]]:
        line = 2
        with f:
            try:
                while lines := list(itertools.islice(f, rows_per_chunk)):
                    text = "".join(lines)
                    while text.count('"') % 2 and (more := f.readline()):  # a quoted newline: keep the record whole
                        text += more
                    yield line, text
                    line += text.count("\n")
            except UnicodeDecodeError:
                raise RowInvalid(f"{path.name}: not UTF-8 text after line {line}") from None
    return header, chunks()


PARALLEL_MIN_BYTES = 4 << 20  # smaller files are validated in-process; a pool costs more than it saves
CHUNK_ROWS = 20_000


def import_file(path: str | Path, target: str | Path, validator: ItemValidator) -> ImportReport:
    """Replaces the catalog at `target` with the good rows of `path`; reports the bad ones.

    Builds a new database beside the target and renames it into place, so a crash or a power
    cut leaves the old catalog or the new one (close open Catalogs on the target first). Big files
    are validated by worker processes while this one inserts. JSON files number their items from 1."""
    path, target = Path(path), Path(target)
    report = ImportReport()
    tmp = target.with_name(target.name + ".import")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    if path.suffix.lower() == ".json":
        header, chunks = None, _chunks(iter(read_json_rows(path)), CHUNK_ROWS)
    else:
        header, chunks = read_csv_chunks(path, CHUNK_ROWS)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: keeps the key indexes in memory while they grow
        migrate(conn, MIGRATIONS, "catalog")
        conn.execute("BEGIN")
        seen: dict[tuple[str, str], int] = {}
        insert = f"INSERT INTO items (id, {_INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
        index = "INSERT INTO items_fts(rowid, search_text) VALUES (?, ?)"
        next_id = 1
        for chunk in _validated_chunks(chunks, header, validator, parallel=path.stat().st_size >= PARALLEL_MIN_BYTES):
            rows = list(_unique(chunk, report, seen))
            ids = range(next_id, next_id + len(rows))
            next_id += len(rows)
            conn.executemany(insert, ((item_id, *row) for item_id, row in zip(ids, rows)))
            # indexed as we go, while the workers validate the next chunks, not in a rebuild at the end
            conn.executemany(index, ((item_id, row[3]) for item_id, row in zip(ids, rows)))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    report.errors.sort(key=lambda error: error.line)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)
    os.replace(tmp, target)
    fsync_dir(target.parent)
    return report


Validated = list[tuple[int, "tuple | RowError"]]  # (line, columns or the reason the row was refused)


def _validate_chunk(validator: ItemValidator, header: list[str] | None, chunk: Any) -> Validated:
    """Validates a list of (item number, JSON object), or a (first line, CSV text) chunk."""
    out: Validated = []
    if header is not None:
        first_line, text = chunk
        validate = validator.csv_rows(header)
        reader = csv.reader(io.StringIO(text, newline=""))
        for cells in reader:
            if cells:
                line = first_line - 1 + reader.line_num
                try:
                    out.append((line, validate(cells)))
                except RowInvalid as exc:
                    out.append((line, RowError(line, str(exc))))
        return out
    for line, row in chunk:
        try:
            if not isinstance(row, dict):
                raise RowInvalid(f"expected an object, got {json.dumps(row)[:40]}")
            out.append((line, validator(row)))
        except RowInvalid as exc:
            out.append((line, RowError(line, str(exc))))
    return out


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _validated_chunks(chunks: Iterator, header: list[str] | None, validator: ItemValidator,
                      parallel: bool) -> Iterator[Validated]:
    if not parallel:
        for chunk in chunks:
            yield _validate_chunk(validator, header, chunk)
        return
    workers = max(1, (os.cpu_count() or 2) - 1)  # this process reads and inserts meanwhile
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: collections.deque = collections.deque()
        for chunk in chunks:
            pending.append(pool.submit(_validate_chunk, validator, header, chunk))
            if len(pending) > 2 * workers:  # bounded read-ahead: memory stays flat for any file size
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _unique(chunk: Validated, report: ImportReport, seen: dict[tuple[str, str], int]) -> Iterator[tuple]:
    """Good rows whose GTIN and PLU no earlier row had; `seen` maps keys to their first line."""
    for line, result in chunk:
        if isinstance(result, RowError):
            report.errors.append(result)
            continue
        gtin_key, plu = result[0], result[1]
        first = seen.setdefault(("gtin", gtin_key), line) if gtin_key else line
        if first == line and plu:
            first = seen.setdefault(("plu", plu), line)
            label = "plu"
        else:
            label = "gtin"
        if first != line:
            report.errors.append(RowError(line, f"{label}: duplicate of line {first}"))
            continue
        report.imported += 1
        yield result

