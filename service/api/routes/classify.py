"""POST /v1/classify and /v1/classify/batch."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from service.api.deps import ClassifyCaller, SettingsDep, TriageDep, principal_of, settings_of, triage_of
from service.api.errors import describe_validation
from service.api.observability import STORE_DEGRADED, record_prediction
from service.api.schemas import BatchItem, BatchRequest, BatchResponse, ClassifyRequest, ClassifyResponse, ErrorBody, ErrorResponse
from service.core.triage import TriageRequest, TriageResult
from service.errors import TriageError, ValidationFailed

router = APIRouter(prefix="/v1", tags=["classify"])
ERRORS = {code: {"model": ErrorResponse} for code in (401, 403, 413, 415, 422, 429, 503)}
# The body of POST /v1/classify is parsed by hand (below); this puts its schema in the OpenAPI document all the same.
CLASSIFY_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": ClassifyRequest.model_json_schema()}}}}


def to_response(res: TriageResult, version: str) -> dict:
    """The answer as plain JSON-ready data in the shape of ``ClassifyResponse`` (a contract test holds them together)."""
    p = res.prediction
    return {
        "id": res.id, "labels": p.labels, "scores": p.scores, "uncertain": p.uncertain,
        "language": {"code": p.language.code, "confidence": p.language.confidence},
        "explanation": {lab: [{"text": s.text, "start": s.start, "end": s.end, "weight": s.weight} for s in spans]
                        for lab, spans in p.explanation.items()},
        "handling": dict(res.handling.__dict__), "duplicate_of": res.duplicate_of, "incident": res.incident, "degraded": res.degraded,
        "model_version": version,
    }


def _run(body: ClassifyRequest, triage, tenant: str, max_chars: int) -> dict:
    if len(body.text) > max_chars:
        raise ValidationFailed(f"text is {len(body.text)} characters; the limit is {max_chars}")
    if not body.text.strip():
        raise ValidationFailed("text is empty")
    res = triage.run(TriageRequest(**body.model_dump()), tenant)
    if res.degraded:
        STORE_DEGRADED.inc()
    record_prediction(res.prediction.labels, res.prediction.scores)
    return to_response(res, triage.classifier.version)


@router.post("/classify", response_model=ClassifyResponse, responses=ERRORS, openapi_extra=CLASSIFY_BODY)
async def classify(request: Request) -> Response:
    """Labels, scores, language, explanation, duplicate evidence and suggested handling for one message."""
    # The hot path: the caller, the pipeline and the settings come from the same functions the typed dependencies
    # wrap, without FastAPI's dependency resolution, and pydantic parses the body bytes in one step. The CPU and
    # database work runs on a worker thread; calls arriving together share one hop (service.api.batcher). The
    # answer is built by us in the documented shape and serialised once (no second validation pass).
    caller = principal_of(request, "classify")
    try:
        body = ClassifyRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise ValidationFailed(describe_validation(exc.errors())) from None
    out = await request.app.state.classify_batcher.run(_run, body, triage_of(request), caller.tenant, settings_of(request).max_text_chars)
    return Response(orjson.dumps(out), media_type="application/json")


@router.post("/classify/batch", response_model=BatchResponse, responses=ERRORS)
def classify_batch(body: BatchRequest, caller: ClassifyCaller, triage: TriageDep, settings: SettingsDep, request: Request) -> BatchResponse:
    """Up to TRIAGE_MAX_BATCH messages; answers in input order, a per-item error for a bad item."""
    if len(body.messages) > settings.max_batch:
        raise ValidationFailed(f"batch has {len(body.messages)} messages; the limit is {settings.max_batch}")
    rid = getattr(request.state, "request_id", None)
    items = []
    for i, raw in enumerate(body.messages):
        try:
            item = ClassifyRequest.model_validate(raw)
            items.append(BatchItem(index=i, result=_run(item, triage, caller.tenant, settings.max_text_chars)))
        except ValidationError as exc:
            items.append(BatchItem(index=i, error=ErrorBody(code="validation_failed", message=describe_validation(exc.errors()), request_id=rid)))
        except TriageError as exc:
            items.append(BatchItem(index=i, error=ErrorBody(code=exc.code, message=exc.message, request_id=rid)))
    return BatchResponse(results=items, model_version=triage.classifier.version)
