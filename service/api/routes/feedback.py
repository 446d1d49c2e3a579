"""POST /v1/feedback (agents' corrected labels) and GET /v1/review-queue (least certain messages first)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from service.api.deps import FeedbackCaller, StoreDep
from service.api.schemas import FeedbackRequest, FeedbackResponse
from service.core.labels import check_labels
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
def review_queue(caller: FeedbackCaller, store: StoreDep, limit: int = 50, days: int = 14) -> dict:
    """Stored messages where the model was least sure (a score closest to its threshold) come first."""
    if store is None:
        raise StoreError("the message store is not available")
    rows = store.recent_messages(caller.tenant, datetime.now(UTC) - timedelta(days=days), limit=5000)
    rows.sort(key=lambda r: r.get("uncertainty", 1.0) if "uncertainty" in r else 1.0)
    return {"items": [{"id": r["id"], "labels": json.loads(r["labels"]), "scores": json.loads(r["scores"]),
                       "language": r["language"], "text": r["text_redacted"]} for r in rows[: max(1, min(limit, 500))]]}
