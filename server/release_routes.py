"""The kiosk's side of releases: which release to run (signed manifest) and its wheel."""

from typing import Any

from fastapi import FastAPI, HTTPException, Path, Response
from sqlalchemy.engine import Engine

from server import releases

Version = Path(max_length=64, pattern=r"^[A-Za-z0-9.+!_-]+$")


def add_routes(app: FastAPI, engine: Engine, kiosk: Any) -> None:
    """`kiosk`: the dependency that makes the path's kiosk id the token's own."""

    @app.get("/v1/kiosks/{kiosk_id}/release", responses={204: {"description": "no release assigned"}})
    def get_release(kiosk_id: kiosk) -> Any:
        with engine.connect() as conn:
            found = releases.release_for(conn, kiosk_id)
        if found is None:
            return Response(status_code=204)
        return {**found, "wheel": f"/v1/kiosks/{kiosk_id}/releases/{found['version']}/wheel"}

    @app.get("/v1/kiosks/{kiosk_id}/releases/{version}/wheel", response_class=Response)
    def get_wheel(kiosk_id: kiosk, version: str = Version) -> Response:
        with engine.connect() as conn:
            found = releases.wheel_content(conn, version)
        if found is None:
            raise HTTPException(404, f"no release {version}")
        filename, content = found
        return Response(content, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
