"""Reference endpoint for the load benchmark: parses the same JSON body as /v1/classify, returns a constant."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class Body(BaseModel):
    text: str
    customer_id: str | None = None
    store: bool = True


def create_reference_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/classify")
    def classify(body: Body) -> dict:
        return {"labels": [], "scores": {"duplicate": 0.0, "out_of_scope": 0.0, "hostile": 0.0, "billing": 0.0, "fault": 0.0}}

    return app
