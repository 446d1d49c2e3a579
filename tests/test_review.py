"""The review queue's ranking: who disagrees, which labels conflict, which scores sit on a threshold."""

from __future__ import annotations

import json

from service.core.review import rank, reasons_for

THRESHOLDS = {"duplicate": 0.5, "out_of_scope": 0.5, "hostile": 0.6, "billing": 0.4, "fault": 0.5}


def _row(mid: str, labels: list[str], scores: dict[str, float], margin: float) -> dict:
    full = {lab: 0.01 for lab in THRESHOLDS} | scores
    return {"id": mid, "labels": json.dumps(labels), "scores": json.dumps(full), "language": "en", "text_redacted": mid,
            "uncertainty": margin}


def test_review_reasons_cover_disagreement_conflict_and_margin():
    assert reasons_for(["billing"], {"billing": 0.9}, THRESHOLDS, 0.5, 0.1, [["billing"], ["fault"]]) == ["agents_disagree"]
    assert reasons_for(["billing"], {"billing": 0.45}, THRESHOLDS, 0.05, 0.1, [["billing"]]) == []  # labelled consistently
    assert reasons_for(["out_of_scope", "fault"], {"out_of_scope": 0.9, "fault": 0.9}, THRESHOLDS, 0.4, 0.1, []) == ["conflicting_labels"]
    two_near = {"billing": 0.45, "fault": 0.47}
    assert reasons_for(["billing"], two_near, THRESHOLDS, 0.03, 0.1, []) == ["conflicting_labels", "near_threshold"]
    assert reasons_for(["fault"], {"fault": 0.95}, THRESHOLDS, 0.45, 0.1, []) == []


def test_review_rank_orders_by_reason_then_margin_and_drops_confident_rows():
    rows = [
        _row("confident", ["fault"], {"fault": 0.97}, 0.47),
        _row("near-b", ["billing"], {"billing": 0.43}, 0.03),
        _row("near-a", ["fault"], {"fault": 0.52}, 0.02),
        _row("conflict", ["out_of_scope", "fault"], {"out_of_scope": 0.8, "fault": 0.8}, 0.3),
        _row("argued", ["billing"], {"billing": 0.9}, 0.5),
    ]
    items = rank(rows, THRESHOLDS, 0.1, {"argued": [["billing"], ["billing", "hostile"]]})
    assert [it.id for it in items] == ["argued", "conflict", "near-a", "near-b"]
    assert rank(rows, THRESHOLDS, 0.1, {}, limit=2)[1].id == "near-a"
