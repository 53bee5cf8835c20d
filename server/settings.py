"""Server settings from `KSERVER_<KEY>` environment variables (never `KIOSK_`: that prefix is the kiosk's).

    KSERVER_DATA_DIR       where the default SQLite file lives          (default: var/server)
    KSERVER_DATABASE_URL   SQLAlchemy URL or a postgresql:// DSN          (default: SQLite in the data dir)
    KSERVER_ADMIN_TOKEN    an admin token accepted besides those made by `kiosk-server admin admin-token`
    KSERVER_FULL_AFTER     a delta longer than this many changes is sent as a full snapshot instead
    KSERVER_API_DOCS       1: serve the interactive API docs at /v1/docs and /v1/redoc (default: off)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PREFIX = "KSERVER_"


class SettingsError(Exception):
    """str() names the variable and what is wrong with it."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: str = "var/server"
    database_url: str = ""
    admin_token: str = ""
    full_after: Annotated[int, Field(ge=1)] = 5000
    api_docs: bool = False

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
        raise SettingsError("; ".join(f"{PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}, got {e.get('input')!r}"
                                      for e in exc.errors())) from None
