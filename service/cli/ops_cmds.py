"""Operations commands: serve, ensure-model, models list/promote/rollback."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from service.cli._common import console, handle_errors

models_app = typer.Typer(help="Model versions: list, promote, rollback.", no_args_is_help=True)


@handle_errors
def serve_cmd(
    host: str | None = typer.Option(None, help="Interface to listen on (default TRIAGE_HOST or 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default TRIAGE_PORT or 8080)."),
    workers: int | None = typer.Option(None, help="Worker processes (default TRIAGE_WORKERS or 1)."),
) -> None:
    """Run the HTTP service with uvicorn."""
    import os

    import uvicorn

    from service.main import check_exposure
    from service.settings import get_settings

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    os.environ["TRIAGE_HOST"] = host
    check_exposure(settings.model_copy(update={"host": host}))
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prepare_metrics_dir(settings.data_dir / f"metrics-{port}"))
    console.print(f"serving on http://{host}:{port} ({workers} worker(s)); docs at /docs")
    uvicorn.run("service.main:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False, timeout_graceful_shutdown=settings.shutdown_grace_seconds)


def prepare_metrics_dir(path: Path) -> Path:
    """An empty folder for the workers' shared metric files (left-overs of an earlier run would be counted again)."""
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    return path


@handle_errors
def ensure_model_cmd(models: Path = typer.Option(Path("models"), help="Models folder."),
                     data: Path = typer.Option(Path("datasets"), help="Dataset to train on when no model exists.")) -> None:
    """Make sure a usable model exists; train one (deterministically) when none does."""
    from service.core.artifacts import current_version, load_artifact, resolve_model_dir
    from service.errors import TriageError

    if current_version(models):
        try:
            _, meta = load_artifact(resolve_model_dir(models), models)
            console.print(f"model ready: {meta.version}")
            return
        except TriageError as exc:
            console.print(f"[yellow]current model unusable ({exc.message}); training a new one[/yellow]")
    from training.train import Source, TrainConfig, train

    # The fast variant trains in well under a minute on a fresh machine; the embedding variant first embeds every
    # message (several minutes without the cache), so it is one `triage train` away, not part of start-up.
    result = train([Source(data)], models, TrainConfig.fast())
    console.print(f"[green]trained[/green] {result.metadata['version']} (no sentence embedding) in {result.seconds:.1f}s; "
                  "`triage train` builds the more accurate embedding model")


@models_app.command("list")
@handle_errors
def models_list(models: Path = typer.Option(Path("models"), help="Models folder.")) -> None:
    """List model versions with their test macro-F1; * marks the current one."""
    from service.core.artifacts import current_version, list_versions, read_metadata

    current = current_version(models)
    table = Table()
    for col in ["", "version", "created", "test macro-F1", "rows"]:
        table.add_column(col)
    for name in list_versions(models):
        meta = read_metadata(models / name)
        test = meta.metrics.get("test", {})
        table.add_row("*" if name == current else "", name, meta.created_at.isoformat(timespec="seconds"),
                      f"{test.get('macro_f1', float('nan')):.3f}", str(meta.metrics.get("train_rows", "")))
    console.print(table)


@models_app.command("promote")
@handle_errors
def models_promote(version: str, models: Path = typer.Option(Path("models"), help="Models folder.")) -> None:
    """Verify VERSION loads (schema + SHA-256) and make it the current model."""
    from service.core.artifacts import CURRENT_FILE, current_version, load_artifact, set_current

    load_artifact(models / version, models)
    previous = current_version(models)
    if previous and previous != version:
        (models / "HISTORY").open("a").write(previous + "\n")
    set_current(models, version)
    console.print(f"current model: {version} (was {previous}); running services pick it up via {CURRENT_FILE}")


@models_app.command("rollback")
@handle_errors
def models_rollback(models: Path = typer.Option(Path("models"), help="Models folder.")) -> None:
    """Go back to the model that was current before the last promote."""
    from service.core.artifacts import set_current
    from service.errors import ModelError

    history = models / "HISTORY"
    lines = [x for x in history.read_text().splitlines() if x.strip()] if history.is_file() else []
    if not lines:
        raise ModelError("nothing to roll back to: no earlier promoted model recorded")
    previous = lines.pop()
    set_current(models, previous)
    history.write_text("".join(f"{x}\n" for x in lines))
    console.print(f"current model: {previous}")
