"""The one place where errors become HTTP answers: {"error": {"code", "message", "request_id"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import RetryLater, TriageError

log = logging.getLogger("triage.api")
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited",
               503: "unavailable"}


def error_response(status: int, code: str, message: str, request_id: str | None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "request_id": request_id}}, status_code=status, headers=headers)


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def describe_validation(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        parts.append(f"{loc or 'body'}: {e.get('msg')}")
    return "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(TriageError)
    async def _triage(request: Request, exc: TriageError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RetryLater) else None
        return error_response(exc.status, exc.code, exc.message, _rid(request), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return error_response(422, "validation_failed", describe_validation(exc.errors()), _rid(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail), _rid(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error", extra={"request_id": _rid(request)})
        return error_response(500, "internal_error", "internal error; see the service log with this request_id", _rid(request))
