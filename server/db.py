"""The schema (SQLAlchemy Core), the engine and migrations. One code path for SQLite and PostgreSQL."""
from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements only INTEGER keys
Seq = sa.BigInteger()
Stamp = sa.String(32)  # ISO 8601 UTC with "Z": same text on both engines, sorts by time

kiosks = sa.Table(
    "kiosks", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("enrolled_at", Stamp, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_seen_at", Stamp),
    sa.Column("last_heartbeat_at", Stamp),
    sa.Column("app_version", sa.String(64)),
    sa.Column("device_states", sa.Text, nullable=False, server_default="{}"),
    sa.Column("queue_depth", sa.BigInteger),
    sa.Column("oldest_unsent_age_s", sa.Float),
    sa.Column("held_through", Seq, nullable=False, server_default="0"),
    sa.Column("max_seq", Seq, nullable=False, server_default="0"),
    sa.Column("config", sa.Text, nullable=False, server_default="{}"),
    sa.Column("config_version", sa.BigInteger, nullable=False, server_default="0"),
)

transactions = sa.Table(
    "transactions", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("seq", Seq, nullable=False),
    sa.Column("uuid", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("received_at", Stamp, nullable=False),
    sa.Column("receipt_token", sa.String(128), index=True, unique=True),  # a token names one sale (0002)
    sa.Column("booking_code", sa.String(128), index=True),
    sa.Column("flag", sa.Text),
    sa.UniqueConstraint("kiosk_id", "seq", name="uq_transactions_kiosk_seq"),
    sa.UniqueConstraint("uuid", name="uq_transactions_uuid"),
)

dead_letters = sa.Table(
    "dead_letters", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("seq", Seq, nullable=False),
    sa.Column("uuid", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("received_at", Stamp, nullable=False),
    sa.UniqueConstraint("kiosk_id", "seq", name="uq_dead_letters_kiosk_seq"),
)

alarms = sa.Table(
    "alarms", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)

catalog_items = sa.Table(
    "catalog_items", metadata,
    sa.Column("item_id", sa.String(128), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("change_no", sa.BigInteger, nullable=False, index=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
)

bookings = sa.Table(
    "bookings", metadata,
    sa.Column("code", sa.String(128), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("change_no", sa.BigInteger, nullable=False, index=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("used_by", sa.String(64)),  # the kiosk whose check-in came first
    sa.Column("used_at", Stamp),
)

# Named integers: "catalog" / "bookings" change numbers and their "<name>_horizon" (oldest delta we can serve).
counters = sa.Table(
    "counters", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

admin_tokens = sa.Table(
    "admin_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("note", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", Stamp, nullable=False),
)

admin_log = sa.Table(
    "admin_log", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False},
                                  pool_size=8, max_overflow=8)

        engine.info_write_lock = threading.Lock()

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # an acknowledged batch survives power loss too
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()
            dbapi_conn.isolation_level = None  # SQLAlchemy, not the driver, begins transactions: savepoints work

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[sa.Connection]:
    """A write transaction. SQLite allows one writer: its writers queue on a lock here instead of
    polling the database lock with sleeps (which wastes most of the time under load)."""
    lock = getattr(engine, "info_write_lock", None)
    with lock if lock is not None else contextlib.nullcontext():
        with engine.begin() as conn:
            yield conn


def migrate(engine: Engine) -> None:
    """Brings the database to the newest schema (alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def copy_database(source: Engine, target: Engine, chunk: int = 5000) -> dict[str, int]:
    """Copies every table from `source` into the empty, migrated `target` (SQLite -> PostgreSQL), in one
    target transaction; returns rows per table. Id sequences on PostgreSQL continue after the copied ids."""
    copied = {}
    with source.connect() as src, target.begin() as dst:
        for table in metadata.sorted_tables:
            if dst.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                if table.name == "counters":  # seeded by the migration: replaced by the source's values
                    dst.execute(sa.delete(table))
                else:
                    raise ValueError(f"target table {table.name} is not empty: copy into a fresh database")
            copied[table.name] = 0
            result = src.execution_options(stream_results=True).execute(sa.select(table))
            while rows := result.fetchmany(chunk):
                dst.execute(sa.insert(table), [dict(row._mapping) for row in rows])
                copied[table.name] += len(rows)
            if target.dialect.name == "postgresql" and "id" in table.c and table.c.id.autoincrement is True:
                dst.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"))
    return copied


# --- issue 17: signed kiosk releases and their rollout (migration 0005) ---------------------------------------

release_files = sa.Table(
    "release_files", metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("manifest", sa.Text, nullable=False),  # canonical JSON, exactly the signed bytes
    sa.Column("signature", sa.String(128), nullable=False),  # base64 Ed25519 over the manifest
    sa.Column("content", sa.LargeBinary, nullable=False),  # the wheel
    sa.Column("uploaded_at", Stamp, nullable=False),
)

release_rollouts = sa.Table(
    "release_rollouts", metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("percent", sa.Integer, nullable=False),  # canary share of the site's kiosks that get `version`
    sa.Column("stable_version", sa.String(64)),  # what the others run
    sa.Column("updated_at", Stamp, nullable=False),
)

release_sites = sa.Table(
    "release_sites", metadata,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
)
