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

``triage train`` fits it (training/pair_fit.py) on datasets/resend_train (pairs we wrote; never the benchmark's) and it travels in
the model artifact, since its inputs are that model's scores and embeddings. Models without one fall
back to the older rule in ``service.core.similarity.combined``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE_FEATURES = ("lexical", "quoted", "embedding_cosine", "duplicate_cue", "label_gap", "out_of_scope", "billing_gap", "fault_gap")


@dataclass
class PairScorer:
    labels: tuple[str, ...]  # the model's labels, in the order its score vectors use
    coef: np.ndarray  # (len(BASE_FEATURES) + 2 * embedding_dim,)
    intercept: float
    threshold: float  # probability at which the pair counts as the same request (chosen out of fold, precision first)
    embedding_dim: int = 0  # 0: the model has no embedding, only the base features are used
    C: float = 1.0  # regularisation chosen out of fold (kept for the record)

    def features(self, lexical: np.ndarray, quoted: np.ndarray, new_scores: np.ndarray, old_scores: np.ndarray,
                 new_emb: np.ndarray | None = None, old_embs: np.ndarray | None = None) -> np.ndarray:
        """One row per earlier message: ``lexical`` / ``quoted`` (n,), ``new_scores`` (labels,), ``old_scores``
        (n, labels), ``new_emb`` (dim,) and ``old_embs`` (n, dim) when the model has an embedding."""
        return pair_features(self.labels, self.embedding_dim, lexical, quoted, new_scores, old_scores, new_emb, old_embs)

    def probability(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(np.asarray(X, dtype=np.float64) @ self.coef + self.intercept)))


def pair_features(labels: tuple[str, ...], embedding_dim: int, lexical, quoted, new_scores, old_scores,
                  new_emb=None, old_embs=None) -> np.ndarray:
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
    if not embedding_dim:
        return np.column_stack(cols)
    have = new_emb is not None and old_embs is not None
    if have:
        old_embs = np.asarray(old_embs, dtype=np.float64).reshape(n, embedding_dim)
        shift = np.asarray(new_emb, dtype=np.float64)[None, :] - old_embs
        shift[~old_embs.any(axis=1)] = 0.0  # a zero row: stored without an embedding, so no semantic evidence either way
        cols[2] = old_embs @ np.asarray(new_emb, dtype=np.float64)
    else:
        shift = np.zeros((n, embedding_dim))
    return np.hstack([np.column_stack(cols), shift, np.abs(shift)])
