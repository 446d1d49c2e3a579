"""Evaluate a saved model on a labelled file through the same Classifier the API uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from service.core.classifier import Classifier
from training.data import load_dataset
from training.metrics import evaluate_predictions


@dataclass
class EvalResult:
    summary: dict
    details: dict
    model_version: str
    report_dir: Path | None


def evaluate(data: Path, classifier: Classifier, report_dir: Path | None = None, progress: bool = True) -> EvalResult:
    rows = load_dataset(data, full=False)
    preds = [classifier.predict(r.text, explain=False) for r in tqdm(rows, desc="classifying", unit="msg", disable=not progress)]
    details = evaluate_predictions(rows, preds, classifier.model.thresholds, classifier.labels)
    summary = {"model_version": classifier.version, "data": str(data), **details["summary"]}
    if report_dir is not None:
        from training.report import write_plots

        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
        write_plots(details, classifier.labels, report_dir)
    return EvalResult(summary, details, classifier.version, report_dir)


def compare(current: dict, other: dict) -> dict[str, dict[str, float]]:
    """Per-label F1 differences (current minus other), for `evaluate --compare`."""
    out = {}
    for lab in sorted(set(current["per_label"]) | set(other["per_label"])):
        a = current["per_label"].get(lab, {}).get("f1", 0.0)
        b = other["per_label"].get(lab, {}).get("f1", 0.0)
        out[lab] = {"f1": a, "other_f1": b, "delta": round(a - b, 4)}
    out["macro"] = {"f1": current["macro_f1"], "other_f1": other["macro_f1"], "delta": round(current["macro_f1"] - other["macro_f1"], 4)}
    return out
