"""Model-lifecycle commands: import help-desk exports, export agent feedback, the review queue, reports, drift."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import typer
from rich.table import Table

from service.cli._common import console, handle_errors

feedback_app = typer.Typer(help="Agents' corrections.", no_args_is_help=True)


@handle_errors
def import_cmd(
    path: Path = typer.Argument(..., help="The export file."),
    fmt: str = typer.Option(..., "--format", help="zendesk, freshdesk, zammad or csv."),
    out: Path = typer.Option(..., "--out", help="Dataset JSONL to write."),
    map_: list[str] = typer.Option([], "--map", help="TAG=LABEL, repeatable (tags named like labels map to themselves)."),
    text_column: str = typer.Option("text", help="CSV: the message column."),
    tags_column: str = typer.Option("labels", help="CSV: the tags/labels column."),
    lang: str = typer.Option("", help="Language code to record (blank: detected at training)."),
) -> None:
    """Turn a help-desk export into dataset JSONL; prints what was skipped and why."""
    from training.importers import import_export, parse_mapping

    result = import_export(path, fmt, parse_mapping(map_), text_column=text_column, tags_column=tags_column, lang=lang, source=path.stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.rows))
    console.print(f"wrote {len(result.rows)} rows to {out}; skipped {len(result.skipped)}")
    for tid, why in result.skipped[:50]:
        console.print(f"  skipped {tid}: {why}")


def _store():
    from service.settings import get_settings
    from service.store.repo import Store

    return Store(get_settings().db_url)


@feedback_app.command("export")
@handle_errors
def feedback_export(out: Path = typer.Option(..., "--out", help="Dataset JSONL to write."),
                    tenant: str | None = typer.Option(None, help="Only this tenant's feedback.")) -> None:
    """Write agents' corrected labels as dataset rows (redacted text), ready for `triage train --feedback`."""
    rows = _store().export_feedback(tenant)
    with out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"id": f"fb-{r['id']}", "text": r["text_redacted"], "labels": json.loads(r["labels"]),
                                 "lang": r["language"], "channel": "feedback", "domain": "other"}, ensure_ascii=False) + "\n")
    console.print(f"wrote {len(rows)} feedback rows to {out}")


@handle_errors
def review_queue_cmd(
    tenant: str = typer.Option("default", help="Tenant."),
    limit: int = typer.Option(20, min=1, help="How many."),
    days: int = typer.Option(30, min=1, help="Look back this many days."),
    models: Path | None = typer.Option(None, help="Models folder (default: the service setting); the current model's thresholds decide what is near."),
) -> None:
    """Stored messages to label first (agents disagree, conflicting labels, scores near thresholds), with the reasons."""
    from datetime import datetime, timedelta

    from service.core.artifacts import read_metadata, resolve_model_dir
    from service.core.review import review_queue
    from service.settings import get_settings

    meta = read_metadata(resolve_model_dir(models or get_settings().models_dir))
    items = review_queue(_store(), tenant, datetime.now(UTC) - timedelta(days=days), meta.thresholds, meta.uncertainty_margin, limit)
    table = Table()
    for col in ["id", "margin", "reasons", "labels", "text"]:
        table.add_column(col)
    for it in items:
        table.add_row(it.id, f"{it.margin:.3f}", ",".join(it.reasons), ",".join(it.labels), it.text[:80])
    console.print(table)


@handle_errors
def report_cmd(
    data: Path = typer.Option(Path("datasets"), help="Labelled rows (a dataset folder means its test split)."),
    model: Path | None = typer.Option(None, help="Model version folder (default: the current model)."),
    out: Path = typer.Option(Path("reports/latest"), help="Folder for index.html and the PNG plots."),
) -> None:
    """An HTML report with plots: confusion, precision-recall with thresholds, calibration, per-language F1, and the
    comparison with the currently promoted model."""
    import tempfile

    from service.cli.model_cmds import _load_classifier
    from service.core.artifacts import current_version
    from service.core.classifier import Classifier
    from training.data import load_dataset, split_rows
    from training.evaluate import compare, evaluate
    from training.report import write_html

    clf = _load_classifier(model)
    with tempfile.TemporaryDirectory() as tmp:
        source = data
        if data.is_dir():
            _, test = split_rows(load_dataset(data), data)
            source = Path(tmp) / "test_split.jsonl"
            source.write_text("".join(json.dumps({"text": r.text, "labels": r.labels, "lang": r.lang}, ensure_ascii=False) + "\n" for r in test))
        result = evaluate(source, clf, out)
        result.summary["data"] = f"{data} (its test split)" if data.is_dir() else str(data)
        plots = sorted(out.glob("*.png"))
        cmp, other_version = None, None
        models_dir = (model.parent if model else clf_models_dir())
        promoted = current_version(models_dir)
        if promoted and promoted != clf.version:
            other = evaluate(source, Classifier.load(models_dir, promoted), None, progress=False).summary
            cmp, other_version = compare(result.summary, other), promoted
    page = write_html(result.summary, plots, out, cmp, other_version)
    console.print(f"wrote {page}")


def clf_models_dir() -> Path:
    from service.settings import get_settings

    return get_settings().models_dir


@handle_errors
def drift_cmd(tenant: str = typer.Option("default", help="Tenant whose traffic to read."),
              days: int = typer.Option(7, help="How far back 'recent' goes."),
              min_change: float = typer.Option(0.05, help="Smallest absolute change in a share that counts.")) -> None:
    """Compare recent stored traffic with the training distribution, per label and language, and say which moved."""
    from datetime import datetime, timedelta

    from service.cli.model_cmds import _load_classifier
    from service.errors import ModelError
    from training.drift import compare

    train = _load_classifier(None).metadata.metrics.get("train_distribution")
    if not train:
        raise ModelError("the current model records no training distribution (train it again with this version)")
    rows = _store().recent_messages(tenant, datetime.now(UTC) - timedelta(days=days), limit=100_000)
    result = compare(train, rows, min_change)
    table = Table(title=f"{len(rows)} messages of tenant {tenant!r} in the last {days} days vs training")
    for col in ["", "name", "training share", "recent share", "moved"]:
        table.add_column(col)
    for r in result:
        table.add_row(r.kind, r.name, f"{r.train:.3f}", f"{r.recent:.3f}", "[red]MOVED[/red]" if r.moved else "")
    console.print(table)
    moved = [r.name for r in result if r.moved]
    console.print(f"moved: {', '.join(moved)}" if moved else "nothing moved beyond the noise")
