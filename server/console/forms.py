"""Form bodies without python-multipart: the console posts only url-encoded forms."""
from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import HTTPException, Request


async def form_of(request: Request) -> dict[str, str]:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    try:
        fields = parse_qs(body, max_num_fields=50)
    except ValueError:
        raise HTTPException(400, "a form with more than 50 fields") from None
    return {key: values[0] for key, values in fields.items()}
