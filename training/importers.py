"""Turn help-desk exports into dataset rows: Zendesk, Freshdesk, Zammad (JSON) and generic CSV.

Shapes read (the fields each product documents for its exports / list APIs):
- Zendesk: {"tickets": [{"id", "subject", "description", "tags": [...], "via": {"channel"}}]} or a JSON list of tickets,
  or JSON Lines (one ticket per line, as the incremental export writes).
- Freshdesk: a JSON list of tickets [{"id", "subject", "description_text" | "description", "tags", "type", "source"}].
- Zammad: a JSON list of tickets [{"id", "title", "tags", "articles": [{"body", "sender"}]}] (expanded export);
  the first customer article is the message.
- csv: a header row with a text column (--text-column, default "text") and a label/tag column
  (--tags-column, default "labels"; separated by "," or ";").
Tags become labels through a mapping (``tag=label``); tags that are label names map to themselves.
Every skipped ticket is reported with its reason.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from service.core.labels import LABELS
from service.errors import DatasetError

FORMATS = ("zendesk", "freshdesk", "zammad", "csv")
_TAG = re.compile(r"<[^>]+>")


@dataclass
class ImportResult:
    rows: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {lab: lab for lab in LABELS}
    for pair in pairs:
        tag, sep, label = pair.partition("=")
        if not sep or label.strip() not in LABELS:
            raise DatasetError(f"bad mapping {pair!r}: use TAG=LABEL with LABEL one of {list(LABELS)}")
        mapping[tag.strip().lower()] = label.strip()
    return mapping


def _load_json(path: Path) -> list[dict]:
    raw = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} is neither JSON nor JSON Lines: {exc.msg} at line {exc.lineno}") from None
    if isinstance(data, dict):
        data = data.get("tickets") or data.get("results") or data.get("data") or []
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a list of tickets")
    return data


def _text(*parts: str | None) -> str:
    joined = "\n".join(p for p in parts if p and p.strip())
    return html.unescape(_TAG.sub(" ", joined)).strip() if "<" in joined else joined.strip()


def _tickets(path: Path, fmt: str, text_column: str, tags_column: str) -> list[tuple[str, str, list[str], str]]:
    """(id, text, tags, channel) per ticket."""
    out = []
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
        if not reader.fieldnames or text_column not in reader.fieldnames:
            raise DatasetError(f"{path}: no '{text_column}' column (columns: {reader.fieldnames}); use --text-column")
        for i, rec in enumerate(reader, start=2):
            tags = re.split(r"[;,]", rec.get(tags_column) or "")
            out.append((str(rec.get("id") or f"row-{i}"), rec.get(text_column) or "", tags, rec.get("channel") or "web_form"))
        return out
    for t in _load_json(path):
        if not isinstance(t, dict):
            continue
        tid = str(t.get("id", ""))
        if fmt == "zendesk":
            via = t.get("via") or {}
            out.append((tid, _text(t.get("subject"), t.get("description")), list(t.get("tags") or []), str(via.get("channel") or "email")))
        elif fmt == "freshdesk":
            tags = list(t.get("tags") or []) + ([t["type"]] if t.get("type") else [])
            out.append((tid, _text(t.get("subject"), t.get("description_text") or t.get("description")), tags, "email"))
        else:
            articles = [a for a in (t.get("articles") or []) if isinstance(a, dict)]
            first = next((a for a in articles if str(a.get("sender", "Customer")).lower() == "customer"), articles[0] if articles else {})
            tags = t.get("tags") or []
            tags = tags.split(",") if isinstance(tags, str) else list(tags)
            out.append((tid, _text(t.get("title"), first.get("body")) if first.get("body") else "", tags, "email"))
    return out


def import_export(path: Path, fmt: str, mapping: dict[str, str], *, text_column: str = "text", tags_column: str = "labels",
                  lang: str = "", source: str | None = None) -> ImportResult:
    if fmt not in FORMATS:
        raise DatasetError(f"unknown format {fmt!r}; choose one of {list(FORMATS)}")
    if not path.is_file():
        raise DatasetError(f"{path} does not exist")
    result = ImportResult()
    seen: set[str] = set()
    for tid, text, tags, channel in _tickets(path, fmt, text_column, tags_column):
        if not text.strip():
            result.skipped.append((tid, "no message text"))
            continue
        key = " ".join(text.lower().split())
        if key in seen:
            result.skipped.append((tid, "same text as an earlier ticket"))
            continue
        seen.add(key)
        labels = sorted({mapping[t.strip().lower()] for t in tags if t and t.strip().lower() in mapping})
        result.rows.append({"id": f"{source or fmt}-{tid}", "text": text, "labels": labels, "lang": lang, "channel": channel,
                            "domain": "other"})
    return result
