"""App factory and lifespan: ``create_app(settings)`` builds the app; the lifespan loads the model,
the policy and the store once, and watches models/CURRENT to pick up promoted models."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import __version__
from service.api import affinity
from service.api import errors as api_errors
from service.api.auth import Authenticator
from service.api.batcher import Batcher
from service.api.middleware import TriageMiddleware
from service.api.observability import MODEL_INFO, RELOADS, configure_logging, worker_exit
from service.api.routes import admin, classify, feedback, health, meta, tickets
from service.core.holder import ModelHolder
from service.core.policy import Policy
from service.core.triage import DuplicateSettings
from service.errors import ConfigError, TriageError
from service.settings import Settings, get_settings

log = logging.getLogger("triage.app")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_exposure(settings: Settings, store=None) -> None:
    """Refuse to listen beyond loopback without API keys unless explicitly allowed."""
    if settings.host in LOOPBACK or settings.host.startswith("127.") or settings.allow_public_without_keys:
        return
    if settings.auth_required is True:
        return
    if store is None:
        from service.store.repo import Store

        store = Store(settings.db_url)
    if store.active_key_count() == 0:
        raise ConfigError(f"refusing to listen on {settings.host} with no API keys: create one with `triage keys create` "
                          "or set TRIAGE_ALLOW_PUBLIC_WITHOUT_KEYS=true")


def open_store(settings: Settings):
    from service.store.repo import Store

    try:
        return Store(settings.db_url)
    except TriageError as exc:
        log.error("store unavailable at start-up; duplicate detection off", extra={"event": "store_down", "error": exc.message})
        return None


async def watch_models(app: FastAPI, interval: float) -> None:
    holder: ModelHolder = app.state.models
    while True:
        await asyncio.sleep(interval)
        if not holder.changed_on_disk():
            continue
        try:
            old = holder.classifier.version if holder.ready else None
            changed, version = await asyncio.to_thread(holder.load)
            RELOADS.labels("changed" if changed else "unchanged").inc()
            if changed:
                app.state.on_model_loaded()
                if old:
                    MODEL_INFO.labels(old).set(0)
                MODEL_INFO.labels(version).set(1)
        except TriageError:
            RELOADS.labels("refused").inc()


def follow_model(settings: Settings, holder: ModelHolder) -> None:
    """Runtime settings that depend on the served model: CPU pinning (off for models with a sentence embedding)."""
    if holder.ready:
        affinity.apply(settings.cpu_affinity, settings.data_dir / "run", holder.classifier.model.embedding is not None)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    configure_logging(settings.log_level)
    app.state.policy = Policy.load(settings.policy_file)
    app.state.store = open_store(settings)
    check_exposure(settings, app.state.store) if app.state.store is not None else None
    app.state.auth = Authenticator(app.state.store, settings.auth_required, settings.rate_limit_per_minute)
    app.state.duplicate_settings = DuplicateSettings(settings.duplicate_window_days, settings.duplicate_threshold,
                                                     settings.incident_window_minutes, settings.incident_min_customers)
    holder = ModelHolder(settings.models_dir, settings.model_version, warm=settings.warm_on_start)
    app.state.models = holder
    # Classification holds the GIL, so more threads only interleave it and stretch every request: by default one
    # thread per process classifies, the batcher queues the rest first in, first out, and shares hops under load.
    app.state.classify_batcher = Batcher(lanes=settings.classify_threads, max_batch=settings.classify_batch,
                                          max_wait_s=settings.classify_max_wait_ms / 1000)
    app.state.on_model_loaded = lambda: follow_model(settings, holder)
    try:
        await asyncio.to_thread(holder.load)
        MODEL_INFO.labels(holder.classifier.version).set(1)
        app.state.on_model_loaded()
    except TriageError as exc:
        log.error("no model at start-up; /readyz reports 503 until one is promoted", extra={"error": exc.message})
    watcher = asyncio.create_task(watch_models(app, settings.reload_poll_seconds)) if settings.reload_poll_seconds > 0 else None
    try:
        yield
    finally:
        if watcher:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if app.state.store is not None:
            app.state.store.close()
        worker_exit()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Help-desk triage", version=__version__, lifespan=lifespan,
                  description="Labels, calibrated scores, language, duplicates and suggested handling for customer messages.")
    app.state.settings = settings
    for module in (classify, meta, health, tickets, feedback, admin):
        app.include_router(module.router)
    api_errors.install(app)
    known = {r.path for r in app.routes if hasattr(r, "path")}
    app.add_middleware(TriageMiddleware, max_body_bytes=settings.max_body_bytes, known_paths=known)
    return app


def app_from_env() -> FastAPI:
    return create_app(get_settings())
