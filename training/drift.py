"""Drift: compare recent stored traffic (labels the model gave, languages) with the training distribution.

A label or language "moved" when its recent share differs from training by more than ``min_change``
(absolute) and by more than three standard errors of the recent share, so small samples do not alarm.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass


@dataclass
class DriftRow:
    kind: str
    name: str
    train: float
    recent: float
    moved: bool


def compare(train: dict, recent_rows: list[dict], min_change: float = 0.05) -> list[DriftRow]:
    n = len(recent_rows)
    out: list[DriftRow] = []
    if n == 0:
        return out
    labels = [json.loads(r["labels"]) for r in recent_rows]
    langs = [r["language"] for r in recent_rows]
    items = [("label", lab, rate, sum(lab in ls for ls in labels) / n) for lab, rate in train["labels"].items()]
    items.append(("label", "(none)", train["none"], sum(not ls for ls in labels) / n))
    for lang in sorted(set(train["languages"]) | set(langs)):
        items.append(("language", lang, train["languages"].get(lang, 0.0), langs.count(lang) / n))
    for kind, name, p_train, p_recent in items:
        se = math.sqrt(max(p_train * (1 - p_train), 1e-6) / n)
        moved = abs(p_recent - p_train) > min_change and abs(p_recent - p_train) > 3 * se
        out.append(DriftRow(kind, name, round(p_train, 4), round(p_recent, 4), moved))
    return out
