"""The sync client's side of the wire: requests built from the kiosk.wire models, replies validated with
them (a reply that does not fit is a SyncError naming what was wrong), and the conversions of pulled rows."""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from kiosk.wire import BookingRow, CatalogRow

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("kiosk.sync")


class SyncError(Exception):
    """One sync step failed; str() says why in words a technician understands."""


def _catalog_row(validator: Callable[[dict], tuple] | None) -> Callable[[dict], tuple]:
    """A catalog row as the server sends it (kiosk.wire.CatalogRow) -> the catalog validator's tuple."""
    def convert(item: dict) -> tuple:
        # ValidationError (a ValueError) when a key field is wrong; a null key counts as absent, as at the server
        CatalogRow.model_validate({k: v for k, v in item.items() if v is not None})
        return validator(item)
    return convert


def _booking(item: dict):
    """A booking as the server sends it -> kiosk.bookings.Booking; ValueError/KeyError/TypeError if unusable."""
    from kiosk.bookings import Booking, normalize_code
    BookingRow.model_validate(item)  # ValidationError (a ValueError) when the code is missing or wrong
    code = normalize_code(str(item["code"]))
    if code is None:
        raise ValueError(f"booking code {item['code']!r} is not 4 to 16 letters or digits")
    status = "checked_in" if item.get("used") else str(item.get("status") or "booked")
    return Booking(code, str(item.get("name", "")), datetime.fromisoformat(item["slot_start"]),
                   datetime.fromisoformat(item["slot_end"]), int(item.get("party_size", 1)), status)


def _record_of(payload: str) -> dict:
    """An outbox payload as JSON. One that no longer parses (a damaged row) still goes up, wrapped: the
    server dead-letters it with the reason and acknowledges it, so it is kept centrally and the queue moves on."""
    try:
        record = json.loads(payload)
    except ValueError:
        record = None
    return record if isinstance(record, dict) else {"unreadable_outbox_payload": payload}


def _problems(exc: ValidationError, limit: int = 3) -> str:
    """A pydantic error in a technician's words: 'held_through: Input should be a valid integer; ...'."""
    errors = exc.errors(include_url=False)
    parts = [f"{'.'.join(map(str, e['loc'])) or 'the body'}: {e['msg']}" for e in errors[:limit]]
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)


def _parse(model: type[M], response: httpx.Response, doing: str) -> M:
    """The reply validated with its kiosk.wire model; SyncError naming what was wrong if it does not fit.

    Fields this kiosk does not know are dropped, not refused (the wire models forbid extras for requests):
    a server newer than the kiosk may add a field to a reply without stopping the fleet's sync."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        error = exc
    errors = error.errors(include_url=False)
    if all(e["type"] == "extra_forbidden" for e in errors):
        data = json.loads(response.content)  # it parsed: the only complaint was fields unknown here
        for e in errors:
            _remove(data, e["loc"])
        try:
            reply = model.model_validate(data)
        except ValidationError as exc:
            error = exc
        else:
            log.debug("sync: ignored fields unknown to this kiosk in the %s reply: %s", model.__name__,
                      ", ".join(".".join(map(str, e["loc"])) for e in errors))
            return reply
    raise SyncError(f"server sent an invalid {model.__name__} ({response.status_code}) when {doing}: "
                    f"{_problems(error)}; nothing was applied")


def _remove(data: Any, loc: tuple) -> None:
    for step in loc[:-1]:
        data = data[step]
    if isinstance(data, dict):
        data.pop(loc[-1], None)


def _build(model: type[M], what: str, **fields) -> M:
    """A request built from its kiosk.wire model; SyncError if the kiosk's own data does not fit it."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise SyncError(f"{what} does not fit the server's schema: {_problems(exc)}") from None


def _describe(response: httpx.Response, doing: str) -> str:
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, dict) else body
    except ValueError:
        detail = response.text[:200]
    return f"server answered {response.status_code} when {doing}: {str(detail)[:300]}"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
