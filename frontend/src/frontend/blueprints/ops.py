"""Operations endpoints: liveness and readiness for process managers and load balancers."""

from __future__ import annotations

from quart import Blueprint

from frontend.lib.backend_client import backend

bp = Blueprint("ops", __name__)


@bp.get("/livez")
async def livez() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


@bp.get("/healthz")
async def healthz() -> tuple[dict[str, str], int]:
    report = await backend().health()
    if report.ok:
        return {"status": "ok", "backend": "ok"}, 200
    return {"status": "unavailable", "backend": "unavailable", "reason": report.reason}, 503
