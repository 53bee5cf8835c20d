"""Server settings from `KSERVER_<KEY>` environment variables (never `KIOSK_`: that prefix is the kiosk's).

    KSERVER_DATA_DIR       where the default SQLite file lives          (default: var/server)
    KSERVER_DATABASE_URL   SQLAlchemy URL or a postgresql:// DSN          (default: SQLite in the data dir)
    KSERVER_ADMIN_TOKEN    an admin token accepted besides those made by `kiosk-server admin admin-token`
    KSERVER_FULL_AFTER     a delta longer than this many changes is sent as a full snapshot instead
    KSERVER_API_DOCS       1: serve the interactive API docs at /v1/docs and /v1/redoc (default: off)
    KSERVER_MAX_BATCH_BYTES / _MAX_LOAD_BYTES / _MAX_BODY_BYTES, KSERVER_HEADER_TIMEOUT, KSERVER_BODY_TIMEOUT,
    KSERVER_KEEP_ALIVE, KSERVER_MAX_CONNECTIONS, KSERVER_FAILURE_BURST, KSERVER_FAILURE_REFILL_S: the request
    limits and the throttle (docs/server.md, "Limits and throttling")
    KSERVER_CONSOLE_IDLE_S a console session ends after this many seconds without a request (default 1800)
    KSERVER_CONSOLE_HTTPS  1: the console is served over HTTPS by a proxy in front: Secure cookies, https origin
    KSERVER_CONSOLE_LOGIN_BURST, KSERVER_CONSOLE_LOGIN_REFILL_S: failed console logins per client address
                           before 429, and the seconds that earn one more try (docs/console.md)
    KSERVER_LIVE_OFFLINE_MINUTES, KSERVER_LIVE_COMMAND_TTL_S, KSERVER_LIVE_OUTBOX_ALERT, KSERVER_LIVE_PING_S,
    KSERVER_LIVE_LEASE_S, KSERVER_LIVE_TOKEN_CACHE_S: the live channel (docs/live.md)
    KSERVER_INSIGHT_RETENTION_DAYS  raw session rows older than this many days go with `admin insight-purge`
                           (default 400); the rollups the dashboards read are kept
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PREFIX = "KSERVER_"
MIN_ADMIN_TOKEN = 32


class SettingsError(Exception):
    """str() names the variable and what is wrong with it."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: str = "var/server"
    database_url: str = ""
    admin_token: str = ""
    full_after: Annotated[int, Field(ge=1)] = 5000
    api_docs: bool = False
    max_batch_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    max_load_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024 * 1024
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    header_timeout: Annotated[float, Field(gt=0, le=3600)] = 10
    body_timeout: Annotated[float, Field(gt=0, le=3600)] = 30
    keep_alive: Annotated[float, Field(gt=0, le=3600)] = 5
    max_connections: Annotated[int, Field(ge=10)] = 4000  # each kiosk holds 2 (its command stream + posts)
    failure_burst: Annotated[int, Field(ge=1)] = 20
    failure_refill_s: Annotated[float, Field(gt=0)] = 3
    console_idle_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 1800
    console_https: bool = False
    console_login_burst: Annotated[int, Field(ge=1)] = 10
    console_login_refill_s: Annotated[float, Field(gt=0, le=86400)] = 60
    live_offline_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 2
    live_command_ttl_s: Annotated[float, Field(gt=0, le=3600)] = 30
    live_outbox_alert: Annotated[int, Field(ge=1)] = 100
    live_ping_s: Annotated[float, Field(gt=0, le=300)] = 15
    live_lease_s: Annotated[float, Field(gt=0, le=3600)] = 45
    live_token_cache_s: Annotated[float, Field(ge=0, le=60)] = 10
    insight_retention_days: Annotated[int, Field(ge=1, le=36600)] = 400  # raw session rows (issue 16)

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, token: str) -> str:
        if token and len(token) < MIN_ADMIN_TOKEN:
            raise ValueError(f"must be at least {MIN_ADMIN_TOKEN} characters (it has {len(token)}); make one with "
                             "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return token

    @property
    def url(self) -> str:
        """The SQLAlchemy URL; a plain postgresql:// DSN is routed to psycopg 3."""
        url = self.database_url or f"sqlite:///{Path(self.data_dir) / 'server.db'}"
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain):]
        return url


def load(environ: Mapping[str, str] | None = None) -> ServerSettings:
    environ = os.environ if environ is None else environ
    fields = ServerSettings.model_fields
    values = {}
    for name, value in environ.items():
        if not name.startswith(PREFIX):
            continue
        key = name[len(PREFIX):].lower()
        if key not in fields:
            raise SettingsError(f"{name}: not a setting; expected one of "
                                + ", ".join(PREFIX + k.upper() for k in fields))
        values[key] = value
    try:
        return ServerSettings.model_validate(values)
    except ValidationError as exc:
        raise SettingsError("; ".join(f"{PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}"
                                      + ("" if e['loc'][0] == "admin_token" else f", got {e.get('input')!r}")
                                      for e in exc.errors())) from None
