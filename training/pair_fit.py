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

from service.core import pairs, similarity
from service.core.langid import LanguageIdentifier, pipeline_language
from service.core.model import TriageModel
from service.errors import DatasetError

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


def pair_matrix(model: TriageModel, langid: LanguageIdentifier, rows: list[dict], cached: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Features (one row per pair) and targets, as the service would see each pair."""
    texts = [r["a"] for r in rows] + [r["b"] for r in rows]
    docs = [model.prepare(t, pipeline_language(langid.detect(t).code)) for t in texts]
    X = model.matrix(docs, cached=cached)
    proba = np.round(model.proba_from_matrix(X), 6)  # the service stores and compares scores rounded to 6 places
    embs = model.embeddings_in(X) if model.embedding else None
    n = len(rows)
    dim = embs.shape[1] if embs is not None else 0
    feats = []
    for i, r in enumerate(rows):
        sig_a, sig_b = similarity.signature(r["a"]), similarity.signature(r["b"])
        quoted = similarity.signature(similarity.quoted_part(r["b"])) if ">" in r["b"] or "\n" in r["b"] else {}
        feats.append(pairs.pair_features(model.labels, dim, similarity.cosine(sig_a, sig_b), similarity.cosine(quoted, sig_a) if quoted else 0.0,
                                         proba[n + i], proba[i][None, :], embs[n + i] if dim else None, embs[i][None, :] if dim else None))
    return np.vstack(feats), np.array([r["is_duplicate"] for r in rows], dtype=int)


def fit_pair_scorer(model: TriageModel, langid: LanguageIdentifier, path: Path, seed: int = 0) -> tuple[pairs.PairScorer | None, dict | None]:
    """The scorer and its out-of-fold report, or (None, None) when ``path`` holds no pairs of both kinds."""
    rows = load_pairs(path) if path.exists() else []
    y = np.array([r["is_duplicate"] for r in rows], dtype=int)
    if len(rows) < 20 or y.sum() < 5 or (1 - y).sum() < 5:
        return None, None
    X, y = pair_matrix(model, langid, rows)
    dim = (X.shape[1] - len(pairs.BASE_FEATURES)) // 2
    scorer, report = pairs.fit(X, y, model.labels, dim, seed=seed)
    return scorer, {**report, "path": str(path)}

