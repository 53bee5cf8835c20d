"""What the server checks in a kiosk's record beyond its shape (issue 14: trust no kiosk further than its own data).

A record that fails one of these checks is dead-lettered with the reason, like a record of the wrong shape.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
MIN_TOKEN_HEX = 32  # 128 bits: what the kiosk's uuid4().hex gives
MAX_TEXT = 500  # a free-text field of a record (item names, codes, event details)
MAX_DETAILS = 50  # keys of an event's details
SEQ_WINDOW = 100_000  # a seq this far above what the server holds is refused
DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")
LONG_RUN = re.compile(r"\d(?:[ -]?+\d){12}")  # 13 digits in one run: the least a card number needs (a quick "no")
# Random ids are not card numbers: a run inside a UUID does not count (its all-digit groups, joined by dashes, pass
# Luhn one time in ten), and a digit run inside a hex word (a uuid4().hex, a hash) does not count.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
KEYS = ("body.receipt_token", "body.booking_code", ".item_id")  # keys, not free text (a GTIN may pass Luhn)
BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def token_problem(token: str) -> str:
    """Receipt tokens open a public page: they must be unguessable (≥ 128 bits, no trivial pattern)."""
    if not TOKEN_CHARS.match(token):
        return "body.receipt_token: expected 32 to 128 characters of A-Z a-z 0-9 _ -"
    if sum(ch in "0123456789abcdefABCDEF" for ch in token) < MIN_TOKEN_HEX:
        return f"body.receipt_token: expected at least {MIN_TOKEN_HEX} hex digits (128 bits)"
    if trivial(token):
        return "body.receipt_token: a trivial pattern, not a random token"
    return ""


def trivial(token: str) -> bool:
    """Few distinct characters, a short repeated period, or a long run of increasing/decreasing digits."""
    if len(set(token.lower())) < 8:
        return True
    for period in range(1, len(token) // 2 + 1):  # "abab...", "0123456789abcdef" twice
        if token[period:] == token[:-period]:  # every character equals the one `period` before it
            return True
    steps = [ord(b) - ord(a) for a, b in zip(token, token[1:])]
    run = best = 0
    for i, step in enumerate(steps):
        run = run + 1 if i and step == steps[i - 1] and abs(step) <= 1 else 1
        best = max(best, run)
    return best >= 16


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_number_in(text: str) -> bool:
    """A Luhn-valid 13–19 digit number (spaces or dashes between digits allowed) anywhere in the text."""
    return LONG_RUN.search(text) is not None and any(_is_card_number(text, match)
                                                     for match in DIGIT_RUN.finditer(text))


def _is_card_number(text: str, match: re.Match) -> bool:
    groups = re.split(r"[ -]", match.group())  # "qty 2 4111 1111 1111 1111": the card number is a part of the run
    if not any(13 <= len(d) <= 19 and luhn(d) for i in range(len(groups))
               for d in ("".join(groups[i:j]) for j in range(i + 1, len(groups) + 1))):
        return False
    start, end = match.span()
    if any(u.start() <= start and end <= u.end() for u in UUID.finditer(text)):
        return False
    while start and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    word = text[start:end]
    return not (word != match.group() and re.fullmatch(r"[0-9a-fA-F]+", word))


def mask_card_numbers(text: str) -> str:
    """`text` with every Luhn-valid 13–19 digit run cut to its last four digits ("****1111"): what a dead
    letter keeps of a record that carried a card number."""
    def mask(match: re.Match) -> str:
        return "****" + re.sub(r"\D", "", match.group())[-4:] if _is_card_number(text, match) else match.group()
    return DIGIT_RUN.sub(mask, text)


def _texts(body) -> list[tuple[str, str]]:
    kind = body.kind
    if kind == "sale":
        fields = [("receipt_token", body.receipt_token), ("currency", body.currency)]
        for i, l in enumerate(body.lines):
            fields += [(f"lines.{i}.{n}", getattr(l, n) or "") for n in ("item_id", "name", "vat_code",
                                                                          "age_approved_by")]
        for i, v in enumerate(body.vat):
            fields.append((f"vat.{i}.code", v.code))
        for i, p in enumerate(body.payments):
            fields += [(f"payments.{i}.{n}", getattr(p, n)) for n in ("brand", "auth_code", "receipt_no", "trace_no",
                                                                      "terminal_id")]
        return fields
    if kind == "checkin":
        return [("booking_code", body.booking_code)]
    fields = [("event", body.event)]
    for key, value in body.details.items():
        fields.append((f"details.{key[:40]}", key))
        if isinstance(value, str):
            fields.append((f"details.{key[:40]}", value))
    return fields


def seq_problem(seq: int, held_through: int) -> str:
    """A seq far above what the server holds would open a huge gap (and a kiosk counts from 1, gap-free)."""
    if seq > held_through + SEQ_WINDOW:
        return f"seq {seq} is more than {SEQ_WINDOW} above what the server holds ({held_through})"
    return ""


def record_problem(record, text: str | None = None) -> str:
    """The first thing wrong with a well-shaped TransactionRecord, or "". `text`: its JSON, if already made."""
    try:
        when = datetime.fromisoformat(record.device_time)
    except ValueError:
        return "device_time: not an ISO 8601 timestamp"
    if when.tzinfo is None or "T" not in record.device_time:
        return "device_time: expected an ISO 8601 date and time with a UTC offset"
    text = record.model_dump_json() if text is None else text
    if "\\u0000" in text:  # PostgreSQL text cannot hold NUL: a clear refusal, not a 500
        return "a text field holds a NUL character"
    # Every text field is in the JSON verbatim (it escapes no digit, space or dash): no long digit run there, none
    # in any field, and most records skip the per-field card number search.
    digits = LONG_RUN.search(text) is not None
    body = record.body
    for name, value in [("boot_id", record.boot_id), *(("body." + n, v) for n, v in _texts(body))]:
        if len(value) > MAX_TEXT:
            return f"{name}: longer than {MAX_TEXT} characters"
        if digits and not name.endswith(KEYS) and card_number_in(value):
            return f"{name}: holds what looks like a full card number (Luhn-valid 13–19 digits)"
    if body.kind == "event" and len(body.details) > MAX_DETAILS:
        return f"body.details: more than {MAX_DETAILS} keys"
    if body.kind == "sale":
        return sale_problem(body)
    return ""


def sale_problem(sale) -> str:
    problem = token_problem(sale.receipt_token)
    if problem:
        return problem
    live = [l for l in sale.lines if not l.voided]
    if sum(l.total for l in live) != sale.total:
        return f"body.total {sale.total} differs from the sum of the non-voided lines {sum(l.total for l in live)}"
    by_code: dict[str, int] = defaultdict(int)
    for l in live:
        by_code[l.vat_code] += l.total
    summaries = {v.code: v for v in sale.vat}
    if len(summaries) != len(sale.vat):
        return "body.vat: a VAT code is summarised twice"
    for code, gross in by_code.items():
        if code not in summaries and gross:
            return f"body.vat: no summary for VAT code {code!r} of the lines"
    for v in sale.vat:
        if v.gross != by_code.get(v.code, 0):
            return f"body.vat {v.code!r}: gross {v.gross} differs from its lines' {by_code.get(v.code, 0)}"
        if v.net + v.vat != v.gross:
            return f"body.vat {v.code!r}: net {v.net} + vat {v.vat} differs from gross {v.gross}"
    if any(p.amount < 0 for p in sale.payments):
        return "body.payments: a negative amount"
    paid = sum(p.amount for p in sale.payments if p.status == "approved")
    if paid != sale.total:
        return f"body.payments: approved payments {paid} differ from the total {sale.total}"
    return ""


def neutralise_bidi(text: str) -> str:
    """Bidirectional embedding/override/isolate characters could make a receipt line read differently."""
    return text.translate(BIDI)
