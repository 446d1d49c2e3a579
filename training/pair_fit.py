"""Fitting the duplicate detector's pair scorer (service.core.pairs) for a freshly trained model.

Pairs come from datasets/resend_train/*.jsonl ({"a", "b", "is_duplicate", ...}: a customer's earlier message
and a later one, the same request again or a new one). Each pair's features are computed exactly as the
service computes them when the new message ``b`` arrives and ``a`` is stored: the content signatures, the
quoted part of ``b``, and this model's scores and embeddings (through the training-path matrix, which the
parity test holds equal to serving).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from service.core import pairs, similarity
from service.core.langid import LanguageIdentifier, pipeline_language
from service.core.model import TriageModel
from service.errors import DatasetError
from training.metrics import best_threshold

REQUIRED = ("a", "b", "is_duplicate")


def load_pairs(path: Path) -> list[dict]:
    """All pairs under a folder (or in one file); a malformed row is a DatasetError naming its file and line."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    out = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{f}:{n}: not JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or any(k not in rec for k in REQUIRED) or not isinstance(rec["is_duplicate"], bool) \
                    or not all(isinstance(rec[k], str) and rec[k].strip() for k in ("a", "b")):
                raise DatasetError(f"{f}:{n}: a pair needs non-empty 'a' and 'b' texts and a boolean 'is_duplicate'")
            out.append(rec)
    return out


def pair_matrix(model: TriageModel, langid: LanguageIdentifier, rows: list[dict], cached: bool = True,
                progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Features (one row per pair) and targets, as the service would see each pair."""
    texts = [r["a"] for r in rows] + [r["b"] for r in rows]
    docs = [model.prepare(t, pipeline_language(langid.detect(t).code)) for t in texts]
    with tqdm(total=len(docs), desc="pair scorer: embedding pairs", unit="msg", disable=not (progress and model.embedding)) as bar:
        X = model.matrix(docs, cached=cached, progress=bar.update)
        bar.update(bar.total - bar.n)  # texts found in the cache are done too
    proba = np.round(model.proba_from_matrix(X), 6)  # the service stores and compares scores rounded to 6 places
    embs = model.embeddings_in(X) if model.embedding else None
    n = len(rows)
    dim = embs.shape[1] if embs is not None else 0
    feats = []
    if dim:  # the earlier message's embedding as the store keeps it (float16), exactly what serving compares with
        embs[:n] = embs[:n].astype(np.float16).astype(np.float64)
    for i, r in enumerate(rows):
        sig_a = similarity.loads(similarity.dumps(similarity.signature(r["a"])))  # likewise its stored signature
        sig_b = similarity.signature(r["b"])
        quoted = similarity.quoted_signature(r["b"])
        feats.append(pairs.pair_features(model.labels, dim, similarity.cosine(sig_a, sig_b), similarity.cosine(quoted, sig_a) if quoted else 0.0,
                                         proba[n + i], proba[i][None, :], embs[n + i] if dim else None, embs[i][None, :] if dim else None))
    return np.vstack(feats), np.array([r["is_duplicate"] for r in rows], dtype=int)


def fit(X: np.ndarray, y: np.ndarray, labels: tuple[str, ...], embedding_dim: int, seed: int = 0, folds: int = 5,
        grid: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0)) -> tuple[pairs.PairScorer, dict]:
    """Choose C by out-of-fold ROC-AUC, the threshold on the out-of-fold probabilities (F0.5: a false merge hides a
    customer's new request, so precision counts double), then fit on all pairs. Returns the scorer and its
    out-of-fold figures."""
    y = np.asarray(y, dtype=int)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y))
    best = None
    for C in grid:
        oof = np.zeros(len(y))
        for tr, te in splits:
            oof[te] = LogisticRegression(C=C, max_iter=5000).fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        auc = float(roc_auc_score(y, oof))
        if best is None or auc > best[0] + 1e-9:
            best = (auc, C, oof)
    auc, C, oof = best
    threshold = best_threshold(y, oof, beta=0.5, lo=0.05, hi=0.95)
    final = LogisticRegression(C=C, max_iter=5000).fit(X, y)
    pred = oof >= threshold
    report = {"pairs": int(len(y)), "C": C, "threshold": threshold, "oof_roc_auc": round(auc, 4),
              "oof_precision": round(float(y[pred].mean()) if pred.any() else 0.0, 4), "oof_recall": round(float(pred[y == 1].mean()), 4)}
    scorer = pairs.PairScorer(tuple(labels), final.coef_[0].astype(np.float64), float(final.intercept_[0]), threshold, embedding_dim, C)
    return scorer, report


def fit_pair_scorer(model: TriageModel, langid: LanguageIdentifier, path: Path, seed: int = 0,
                    progress: bool = False) -> tuple[pairs.PairScorer | None, dict | None]:
    """The scorer and its out-of-fold report, or (None, None) when ``path`` holds fewer than 20 pairs or fewer than
    5 of either kind (too few to choose a threshold out of fold)."""
    rows = load_pairs(path) if path.exists() else []
    y = np.array([r["is_duplicate"] for r in rows], dtype=int)
    if len(rows) < 20 or y.sum() < 5 or (1 - y).sum() < 5:
        return None, None
    X, y = pair_matrix(model, langid, rows, progress=progress)
    dim = (X.shape[1] - len(pairs.BASE_FEATURES)) // 2
    scorer, report = fit(X, y, model.labels, dim, seed=seed)
    return scorer, {**report, "path": str(path)}


def refit_pairs(models_dir: Path, version: str | None, pairs_path: Path, new_version: str, promote: bool = False,
                progress: bool = True) -> tuple[Path, dict]:
    """A new model version: ``version``'s classifier unchanged, with a pair scorer fitted on ``pairs_path`` (for a team
    that brings its own resend pairs, or a model trained before pair scorers). Returns the new folder and the report."""
    from datetime import UTC, datetime

    from service.core.artifacts import load_artifact, resolve_model_dir, save_artifact, set_current
    from training.data import sha256_files

    if not pairs_path.exists():
        raise DatasetError(f"{pairs_path} does not exist")
    model, meta = load_artifact(resolve_model_dir(models_dir, version), models_dir)
    scorer, report = fit_pair_scorer(model, LanguageIdentifier(), pairs_path, progress=progress)
    if scorer is None:
        raise DatasetError(f"{pairs_path} needs at least 20 pairs, 5 of each kind")
    model.pair_scorer = scorer
    old = meta.model_dump(mode="json")
    sources = [s for s in old["sources"] if s.get("kind") != "pairs"] + [
        {"path": str(pairs_path), "kind": "pairs", "weight": 1.0, "rows": report["pairs"], "train_rows": report["pairs"],
         "test_rows": 0, "sha256": sha256_files(pairs_path)}]
    new_meta = {**old, "version": new_version, "created_at": datetime.now(UTC).isoformat(), "sources": sources,
                "metrics": {**old["metrics"], "pairs": {**report, "path": str(pairs_path)}, "derived_from": meta.version}}
    out = save_artifact(model, new_meta, models_dir)
    if promote:
        set_current(models_dir, new_version)
    return out, report
