"""Reference endpoint for the load benchmark: parses the same JSON body as /v1/classify, returns a constant.

It runs under the same uvicorn settings as the service, and its workers are pinned to CPUs the same way
(``TRIAGE_CPU_AFFINITY``; it has no model, so ``auto`` pins), so the ratio compares the endpoints, not
the process placement.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from service.api import affinity
from service.settings import get_settings


class Body(BaseModel):
    text: str
    customer_id: str | None = None
    store: bool = True


@asynccontextmanager
async def _lifespan(app: FastAPI):
    settings = get_settings()  # the service's own TRIAGE_* settings: same CPU-affinity mode and lock folder
    affinity.apply(settings.cpu_affinity, settings.data_dir / "run", model_has_embedding=False)
    yield


def create_reference_app() -> FastAPI:
    app = FastAPI(lifespan=_lifespan)

    @app.post("/v1/classify")
    def classify(body: Body) -> dict:
        return {"labels": [], "scores": {"duplicate": 0.0, "out_of_scope": 0.0, "hostile": 0.0, "billing": 0.0, "fault": 0.0}}

    return app
