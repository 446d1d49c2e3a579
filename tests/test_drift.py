"""Drift detection: a label whose share jumps is flagged; noise in a small sample is not."""

from __future__ import annotations

import json

from training.drift import compare

TRAIN = {"labels": {"fault": 0.25, "billing": 0.2}, "none": 0.5, "languages": {"en": 0.6, "de": 0.4}}


def rows(n_fault: int, n: int, lang: str = "en") -> list[dict]:
    return [{"labels": json.dumps(["fault"] if i < n_fault else []), "language": lang} for i in range(n)]


def test_drift_flags_a_label_that_moved():
    moved = {r.name for r in compare(TRAIN, rows(600, 1000)) if r.moved}
    assert "fault" in moved and "billing" in moved and "de" in moved


def test_drift_ignores_small_samples():
    assert not [r for r in compare(TRAIN, rows(2, 5)) if r.moved and r.kind == "label" and r.name == "fault"]


def test_drift_empty_traffic_gives_nothing():
    assert compare(TRAIN, []) == []
