"""Same request or not: the duplicate detector's judgement on (an earlier open message, a new message) pairs.

A resend is often reworded beyond recognition, while a new request from the same customer shares their
account number, greeting and half their words; neither word overlap nor the embedding cosine alone tells
the two apart (ROC-AUC 0.68 and 0.76 on our resend benchmark). A small logistic model weighs, per pair:

- ``lexical``: cosine of the content signatures; ``quoted``: the same for the part of the new message
  that quotes an earlier one;
- ``embedding_cosine``, and the embedding shift (new minus old, and its absolute value): what the customer
  asks for now that they did not before;
- the classifier's view: the new message's duplicate cue ("second time I write"), how far the two
  messages' other label scores lie apart (a billing question after an outage report is a new request).
- how their sentences pair up (models from session 10 on; ``profiles.alignment``): a resend says each sentence
  again, reworded, while a new request of the same customer repeats the account number and the greeting but adds
  a sentence the earlier message lacks, which the whole-message similarities average away; and which numbers and codes
  both name (the amount, the booking code again, or only the account number).

Two kinds share these inputs. The logistic kind weighs every feature once (``coef``). The boosted kind (models from
session 9 on) first folds the embedding shift onto its main directions among the training pairs (``center`` and
``projection``: 384 numbers become 32), then lets gradient-boosted trees (``forest``) combine them with the base
features, so a high embedding cosine can count for less when the label scores part or the cue is absent. The trees
are fitted by scikit-learn and kept as plain arrays, walked by a compiled loop: about 2 ms per call through
scikit-learn's predict_proba, microseconds here, with the same numbers (a test holds them equal).

``triage train`` fits it (training/pair_fit.py) on datasets/resend_train (pairs we wrote; never the benchmark's) and it travels in
the model artifact, since its inputs are that model's scores and embeddings. Models without one fall
back to the older rule in ``service.core.similarity.combined``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.core import kernels

LEGACY_FEATURES = ("lexical", "quoted", "embedding_cosine", "duplicate_cue", "label_gap", "out_of_scope", "billing_gap", "fault_gap")
ALIGNMENT_FEATURES = ("newest_sentence", "sentence_cover", "dropped_sentence", "new_sentences", "old_sentences")
NUMBER_FEATURES = ("code_overlap", "digit_overlap", "new_digits", "dropped_digits", "shared_digits")
BASE_FEATURES = LEGACY_FEATURES + ALIGNMENT_FEATURES + NUMBER_FEATURES  # what scorers fitted from session 10 on read


@dataclass
class Forest:
    """Gradient-boosted trees for a binary decision, as flat arrays: node ``i`` sends a row left when its ``feature``
    is at most ``threshold`` (or is NaN and ``missing_left``), ``left`` / ``right`` index the same arrays, a leaf
    holds its ``value``; ``roots`` are the first node of each tree. probability = sigmoid(base + sum of leaves)."""

    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    missing_left: np.ndarray  # bool
    left: np.ndarray  # int64
    right: np.ndarray  # int64
    value: np.ndarray  # float64
    is_leaf: np.ndarray  # bool
    roots: np.ndarray  # int64
    base: float

    def raw(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        args = (X, self.feature, self.threshold, self.missing_left, self.left, self.right, self.value, self.is_leaf, self.roots)
        return self.base + (kernels.tree_sums(*args) if kernels.AVAILABLE else _tree_sums(*args))

    def probability(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.raw(X)))


def _tree_sums(X, feature, threshold, missing_left, left, right, value, is_leaf, roots) -> np.ndarray:
    """numpy fallback of ``kernels.tree_sums``: all trees walked one level at a time."""
    out = np.zeros(len(X))
    for r, x in enumerate(X):
        node = roots.copy()
        while True:
            inner = ~is_leaf[node]
            if not inner.any():
                break
            n = node[inner]
            v = x[feature[n]]
            go_left = np.where(np.isnan(v), missing_left[n], v <= threshold[n])
            node[inner] = np.where(go_left, left[n], right[n])
        out[r] = value[node].sum()
    return out


@dataclass
class PairScorer:
    labels: tuple[str, ...]  # the model's labels, in the order its score vectors use
    coef: np.ndarray  # (len(BASE_FEATURES) + 2 * embedding_dim,)
    intercept: float
    threshold: float  # probability at which the pair counts as the same request (chosen out of fold, precision first)
    embedding_dim: int = 0  # 0: the model has no embedding, only the base features are used
    C: float = 1.0  # regularisation chosen out of fold (kept for the record)
    forest: Forest | None = None  # the boosted kind's trees (coef and intercept then unused)
    center: np.ndarray | None = None  # boosted kind with an embedding: mean shift of the training pairs (embedding_dim,)
    projection: np.ndarray | None = None  # ... and its main directions (k, embedding_dim)
    base: tuple[str, ...] = BASE_FEATURES  # the base features it reads, in order (before the embedding shift)

    def __setstate__(self, state: dict) -> None:  # scorers pickled before the boosted kind or the sentence alignment
        self.__dict__.update({"forest": None, "center": None, "projection": None, "base": LEGACY_FEATURES, **state})

    @property
    def kind(self) -> str:
        return "boosted" if self.forest is not None else "logistic"

    def features(self, lexical: np.ndarray, quoted: np.ndarray, new_scores: np.ndarray, old_scores: np.ndarray,
                 new_emb: np.ndarray | None = None, old_embs: np.ndarray | None = None, aligned: np.ndarray | None = None,
                 numbers: np.ndarray | None = None) -> np.ndarray:
        """One row per earlier message: ``lexical`` / ``quoted`` (n,), ``new_scores`` (labels,), ``old_scores``
        (n, labels), ``new_emb`` (dim,) and ``old_embs`` (n, dim) when the model has an embedding, ``aligned``
        (n, 5): ``profiles.alignment`` of the two messages' sentences, ``numbers`` (n, 5):
        ``profiles.number_overlap``."""
        return pair_features(self.labels, self.embedding_dim, lexical, quoted, new_scores, old_scores, new_emb, old_embs,
                             aligned, numbers, self.base)

    def probability(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if self.forest is not None:
            return self.forest.probability(reduce_features(X, self.center, self.projection, len(self.base)))
        return 1.0 / (1.0 + np.exp(-(X @ self.coef + self.intercept)))


def reduce_features(X: np.ndarray, center: np.ndarray | None, projection: np.ndarray | None, n_base: int = len(BASE_FEATURES)) -> np.ndarray:
    """The boosted kind's inputs: the base features, then the embedding shift on its main directions, signed and absolute
    (the shift's absolute value in ``X`` is not needed: it is the same information before the projection)."""
    if projection is None:
        return X[:, :n_base]
    dim = projection.shape[1]
    s = (X[:, n_base : n_base + dim] - center) @ projection.T
    return np.hstack([X[:, :n_base], s, np.abs(s)])


def pair_features(labels: tuple[str, ...], embedding_dim: int, lexical, quoted, new_scores, old_scores,
                  new_emb=None, old_embs=None, aligned=None, numbers=None, base: tuple[str, ...] = BASE_FEATURES) -> np.ndarray:
    """The columns ``base`` names, then (with an embedding) the shift and its absolute value. Without ``aligned``, each
    pair counts as two one-sentence messages whose sentence match is the lexical cosine; without ``numbers``, as
    two messages that name no number."""
    lexical = np.atleast_1d(np.asarray(lexical, dtype=np.float64))
    n = len(lexical)
    new_scores = np.asarray(new_scores, dtype=np.float64)
    old_scores = np.asarray(old_scores, dtype=np.float64).reshape(n, len(labels))
    k = {lab: i for i, lab in enumerate(labels)}
    others = [i for lab, i in k.items() if lab != "duplicate"]
    gap = np.abs(old_scores - new_scores)
    cols = [lexical, np.asarray(quoted, dtype=np.float64).reshape(n), np.zeros(n),
            np.full(n, new_scores[k["duplicate"]]), gap[:, others].sum(axis=1), np.full(n, new_scores[k["out_of_scope"]]),
            gap[:, k["billing"]], gap[:, k["fault"]]]
    if aligned is None:
        aligned = np.column_stack([lexical, lexical, lexical, np.ones(n), np.ones(n)])
    cols += list(np.asarray(aligned, dtype=np.float64).reshape(n, len(ALIGNMENT_FEATURES)).T)
    numbers = np.zeros((n, len(NUMBER_FEATURES))) if numbers is None else numbers
    cols += list(np.asarray(numbers, dtype=np.float64).reshape(n, len(NUMBER_FEATURES)).T)
    cols = [cols[BASE_FEATURES.index(name)] for name in base]
    if not embedding_dim:
        return np.column_stack(cols)
    have = new_emb is not None and old_embs is not None
    if have:
        old_embs = np.asarray(old_embs, dtype=np.float64).reshape(n, embedding_dim)
        shift = np.asarray(new_emb, dtype=np.float64)[None, :] - old_embs
        shift[~old_embs.any(axis=1)] = 0.0  # a zero row: stored without an embedding, so no semantic evidence either way
        if "embedding_cosine" in base:
            cols[base.index("embedding_cosine")] = old_embs @ np.asarray(new_emb, dtype=np.float64)
    else:
        shift = np.zeros((n, embedding_dim))
    return np.hstack([np.column_stack(cols), shift, np.abs(shift)])
