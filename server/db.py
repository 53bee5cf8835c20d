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
    sa.Column("clock_skew_s", sa.Float),  # the kiosk's clock minus the server's at its last heartbeat (0007)
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


# --- The live channel (issue 15, migration 0003): lanes, interventions, attendant commands -------------------
# A lane row holds the kiosk's newest LiveState (JSON), its status as the board shows it and which command
# stream holds it (stream_id, refreshed at stream_alive_at: a lease, so a crashed process's streams lapse).
live_lanes = sa.Table(
    "live_lanes", metadata,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("boot_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("seq", Seq, nullable=False, server_default="0"),
    sa.Column("state", sa.Text),
    sa.Column("state_at", Stamp),
    sa.Column("status", sa.String(32), nullable=False, server_default="offline"),
    sa.Column("status_since", Stamp),
    sa.Column("stream_id", sa.String(64)),
    sa.Column("stream_alive_at", Stamp),
    sa.Column("last_seen_at", Stamp),
)

# open_kind = kind while the intervention is open, NULL once resolved: at most one open one per kiosk and kind.
live_interventions = sa.Table(
    "live_interventions", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("open_kind", sa.String(32)),
    sa.Column("session_id", sa.String(64)),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("raised_at", Stamp, nullable=False),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("acknowledged_at", Stamp),
    sa.Column("resolved_by", sa.String(200)),
    sa.Column("resolved_at", Stamp),
    sa.UniqueConstraint("kiosk_id", "open_kind", name="uq_live_interventions_open"),
)

live_commands = sa.Table(
    "live_commands", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("session_id", sa.String(64)),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("issued_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("answered_at", Stamp),
    sa.Column("intervention_id", sa.BigInteger),
)


# Console (issue 15, migration 0004): sites, attendant users, their sites, browser sessions; a kiosk's site.
kiosks.append_column(sa.Column("site_id", sa.String(64), index=True))

sites = sa.Table(
    "sites", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
)

console_users = sa.Table(
    "console_users", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("role", sa.String(16), nullable=False),  # attendant | manager | admin
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", Stamp),
    sa.Column("created_at", Stamp, nullable=False),
)

user_sites = sa.Table(
    "user_sites", metadata,
    sa.Column("user_name", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.String(64), primary_key=True),
)

console_sessions = sa.Table(
    "console_sessions", metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie value
    sa.Column("user_name", sa.String(64), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("last_seen_at", Stamp, nullable=False),
)


# --- Fleet insight (issue 16, migration 0006): raw session rows and their rollups -------------------------------
# Raw rows are kept for INSIGHT retention days (drill-down); the dashboards read only the rollups, which the
# ingest of a batch updates in its own transaction. Metric names and the time-to-complete histogram: server/insight.py.
COMPLETE_EDGES_S = (10, 20, 30, 45, 60, 90, 120, 150, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600)  # + overflow
SUM_METRICS = ("sessions", "completed", "abandoned_idle", "cancelled", "handed_to_staff", "out_of_service",
               "reached_scan", "reached_payment", "paid", "receipt_chosen", "complete_ms",
               "rating_1", "rating_2", "rating_3", "rating_4", "rating_5", "easy_yes", "easy_no", "large_text",
               "language_switches", "help_calls", "scans", "taps", "searches", "unknown_codes", "messages",
               "age_checks", "age_wait_ms", "payment_attempts", "declines", "revenue_minor",
               *(f"d{i:02d}" for i in range(len(COMPLETE_EDGES_S) + 1)))
HOUR_METRICS = tuple(f"h{i:02d}" for i in range(24))  # sessions started in each hour of the day (daily rollup)


def _metric_columns(names) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in names]


insight_sessions = sa.Table(
    "insight_sessions", metadata,
    sa.Column("session_id", sa.String(36), primary_key=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("started_at", Stamp, nullable=False),
    sa.Column("duration_ms", sa.BigInteger, nullable=False),
    sa.Column("flow", sa.String(16), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("scans", sa.Integer, nullable=False),
    sa.Column("help_calls", sa.Integer, nullable=False),
    sa.Column("declines", sa.Integer, nullable=False),
    sa.Column("rating", sa.SmallInteger),
    sa.Column("easy", sa.Boolean),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default=""),
    sa.Index("ix_insight_sessions_kiosk_started", "kiosk_id", "started_at"),
    sa.Index("ix_insight_sessions_started", "started_at"),
    sa.Index("ix_insight_sessions_site_started", "site_id", "started_at"),  # a site's drill-down
)

insight_hourly = sa.Table(
    "insight_hourly", metadata,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("hour", sa.String(13), primary_key=True),  # "2026-12-01T09", UTC
    sa.Column("flow", sa.String(16), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False, server_default=""),
    *_metric_columns(SUM_METRICS),
)

insight_daily = sa.Table(
    "insight_daily", metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # "2026-12-01", UTC
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("flow", sa.String(16), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    *_metric_columns(SUM_METRICS + HOUR_METRICS),
)

insight_alert_rules = sa.Table(  # per site: thresholds that raise an "insight" intervention on the lane board
    "insight_alert_rules", metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("min_completion_rate", sa.Float),  # %, over the window
    sa.Column("max_help_per_100", sa.Float),  # over the window
    sa.Column("min_rating_avg", sa.Float),  # over the last `rating_last_n` rated sessions
    sa.Column("rating_last_n", sa.Integer, nullable=False, server_default="50"),
    sa.Column("window_hours", sa.Integer, nullable=False, server_default="24"),
    sa.Column("min_sessions", sa.Integer, nullable=False, server_default="20"),  # fewer: no verdict yet
)

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

# what kiosk-update said of each release it tried (migration 0010); a rollback halts that release's rollout
release_reports = sa.Table(
    "release_reports", metadata,
    sa.Column("report_id", sa.String(36), primary_key=True),  # the kiosk's: a resend is the same row
    sa.Column("kiosk_id", sa.String(64), nullable=False, index=True),
    sa.Column("version", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),  # kept | rolled_back | intervention
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("kiosk_time", sa.String(40), nullable=False),
    sa.Column("received_at", Stamp, nullable=False),
)

# --- Fleet insight: device fault spans per kiosk (issue 16, migration 0008) -------------------------------------
# One row per device fault as the kiosk's live state reports it: opened when a device stops reporting "ok", closed
# (ended_at) when it does again. Uptime per device over a period is the period minus its fault spans.
insight_device_faults = sa.Table(
    "insight_device_faults", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("detail", sa.String(256), nullable=False, server_default=""),
    sa.Column("started_at", Stamp, nullable=False),
    sa.Column("ended_at", Stamp),  # NULL: still faulty
    sa.Index("ix_insight_device_faults_kiosk_started", "kiosk_id", "started_at"),
    sa.Index("ix_insight_device_faults_started", "started_at"),
)

# --- issue 15 follow-up (migration 0009): failed console logins per (user, client address) ----------------------
# Five in a row from one address lock the account for that address only (docs/console.md, "Login throttling").
console_login_failures = sa.Table(
    "console_login_failures", metadata,
    sa.Column("user_name", sa.String(64), primary_key=True),
    sa.Column("client", sa.String(64), primary_key=True),  # the client address as the server sees it
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", Stamp),
    sa.Column("last_failed_at", Stamp, nullable=False),
)
