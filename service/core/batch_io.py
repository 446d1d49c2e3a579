"""File classification: JSONL or CSV rows in, JSONL results out, in input order.

A bad row (not JSON, invalid UTF-8, no "text") becomes a result with an "error" and the rest of the
file goes on; only an unreadable file stops the run.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from service.core.classifier import Classifier, Prediction


@dataclass
class InputRow:
    line: int
    id: str | None
    text: str | None
    language: str | None
    error: str | None = None


def read_rows(data: bytes, fmt: str) -> Iterator[InputRow]:
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig", errors="replace")))
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            yield InputRow(1, None, None, None, "CSV input needs a header row with a 'text' column")
            return
        for i, rec in enumerate(reader, start=2):
            yield _row(i, rec)
        return
    for i, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield InputRow(i, None, None, None, f"invalid UTF-8 at byte {exc.start}")
            continue
        except json.JSONDecodeError as exc:
            yield InputRow(i, None, None, None, f"not valid JSON: {exc.msg}")
            continue
        if not isinstance(rec, dict):
            yield InputRow(i, None, None, None, "each line must be a JSON object")
            continue
        yield _row(i, rec)


def _row(line: int, rec: dict) -> InputRow:
    rid = rec.get("id")
    rid = None if rid in (None, "") else str(rid)
    text = rec.get("text")
    lang = rec.get("language") or rec.get("lang") or None
    if not isinstance(text, str) or not text.strip():
        return InputRow(line, rid, None, None, "missing or empty 'text'")
    return InputRow(line, rid, text, str(lang) if lang else None)


def prediction_dict(pred: Prediction) -> dict:
    return {
        "labels": pred.labels,
        "scores": pred.scores,
        "language": pred.language.code,
        "language_confidence": pred.language.confidence,
        "uncertain": pred.uncertain,
        "explanation": {lab: [{"text": s.text, "start": s.start, "end": s.end, "weight": s.weight} for s in spans]
                        for lab, spans in pred.explanation.items()},
    }


def classify_rows(classifier: Classifier, rows: Iterable[InputRow], workers: int | None = 1, chunk: int = 2000) -> Iterator[dict]:
    """One result per row, in input order; rows are classified a chunk at a time, on ``workers`` processes when the
    model allows it (see service.core.parallel)."""
    from itertools import islice

    from service.core.parallel import predict_parallel

    it = iter(rows)
    while batch := list(islice(it, chunk)):
        good = [r for r in batch if r.error is None]
        preds = iter(predict_parallel(classifier, [r.text for r in good], [r.language for r in good], explain=True, workers=workers))
        for row in batch:
            rid = row.id if row.id is not None else f"line-{row.line}"
            if row.error is not None:
                yield {"id": rid, "line": row.line, "error": row.error}
            else:
                yield {"id": rid, **prediction_dict(next(preds))}
