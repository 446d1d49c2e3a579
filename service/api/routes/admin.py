"""POST /v1/admin/reload: load the promoted model now (scope admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.api.deps import AdminCaller
from service.api.observability import MODEL_INFO, RELOADS
from service.errors import TriageError

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def reload_model(request: Request) -> dict:
    holder = request.app.state.models
    old = holder.classifier.version if holder.ready else None
    try:
        changed, version = holder.load()
    except TriageError:
        RELOADS.labels("refused").inc()
        raise
    RELOADS.labels("changed" if changed else "unchanged").inc()
    if changed:
        request.app.state.on_model_loaded()
    if changed and old:
        MODEL_INFO.labels(old).set(0)
    MODEL_INFO.labels(version).set(1)
    return {"changed": changed, "version": version, "previous": old}


@router.post("/reload")
def reload(request: Request, caller: AdminCaller) -> dict:
    """Load the current model from the models folder; on failure the old model keeps serving."""
    return reload_model(request)
