"""POST /v1/feedback (agents' corrected labels) and GET /v1/review-queue (least certain messages first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Query

from service.api.deps import ClassifierDep, FeedbackCaller, StoreDep
from service.api.schemas import FeedbackRequest, FeedbackResponse
from service.core.labels import check_labels
from service.core.review import review_queue as build_queue
from service.errors import StoreError, ValidationFailed

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback", response_model=FeedbackResponse)
def add_feedback(body: FeedbackRequest, caller: FeedbackCaller, store: StoreDep) -> FeedbackResponse:
    """Store an agent's labels for a classified message; the same agent sending again updates it."""
    unknown = check_labels(body.labels)
    if unknown:
        raise ValidationFailed(f"unknown labels {unknown}")
    if store is None:
        raise StoreError("the message store is not available")
    fid, created = store.add_feedback(caller.tenant, body.message_id, sorted(set(body.labels)), body.agent_id, body.note)
    return FeedbackResponse(id=fid, created=created)


@router.get("/review-queue")
def review_queue(caller: FeedbackCaller, store: StoreDep, classifier: ClassifierDep, limit: int = Query(50, ge=1, le=500),
                 days: int = Query(14, ge=1, le=365)) -> dict:
    """Stored messages to label first: agents disagree, conflicting labels, then scores nearest their thresholds.
    Each item says why (``reasons``)."""
    if store is None:
        raise StoreError("the message store is not available")
    model = classifier.model
    items = build_queue(store, caller.tenant, datetime.now(UTC) - timedelta(days=days), dict(zip(model.labels, map(float, model.thresholds))),
                        model.uncertainty_margin, limit)
    return {"items": [it.as_dict() for it in items]}
