"""Catalog import from a CSV or JSON file: validated in parallel for big files, written into a new
database that replaces the old one atomically."""
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
from pathlib import Path
from typing import Any, Iterator

from kiosk.catalog.rows import ImportRefused, ImportReport, ItemValidator, RowError, RowInvalid
from kiosk.catalog.store import INSERT_COLUMNS, MIGRATIONS
from kiosk.db import fsync_dir, migrate


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
    parse: reading stays cheap here while parsing happens in parallel. Text that is not UTF-8 refuses
    the file, naming the line (a Latin-1 export is wrong throughout, not in one row)."""
    f = path.open("rb")
    try:
        first = f.readline()
        header = next(csv.reader([_decoded(path, first, 1, bom=True)]), [])
    except BaseException:
        f.close()
        raise
    missing = {"price", "vat"} - set(header)
    if missing:
        f.close()
        raise RowInvalid(f"{path.name}: header line lacks column(s) {', '.join(sorted(missing))}")

    def chunks() -> Iterator[tuple[int, str]]:
        line = 2
        with f:
            while lines := list(itertools.islice(f, rows_per_chunk)):
                data = b"".join(lines)
                while data.count(b'"') % 2 and (more := f.readline()):  # a quoted newline: keep the record whole
                    data += more
                yield line, _decoded(path, data, line)
                line += data.count(b"\n")
    return header, chunks()


def _decoded(path: Path, data: bytes, line: int, bom: bool = False) -> str:
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        bad = line + data.count(b"\n", 0, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RowInvalid(f"{path.name}: line {bad}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column "
                         f"{column}); save the file as UTF-8") from None


PARALLEL_MIN_BYTES = 4 << 20  # smaller files are validated in-process; a pool costs more than it saves
CHUNK_ROWS = 20_000


def import_file(path: str | Path, target: str | Path, validator: ItemValidator, allow_empty: bool = False) -> ImportReport:
    """Replaces the catalog at `target` with the good rows of `path`; reports the bad ones.

    Builds a new database beside the target and renames it into place, so a crash or a power
    cut leaves the old catalog or the new one (close open Catalogs on the target first). Big files
    are validated by worker processes while this one inserts. JSON files number their items from 1.

    A file without a single good row (an empty list, a header-only CSV, every row bad) raises
    ImportRefused and keeps the old catalog, unless `allow_empty` (emptying the catalog on purpose)."""
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
        insert = f"INSERT INTO items (id, {INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
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
    except BaseException:
        conn.close()
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    conn.close()
    report.errors.sort(key=lambda error: error.line)
    if not report.imported and not allow_empty:
        tmp.unlink(missing_ok=True)
        shown = "".join(f"\n{error}" for error in report.errors[:20])
        more = f"\n... and {len(report.errors) - 20} more" if len(report.errors) > 20 else ""
        raise ImportRefused(f"{path.name}: no good rows ({len(report.errors)} refused); the catalog is "
                            f"unchanged{shown}{more}", report)
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
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # a 50 MB cell (the field limit), a NUL byte: this record only
                line = first_line - 1 + reader.line_num
                out.append((line, RowError(line, f"not a CSV record: {exc}")))
                continue
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
