"""POST /v1/tickets/{ticket_id}/close, POST /v1/messages/{id}/close, GET /v1/incidents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from service.api.deps import ClassifyCaller, SettingsDep, StoreDep
from service.api.schemas import CloseResponse
from service.errors import NotFoundError, StoreError

router = APIRouter(prefix="/v1", tags=["tickets"])


def _need(store):
    if store is None:
        raise StoreError("the message store is not available")
    return store


def _close(store, tenant: str, key: str, **where: str) -> CloseResponse:
    closed = _need(store).close_ticket(tenant, **where)
    if closed == 0:
        raise NotFoundError(f"nothing open for {key!r}")
    return CloseResponse(ticket_id=key, closed=closed)


@router.post("/tickets/{ticket_id}/close", response_model=CloseResponse)
def close_ticket(ticket_id: str, caller: ClassifyCaller, store: StoreDep) -> CloseResponse:
    """Mark every open message of a ticket resolved, so it stops matching as a duplicate."""
    return _close(store, caller.tenant, ticket_id, ticket_id=ticket_id)


@router.post("/messages/{message_id}/close", response_model=CloseResponse)
def close_message(message_id: str, caller: ClassifyCaller, store: StoreDep) -> CloseResponse:
    """Mark one stored message resolved."""
    return _close(store, caller.tenant, message_id, message_id=message_id)


@router.get("/incidents")
def list_incidents(caller: ClassifyCaller, store: StoreDep, settings: SettingsDep, hours: int = 24) -> dict:
    """Outage waves: similar fault reports from several customers of this tenant."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    rows = _need(store).active_incidents(caller.tenant, since)
    return {"incidents": [{"id": r["id"], "size": r["size"], "customers": len(json.loads(r["customers"])),
                           "first_seen": r["first_seen"].isoformat(), "last_seen": r["last_seen"].isoformat(),
                           "top_terms": json.loads(r["top_terms"])} for r in rows]}
