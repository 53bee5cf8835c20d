"""The kiosk's side of releases: which release to run (its signed manifest), the wheel, and what became of it."""
from typing import Any

from fastapi import FastAPI, HTTPException, Path, Response
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from kiosk.wire import Problem, ReleaseReport
from server import releases

Version = Path(max_length=64, pattern=r"^[A-Za-z0-9.+!_-]+$")


class ReleaseOffer(BaseModel):
    version: str
    manifest: str  # canonical JSON (name, version, filename, size, sha256): exactly the signed bytes
    signature: str  # base64 Ed25519 signature of the manifest by the fleet's release key
    wheel: str  # where to download it (same authentication)


def add_routes(app: FastAPI, engine: Engine, kiosk: Any, refused: dict) -> None:
    """`kiosk`: the dependency that makes the path's kiosk id the token's own; `refused`: its error answers."""

    @app.get("/v1/kiosks/{kiosk_id}/release", response_model=ReleaseOffer,
             responses={204: {"description": "no release is assigned to this kiosk"}, **refused})
    def get_release(kiosk_id: kiosk) -> Any:
        with engine.connect() as conn:
            found = releases.release_for(conn, kiosk_id)
        if found is None:
            return Response(status_code=204)
        return ReleaseOffer(**found, wheel=f"/v1/kiosks/{kiosk_id}/releases/{found['version']}/wheel")

    @app.get("/v1/kiosks/{kiosk_id}/releases/{version}/wheel", response_class=Response,
             responses={200: {"content": {"application/octet-stream": {}}, "description": "the wheel"},
                        404: {"model": Problem, "description": "no such release"}, **refused})
    def get_wheel(kiosk_id: kiosk, version: str = Version) -> Response:
        with engine.connect() as conn:
            found = releases.wheel_content(conn, version)
        if found is None:
            raise HTTPException(404, f"no release {version}")
        filename, content = found
        return Response(content, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @app.post("/v1/kiosks/{kiosk_id}/release-reports", status_code=204, response_class=Response,
              responses={404: {"model": Problem, "description": "no such release is stored"}, **refused})
    def post_report(kiosk_id: kiosk, report: ReleaseReport) -> Response:
        """kiosk-update's word on a release it tried; a resend of a report the server has changes nothing. A
        rollback or an intervention raises an alarm and halts that release's rollout at the kiosk's site."""
        try:
            with engine.begin() as conn:
                releases.record_report(conn, kiosk_id, report)
        except releases.ReleaseError as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(status_code=204)
