"""GET /healthz (process up), /readyz (model loaded, store reachable), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.observability import render_metrics

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    model_ok = state.models.ready
    store = state.store
    store_ok = store is not None and store.ping()
    body = {"ready": model_ok, "model": state.models.classifier.version if model_ok else None,
            "model_error": state.models.last_error, "store": "ok" if store_ok else "unavailable",
            "degraded": [] if store_ok else ["store"]}
    return JSONResponse(body, status_code=200 if model_ok else 503)


@router.get("/metrics")
def metrics() -> Response:
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)
