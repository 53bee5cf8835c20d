"""Catalog and bookings: loaded from files by the admin, pulled by kiosks as deltas.

Every load takes the next change number of its data set and stamps the rows it changes (deletions
stay as tombstones). A kiosk asks for the changes since the number it holds; it gets a full snapshot
when it holds nothing, is older than the oldest tombstone kept (the horizon), claims a number the
server never issued (a restored server), or is so far behind that a snapshot is smaller.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kiosk.wire import Delta
from server.db import bookings, catalog_items, counters
from server.ingest import bump, canonical


@dataclass(frozen=True)
class DataSet:
    name: str
    table: sa.Table
    key: str  # the table's key column, and the name of the key in delta deletions

    @property
    def column(self) -> sa.Column:
        return self.table.c[self.key]

    def key_of(self, item: dict) -> object:
        if self is CATALOG:
            return catalog_key(item)
        return item.get(self.key)


def catalog_key(item: dict) -> object:
    """The kiosk catalog's item key: "item_id" if given, else the GTIN zero-padded to 14 digits, else "PLU:<plu>".
    (A UPC-E-only item needs an explicit item_id: expanding UPC-E is the kiosk's business.)"""
    if "item_id" in item:
        return item["item_id"]
    code = str(item.get("gtin") or "").strip()
    if code:
        return code.zfill(14) if code.isdigit() and code.isascii() and len(code) in (8, 12, 13, 14) else None
    plu = str(item.get("plu") or "").strip()
    return f"PLU:{plu}" if plu else None


CATALOG = DataSet("catalog", catalog_items, "item_id")
BOOKINGS = DataSet("bookings", bookings, "code")
DATASETS = {d.name: d for d in (CATALOG, BOOKINGS)}


class LoadError(Exception):
    """str() names the file, the item and what is wrong."""


def read_items(path: Path, dataset: DataSet) -> list[dict]:
    """A JSON list of objects (or {"items": [...]}) or a CSV file with a header row."""
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as f:  # cells stay text: the kiosk validates them
                items = [{k: v for k, v in row.items() if v} for row in csv.DictReader(f)]
        else:
            items = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(items, dict):
                items = items.get("items")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error, ValueError) as exc:
        raise LoadError(f"{path}: {exc}") from None
    return check_items(items, dataset, str(path))


def check_items(items: object, dataset: DataSet, source: str) -> list[dict]:
    if not isinstance(items, list):
        raise LoadError(f"{source}: expected a list of {dataset.name} items")
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        key = dataset.key_of(item) if isinstance(item, dict) else None
        if not isinstance(key, str) or not key or len(key) > 128 or "\x00" in key:
            what = "a gtin of 8, 12, 13 or 14 digits, a plu or an item_id" if dataset is CATALOG else "a code"
            raise LoadError(f"{source}: item {n}: expected an object with {what} (text, 1 to 128 characters)")
        if key in seen:
            raise LoadError(f"{source}: item {n}: {dataset.key} {key!r} appears twice")
        seen.add(key)
    return items


def load(conn: Connection, dataset: DataSet, items: list[dict], replace: bool = True) -> dict:
    """Upserts `items`; with `replace`, every held item not in `items` is deleted. One change number for all."""
    held = {row[0]: (row[1], row[2]) for row in conn.execute(
        sa.select(dataset.column, dataset.table.c.data, dataset.table.c.deleted))}
    upserts, inserts = [], []
    for item in items:
        key, data = dataset.key_of(item), canonical(item)
        if key not in held:
            inserts.append({dataset.key: key, "data": data})
        elif held[key] != (data, False):
            upserts.append({"k": key, "data": data})
    wanted = {dataset.key_of(item) for item in items}
    deletes = [k for k, (_, deleted) in held.items() if replace and not deleted and k not in wanted]
    if not (upserts or inserts or deletes):
        return {"version": version(conn, dataset.name), "changed": 0, "deleted": 0}
    change_no = bump(conn, dataset.name)
    if inserts:
        conn.execute(sa.insert(dataset.table), [dict(row, change_no=change_no, deleted=False) for row in inserts])
    if upserts:
        conn.execute(sa.update(dataset.table).where(dataset.column == sa.bindparam("k"))
                     .values(data=sa.bindparam("data"), change_no=change_no, deleted=False), upserts)
    if deletes:
        conn.execute(sa.update(dataset.table).where(dataset.column == sa.bindparam("k"))
                     .values(change_no=change_no, deleted=True), [{"k": k} for k in deletes])
    return {"version": change_no, "changed": len(upserts) + len(inserts), "deleted": len(deletes)}


def version(conn: Connection, name: str) -> int:
    return conn.execute(sa.select(counters.c.value).where(counters.c.name == name)).scalar() or 0


def delta(conn: Connection, dataset: DataSet, since: int, full_after: int) -> Delta:
    current = version(conn, dataset.name)  # read first: rows committed meanwhile are only sent twice, never missed
    if since == current:
        return Delta(version=current, full=False, upserts=[], deletes=[])
    table = dataset.table
    full = since <= 0 or since > current or since < version(conn, f"{dataset.name}_horizon")
    if not full:
        changed = conn.execute(sa.select(sa.func.count()).where(table.c.change_no > since)).scalar()
        full = changed > full_after
    query = sa.select(table).order_by(dataset.column)
    query = query.where(sa.not_(table.c.deleted)) if full else query.where(table.c.change_no > since)
    upserts, deletes = [], []
    for row in conn.execute(query):
        if row.deleted:
            deletes.append(row._mapping[dataset.key])
        else:
            upserts.append(_item(dataset, row))
    return Delta(version=current, full=full, upserts=upserts, deletes=deletes)


def _item(dataset: DataSet, row) -> dict:
    item = json.loads(row.data)
    if dataset is BOOKINGS:
        item.update(used=row.used_by is not None, used_by=row.used_by, used_at=row.used_at)
    return item


def compact(conn: Connection, dataset: DataSet) -> int:
    """Drops the tombstones; kiosks older than now get a full snapshot next time. Returns how many were dropped."""
    current = version(conn, dataset.name)
    dropped = conn.execute(sa.delete(dataset.table).where(dataset.table.c.deleted)).rowcount
    conn.execute(sa.update(counters).where(counters.c.name == f"{dataset.name}_horizon").values(value=current))
    return dropped
