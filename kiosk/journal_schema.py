"""The journal's SQLite schema (kiosk/journal.py), as numbered migrations: append, never edit one
that has shipped (kiosk.db.migrate runs those a database has not had yet)."""
from __future__ import annotations

MIGRATIONS = [
    """
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters VALUES ('seq', 0);
    CREATE TABLE transactions (
        seq INTEGER PRIMARY KEY,             -- gap-free per kiosk, from counters.seq
        uuid TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('sale', 'checkin', 'event')),
        boot_id TEXT NOT NULL,
        device_time TEXT NOT NULL,
        total INTEGER,
        record TEXT NOT NULL                 -- JSON wire.TransactionRecord
    );
    CREATE TABLE sale_lines (
        tx_seq INTEGER NOT NULL REFERENCES transactions(seq),
        line_no INTEGER NOT NULL,
        item_id TEXT NOT NULL, name TEXT NOT NULL, quantity INTEGER NOT NULL,
        unit_price INTEGER NOT NULL, total INTEGER NOT NULL,
        vat_code TEXT NOT NULL, vat_rate INTEGER NOT NULL, voided INTEGER NOT NULL,
        PRIMARY KEY (tx_seq, line_no)
    );
    CREATE TABLE payments (
        intent_id TEXT PRIMARY KEY,
        sale_uuid TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('intent', 'in_doubt', 'approved', 'declined', 'cancelled', 'reversed')),
        draft TEXT,                          -- JSON of the sale being paid (lines, VAT, total)
        facts TEXT NOT NULL DEFAULT '{}',    -- what the terminal returned: brand, masked PAN, codes
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        tx_seq INTEGER REFERENCES transactions(seq)
    );
    CREATE INDEX payments_open ON payments(status) WHERE status IN ('intent', 'in_doubt');
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY REFERENCES transactions(seq),
        uuid TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 2 (issue 7): the maintenance audit log, hash-chained (kiosk/maintenance/audit.py)
    """
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,             -- 1, 2, 3... from counters.audit
        at TEXT NOT NULL,
        technician TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL,               -- JSON object
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,                  -- sha256 over prev_hash and this record's fields
        tx_seq INTEGER NOT NULL REFERENCES transactions(seq)  -- the outbox event that syncs it
    );
    INSERT INTO counters VALUES ('audit', 0);
    """,
    # 3: when a payment first went into doubt; kept after it is resolved, for the technician and audits
    """
    ALTER TABLE payments ADD COLUMN in_doubt_at TEXT;
    """,
]
