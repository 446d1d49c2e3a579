"""Typed dependencies for routes: settings, the classifier, the triage pipeline, the store, the caller.

They are ``async def`` on purpose: each is a few attribute reads, and FastAPI would otherwise run every
sync dependency through the thread pool (one hop each, ~0.1-0.2 ms). The API-key check may read the
database, but only on a cache miss (results are kept 30 s).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from service.api.auth import Authenticator
from service.core.classifier import Classifier
from service.core.policy import Policy
from service.core.triage import Triage
from service.settings import Settings, get_settings
from service.store.repo import Principal, Store


async def app_settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


async def current_classifier(request: Request) -> Classifier:
    return request.app.state.models.classifier


async def current_triage(request: Request, classifier: Annotated[Classifier, Depends(current_classifier)]) -> Triage:
    state = request.app.state
    return Triage(classifier, state.policy, state.store, state.duplicate_settings)


async def current_store(request: Request) -> Store | None:
    return request.app.state.store


async def current_policy(request: Request) -> Policy:
    return request.app.state.policy


def _principal(scope: str):
    async def dep(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        auth: Authenticator = request.app.state.auth
        return auth.authenticate(authorization, scope)

    return dep


SettingsDep = Annotated[Settings, Depends(app_settings)]
ClassifierDep = Annotated[Classifier, Depends(current_classifier)]
TriageDep = Annotated[Triage, Depends(current_triage)]
StoreDep = Annotated[Store | None, Depends(current_store)]
PolicyDep = Annotated[Policy, Depends(current_policy)]
ClassifyCaller = Annotated[Principal, Depends(_principal("classify"))]
FeedbackCaller = Annotated[Principal, Depends(_principal("feedback"))]
AdminCaller = Annotated[Principal, Depends(_principal("admin"))]
