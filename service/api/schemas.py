"""API schemas: the public contract, kept apart from the core's types so the core can change freely."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., min_length=1, description="The customer's message (plain text or HTML).")
    subject: str | None = Field(None, max_length=1000)
    language: str | None = Field(None, max_length=16, description="Language hint (ISO 639-1); detected when absent.")
    customer_id: str | None = Field(None, max_length=200)
    ticket_id: str | None = Field(None, max_length=200)
    channel: str | None = Field(None, max_length=50)
    received_at: datetime | None = None
    store: bool = Field(True, description="Store the (redacted) message for duplicate detection.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[dict] = Field(..., min_length=1, description="Items shaped like ClassifyRequest.")


class SpanOut(BaseModel):
    text: str
    start: int
    end: int
    weight: float


class LanguageOut(BaseModel):
    code: str
    confidence: float


class HandlingOut(BaseModel):
    queue: str
    priority: str
    actions: list[str]
    guidance: str
    reply_template: str
    language: str
    rule: list[str]


class DuplicateOut(BaseModel):
    id: str
    ticket_id: str | None
    similarity: float = Field(description="how alike the two texts are (lexical and embedding similarity, 0-1)")
    probability: float | None = Field(None, description="the model's probability that this is the same request again "
                                      "(its pair scorer: similarity, the new message's 'I already wrote' cues, how its "
                                      "label scores differ from the earlier one's); null for models without a pair scorer; "
                                      "the duplicate threshold applies to it when present")
    received_at: str
    repeats: int


class IncidentOut(BaseModel):
    id: str
    size: int
    first_seen: str
    top_terms: list[str]


class ClassifyResponse(BaseModel):
    id: str
    labels: list[str]
    scores: dict[str, float]
    uncertain: bool
    language: LanguageOut
    explanation: dict[str, list[SpanOut]]
    handling: HandlingOut
    duplicate_of: DuplicateOut | None = None
    incident: IncidentOut | None = None
    degraded: list[str] = []
    model_version: str


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class BatchItem(BaseModel):
    index: int
    result: ClassifyResponse | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]
    model_version: str


class CloseResponse(BaseModel):
    ticket_id: str
    closed: int


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(..., min_length=1, max_length=64)
    labels: list[str]
    agent_id: str = Field("", max_length=200)
    note: str | None = Field(None, max_length=5000)


class FeedbackResponse(BaseModel):
    id: str
    created: bool
