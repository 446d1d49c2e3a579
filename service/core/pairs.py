"""Same request or not: the duplicate detector's judgement on (an earlier open message, a new message) pairs.

A resend is often reworded beyond recognition, while a new request from the same customer shares their
account number, greeting and half their words; neither word overlap nor the embedding cosine alone tells
the two apart (ROC-AUC 0.68 and 0.76 on our resend benchmark). A small logistic model weighs, per pair:

- ``lexical``: cosine of the content signatures; ``quoted``: the same for the part of the new message
  that quotes an earlier one;
- ``embedding_cosine``, and the embedding shift (new minus old, and its absolute value): what the customer
  asks for now that they did not before;
- the classifier's view: the new message's duplicate cue ("second time I write"), how far the two
  messages' other label scores lie apart (a billing question after an outage report is a new request);
- the size shift: how much longer or shorter the new message is (log of its signature's feature count
  against the stored one's, and its absolute value). A two-line chaser rewritten as a full e-mail, or
  the reverse, cannot share many words with the original, so a low lexical similarity means less
  there than between two messages of one size.

``triage train`` fits it (training/pair_fit.py) on datasets/resend_train (pairs we wrote; never the benchmark's) and it travels in
the model artifact, since its inputs are that model's scores and embeddings. Models without one fall
back to the older rule in ``service.core.similarity.combined``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES_V1 = ("lexical", "quoted", "embedding_cosine", "duplicate_cue", "label_gap", "out_of_scope", "billing_gap", "fault_gap")
BASE_FEATURES = FEATURES_V1 + ("size_shift", "size_gap")  # what new scorers are fitted on; a scorer records its own


@dataclass
class PairScorer:
    labels: tuple[str, ...]  # the model's labels, in the order its score vectors use
    coef: np.ndarray  # (len(BASE_FEATURES) + 2 * embedding_dim,)
    intercept: float
    threshold: float  # probability at which the pair counts as the same request (chosen out of fold, precision first)
    embedding_dim: int = 0  # 0: the model has no embedding, only the base features are used
    C: float = 1.0  # regularisation chosen out of fold (kept for the record)
    base: tuple[str, ...] = BASE_FEATURES  # the named features it was fitted on, in order (before the embedding shift)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("base", FEATURES_V1)  # scorers pickled before the size features

    def features(self, lexical: np.ndarray, quoted: np.ndarray, new_scores: np.ndarray, old_scores: np.ndarray,
                 new_emb: np.ndarray | None = None, old_embs: np.ndarray | None = None, new_size: int = 0,
                 old_sizes=None) -> np.ndarray:
        """One row per earlier message: ``lexical`` / ``quoted`` (n,), ``new_scores`` (labels,), ``old_scores``
        (n, labels), ``new_emb`` (dim,) and ``old_embs`` (n, dim) when the model has an embedding, ``new_size`` /
        ``old_sizes`` (n,) the feature counts of the content signatures."""
        return pair_features(self.labels, self.embedding_dim, lexical, quoted, new_scores, old_scores, new_emb, old_embs,
                             new_size, old_sizes, self.base)

    def probability(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(np.asarray(X, dtype=np.float64) @ self.coef + self.intercept)))


def pair_features(labels: tuple[str, ...], embedding_dim: int, lexical, quoted, new_scores, old_scores,
                  new_emb=None, old_embs=None, new_size: int = 0, old_sizes=None, base: tuple[str, ...] = BASE_FEATURES) -> np.ndarray:
    lexical = np.atleast_1d(np.asarray(lexical, dtype=np.float64))
    n = len(lexical)
    new_scores = np.asarray(new_scores, dtype=np.float64)
    old_scores = np.asarray(old_scores, dtype=np.float64).reshape(n, len(labels))
    k = {lab: i for i, lab in enumerate(labels)}
    others = [i for lab, i in k.items() if lab != "duplicate"]
    gap = np.abs(old_scores - new_scores)
    old_sizes = np.zeros(n) if old_sizes is None else np.asarray(old_sizes, dtype=np.float64).reshape(n)
    size_shift = np.log1p(float(new_size)) - np.log1p(old_sizes)
    named = {"lexical": lexical, "quoted": np.asarray(quoted, dtype=np.float64).reshape(n), "embedding_cosine": np.zeros(n),
             "duplicate_cue": np.full(n, new_scores[k["duplicate"]]), "label_gap": gap[:, others].sum(axis=1),
             "out_of_scope": np.full(n, new_scores[k["out_of_scope"]]), "billing_gap": gap[:, k["billing"]],
             "fault_gap": gap[:, k["fault"]], "size_shift": size_shift, "size_gap": np.abs(size_shift)}
    cols = [named[name] for name in base]
    if not embedding_dim:
        return np.column_stack(cols)
    have = new_emb is not None and old_embs is not None
    if have:
        old_embs = np.asarray(old_embs, dtype=np.float64).reshape(n, embedding_dim)
        shift = np.asarray(new_emb, dtype=np.float64)[None, :] - old_embs
        shift[~old_embs.any(axis=1)] = 0.0  # a zero row: stored without an embedding, so no semantic evidence either way
        cols[base.index("embedding_cosine")] = old_embs @ np.asarray(new_emb, dtype=np.float64)
    else:
        shift = np.zeros((n, embedding_dim))
    return np.hstack([np.column_stack(cols), shift, np.abs(shift)])
