"""Fitting the duplicate detector's pair scorer (service.core.pairs) for a freshly trained model.

Pairs come from datasets/resend_train/*.jsonl ({"a", "b", "is_duplicate", ...}: a customer's earlier message
and a later one, the same request again or a new one). Each pair's features are computed exactly as the
service computes them when the new message ``b`` arrives and ``a`` is stored: the content signatures, the
quoted part of ``b``, and this model's scores and embeddings (through the training-path matrix, which the
parity test holds equal to serving).

Beside the written pairs, each first message is also paired with one short message of another request from the
classifier's training split ("ok thanks", a password question): a customer's most common next message, which the
written pairs lack and which a scorer fitted without them merged (see dup_bench's short follow-ups, drawn from the test
split instead). Two kinds of scorer are fitted out of fold, logistic (C from a grid) and, for a model with the
embedding, boosted trees over the projected embedding shift; the one with the better out-of-fold ROC-AUC is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from service.core import pairs, profiles, similarity
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
        old = profiles.Profile.from_stored(profiles.profile(r["a"]).to_stored(None))  # likewise as the store keeps it
        new = profiles.profile(r["b"])
        quoted = similarity.quoted_signature(r["b"])
        # cosine(new, stored) sums in the order serving does: the boosted scorer's trees split on exact training values
        feats.append(pairs.pair_features(model.labels, dim, similarity.cosine(new.sig, old.sig), similarity.cosine(quoted, old.sig) if quoted else 0.0,
                                         proba[n + i], proba[i][None, :], embs[n + i] if dim else None, embs[i][None, :] if dim else None,
                                         np.array([profiles.alignment(new, old)]), np.array([profiles.number_overlap(new.nums, old.nums)])))
    return np.vstack(feats), np.array([r["is_duplicate"] for r in rows], dtype=int)


SHORT_WORDS = 6  # a short message: at most this many words (4x as many characters in Japanese, which has no spaces)
PROJECTED = 32  # directions of the embedding shift the boosted kind keeps


def short_messages(rows, max_words: int = SHORT_WORDS) -> dict[str, list[str]]:
    """Per language, the texts of ``rows`` (dataset rows) that are short and carry no duplicate label."""
    out: dict[str, list[str]] = {}
    for r in rows:
        short = len(r.text) <= 4 * max_words if similarity.has_cjk(r.text) else len(r.text.split()) <= max_words
        if short and "duplicate" not in r.labels:
            out.setdefault(r.lang, []).append(r.text)
    return out


def short_negatives(pair_rows: list[dict], shorts: dict[str, list[str]], langid: LanguageIdentifier, seed: int = 0) -> list[dict]:
    """One pair per distinct first message: it and a short message of another request in its language."""
    import random

    rng = random.Random(seed)
    out = []
    for a in dict.fromkeys(r["a"] for r in pair_rows):
        pool = shorts.get(langid.detect(a).code)
        if pool:
            out.append({"a": a, "b": rng.choice(pool), "is_duplicate": False, "kind": "short"})
    return out


class _Boosted:
    """Estimator shape for the out-of-fold loop: projection fitted on the training folds only."""

    def __init__(self, dim: int, seed: int) -> None:
        self.dim, self.seed = dim, seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Boosted:
        self.center, self.projection = None, None
        if self.dim:
            shift = X[:, len(pairs.BASE_FEATURES) : len(pairs.BASE_FEATURES) + self.dim]
            pca = PCA(min(PROJECTED, self.dim), svd_solver="full").fit(shift)
            self.center, self.projection = pca.mean_.copy(), pca.components_.copy()
        self.booster = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=300, early_stopping=False, random_state=self.seed)
        self.booster.fit(pairs.reduce_features(X, self.center, self.projection), y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.booster.predict_proba(pairs.reduce_features(X, self.center, self.projection))


def forest_of(booster: HistGradientBoostingClassifier) -> pairs.Forest:
    """A fitted binary booster's trees as one set of flat arrays (child indices shifted to the concatenation)."""
    parts, roots, offset = [], [], 0
    for (tree,) in booster._predictors:  # one tree per iteration for a binary target
        nodes = tree.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits are not supported")
        roots.append(offset)
        parts.append((nodes["feature_idx"], nodes["num_threshold"], nodes["missing_go_to_left"].astype(bool),
                      nodes["left"].astype(np.int64) + offset, nodes["right"].astype(np.int64) + offset, nodes["value"],
                      nodes["is_leaf"].astype(bool)))
        offset += len(nodes)
    cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    return pairs.Forest(cols[0].astype(np.int64), cols[1].astype(np.float64), cols[2], cols[3], cols[4], cols[5].astype(np.float64),
                        cols[6], np.array(roots, dtype=np.int64), float(np.ravel(booster._baseline_prediction)[0]))


