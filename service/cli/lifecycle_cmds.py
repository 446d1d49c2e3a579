"""Model-lifecycle commands: import help-desk exports, export agent feedback, the review queue, reports, drift."""

from __future__ import annotations

import json
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
def review_queue_cmd(tenant: str = typer.Option("default", help="Tenant."), limit: int = typer.Option(20, help="How many.")) -> None:
    """Stored messages the model was least sure about, to label first."""
    from datetime import datetime, timedelta, timezone

    rows = _store().recent_messages(tenant, datetime.now(timezone.utc) - timedelta(days=30), limit=5000)
    rows.sort(key=lambda r: r["uncertainty"])
    table = Table()
    for col in ["id", "margin", "labels", "text"]:
        table.add_column(col)
    for r in rows[:limit]:
        table.add_row(r["id"], f"{r['uncertainty']:.3f}", ",".join(json.loads(r["labels"])), r["text_redacted"][:80])
    console.print(table)
