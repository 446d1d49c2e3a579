"""Multi-label metrics: per-label precision/recall/F1, macro and micro F1, a per-language table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.core.classifier import Prediction
from training.data import Row


def prf(tp: float, fp: float, fn: float) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def label_table(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str], present_only: bool = True) -> dict:
    per_label = {}
    tps = fps = fns = 0.0
    for k, lab in enumerate(labels):
        t, p = y_true[:, k].astype(bool), y_pred[:, k].astype(bool)
        tp, fp, fn = float(np.sum(t & p)), float(np.sum(~t & p)), float(np.sum(t & ~p))
        support = int(t.sum())
        if present_only and support == 0:
            continue
        per_label[lab] = {**prf(tp, fp, fn), "support": support}
        tps, fps, fns = tps + tp, fps + fp, fns + fn
    macro = round(float(np.mean([v["f1"] for v in per_label.values()])), 4) if per_label else 0.0
    exact = float(np.mean(np.all(y_true == y_pred, axis=1))) if len(y_true) else 0.0
    return {"per_label": per_label, "macro_f1": macro, "micro_f1": prf(tps, fps, fns)["f1"], "exact_match": round(exact, 4), "rows": int(len(y_true))}


def evaluate_predictions(rows: Sequence[Row], preds: Sequence[Prediction], thresholds, labels: Sequence[str]) -> dict:
    y_true = np.array([[lab in r.labels for lab in labels] for r in rows], dtype=int).reshape(len(rows), len(labels))
    y_pred = np.array([[lab in p.labels for lab in labels] for p in preds], dtype=int).reshape(len(rows), len(labels))
    scores = np.array([[p.scores[lab] for lab in labels] for p in preds]).reshape(len(rows), len(labels))
    summary = label_table(y_true, y_pred, labels)
    by_lang: dict[str, dict] = {}
    langs = sorted({r.lang or p.language.code for r, p in zip(rows, preds)})
    for lang in langs:
        mask = np.array([(r.lang or p.language.code) == lang for r, p in zip(rows, preds)])
        by_lang[lang] = label_table(y_true[mask], y_pred[mask], labels)
    summary["per_language"] = {lang: {"rows": t["rows"], "macro_f1": t["macro_f1"], "micro_f1": t["micro_f1"],
                                      **{lab: v["f1"] for lab, v in t["per_label"].items()}} for lang, t in by_lang.items()}
    return {"summary": summary, "y_true": y_true, "y_pred": y_pred, "scores": scores, "thresholds": np.asarray(thresholds)}


def best_threshold(y: np.ndarray, proba: np.ndarray, beta: float = 1.0, lo: float = 0.1, hi: float = 0.9) -> float:
    """The threshold in [lo, hi] (steps of 0.01) maximising F-beta on out-of-fold scores (beta < 1 favours precision)."""
    best, best_f = 0.5, -1.0
    b2 = beta * beta
    for t in np.round(np.arange(lo, hi + 0.01, 0.01), 2):
        pred = proba >= t
        tp = float(np.sum(pred & (y == 1)))
        denom = b2 * y.sum() + pred.sum()
        f = (1 + b2) * tp / denom if denom else 0.0
        if f > best_f + 1e-9:
            best, best_f = float(t), f
    return best