def fit(X: np.ndarray, y: np.ndarray, labels: tuple[str, ...], embedding_dim: int, seed: int = 0, folds: int = 5,
        grid: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0), written: np.ndarray | None = None) -> tuple[pairs.PairScorer, dict]:
    """Choose the kind (logistic with C from ``grid``, or boosted when ``embedding_dim``) by out-of-fold ROC-AUC, the
    threshold on its out-of-fold probabilities of the ``written`` rows (F0.5: a false merge hides a customer's new
    request, so precision counts double; default all rows), then fit on all pairs. The threshold belongs where the hard
    cases are: the easy short negatives would only flatter its precision. Returns the scorer and its out-of-fold figures."""
    y = np.asarray(y, dtype=int)
    written = np.ones(len(y), dtype=bool) if written is None else np.asarray(written, dtype=bool)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y))
    candidates = [(f"logistic C={C}", C, lambda C=C: LogisticRegression(C=C, max_iter=5000)) for C in grid]
    if embedding_dim:  # the trees are for reading the embedding shift; on the base features alone a logistic did as well
        candidates.append(("boosted", 1.0, lambda: _Boosted(embedding_dim, seed)))
    best, tried = None, {}
    for name, C, make in candidates:
        oof = np.zeros(len(y))
        for tr, te in splits:
            oof[te] = make().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        auc = float(roc_auc_score(y, oof))
        tried[name] = round(auc, 4)
        if best is None or auc > best[0] + 1e-9:
            best = (auc, name, C, make, oof)
    auc, name, C, make, oof = best
    yw, ow = y[written], oof[written]
    threshold = best_threshold(yw, ow, beta=0.5, lo=0.05, hi=0.95)
    final = make().fit(X, y)
    pred = ow >= threshold
    report = {"pairs": int(len(y)), "kind": name.split()[0], "C": C, "threshold": threshold, "oof_roc_auc": round(auc, 4),
              "oof_roc_auc_by_kind": tried, "oof_precision": round(float(yw[pred].mean()) if pred.any() else 0.0, 4),
              "oof_recall": round(float(pred[yw == 1].mean()), 4)}
    if isinstance(final, _Boosted):
        scorer = pairs.PairScorer(tuple(labels), np.zeros(0), 0.0, threshold, embedding_dim, C, forest=forest_of(final.booster),
                                  center=final.center, projection=final.projection)
    else:
        scorer = pairs.PairScorer(tuple(labels), final.coef_[0].astype(np.float64), float(final.intercept_[0]), threshold, embedding_dim, C)
    return scorer, report


def fit_pair_scorer(model: TriageModel, langid: LanguageIdentifier, path: Path, seed: int = 0,
                    progress: bool = False, train_rows=None) -> tuple[pairs.PairScorer | None, dict | None]:
    """The scorer and its out-of-fold report, or (None, None) when ``path`` holds fewer than 20 pairs or fewer than
    5 of either kind (too few to choose a threshold out of fold). ``train_rows``: the classifier's training rows, whose
    short messages become the short negatives (none when not given)."""
    rows = load_pairs(path) if path.exists() else []
    y = np.array([r["is_duplicate"] for r in rows], dtype=int)
    if len(rows) < 20 or y.sum() < 5 or (1 - y).sum() < 5:
        return None, None
    shorts = short_negatives(rows, short_messages(train_rows), langid, seed) if train_rows else []
    X, y = pair_matrix(model, langid, rows + shorts, progress=progress)
    dim = (X.shape[1] - len(pairs.BASE_FEATURES)) // 2
    scorer, report = fit(X, y, model.labels, dim, seed=seed, written=np.arange(len(y)) < len(rows))
    return scorer, {**report, "written_pairs": len(rows), "short_negatives": len(shorts), "path": str(path)}


def refit_pairs(models_dir: Path, version: str | None, pairs_path: Path, new_version: str, promote: bool = False,
                progress: bool = True, data: Path | None = None) -> tuple[Path, dict]:
    """A new model version: ``version``'s classifier unchanged, with a pair scorer fitted on ``pairs_path`` (for a team
    that brings its own resend pairs, or a model trained before pair scorers). ``data``: a dataset folder whose training
    split gives the short negatives (as `triage train` does). Returns the new folder and the report."""
    from datetime import UTC, datetime

    from service.core.artifacts import load_artifact, resolve_model_dir, save_artifact, set_current
    from training.data import sha256_files

    if not pairs_path.exists():
        raise DatasetError(f"{pairs_path} does not exist")
    model, meta = load_artifact(resolve_model_dir(models_dir, version), models_dir)
    train_rows = None
    if data is not None:
        from training.data import load_dataset, split_rows

        train_rows, _ = split_rows(load_dataset(data), data)
    scorer, report = fit_pair_scorer(model, LanguageIdentifier(), pairs_path, progress=progress, train_rows=train_rows)
    if scorer is None:
        raise DatasetError(f"{pairs_path} needs at least 20 pairs, 5 of each kind")
    model.pair_scorer = scorer
    old = meta.model_dump(mode="json")
    sources = [s for s in old["sources"] if s.get("kind") != "pairs"] + [
        {"path": str(pairs_path), "kind": "pairs", "weight": 1.0, "rows": report["written_pairs"], "train_rows": report["written_pairs"],
         "test_rows": 0, "sha256": sha256_files(pairs_path)}]
    new_meta = {**old, "version": new_version, "created_at": datetime.now(UTC).isoformat(), "sources": sources,
                "metrics": {**old["metrics"], "pairs": {**report, "path": str(pairs_path)}, "derived_from": meta.version}}
    out = save_artifact(model, new_meta, models_dir)
    if promote:
        set_current(models_dir, new_version)
    return out, report
