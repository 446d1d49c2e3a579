"""Nearest training messages in the sentence-embedding space: a second opinion for the linear scores.

For a message, the ``k`` training messages whose embeddings lie closest (cosine) vote on each label,
each vote weighted by its similarity (negative similarities count as zero). The linear model draws
one straight boundary per label; the neighbours follow the shape of the data, so a message worded
unlike anything in training but meaning what many training messages mean still finds them.
Calibration combines both (``TriageModel.calibrate``). Training and serving call the same function.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-4  # fractions are clipped to [EPS, 1 - EPS] before the logit, so a unanimous vote stays finite


def fractions(queries: np.ndarray, refs: np.ndarray, ref_labels: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Similarity-weighted share of each label among the ``k`` nearest ``refs`` of every row of ``queries``.

    ``queries`` (m x d) and ``refs`` (n x d) hold unit vectors, ``ref_labels`` is n x labels (0/1).
    Float64 throughout, so one message alone and the same message in a batch get the same neighbours.
    """
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float64))
    labels = np.asarray(ref_labels, dtype=np.float64)
    out = np.zeros((len(queries), labels.shape[1]))
    k = min(k, len(refs))
    if k == 0:
        return out
    for start in range(0, len(queries), chunk):
        sims = _similarities(queries[start : start + chunk], refs)
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < len(refs) else np.broadcast_to(np.arange(len(refs)), sims.shape)
        weight = np.take_along_axis(sims, near, axis=1).clip(0.0)
        votes = np.einsum("ij,ijl->il", weight, labels[near])
        total = weight.sum(axis=1, keepdims=True)
        # no neighbour at a positive similarity (e.g. a message that cleaning left empty): the training base rate, no opinion
        out[start : start + chunk] = np.where(total > 0, votes / np.maximum(total, 1e-12), labels.mean(axis=0))
    return out


def _similarities(queries: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """``queries @ refs.T``; for a few queries (serving) on one BLAS thread. Right after the embedding engine's OpenMP
    threads have run, OpenBLAS's own threads fight them for the two cores: one message took 50 ms instead of 20."""
    if len(queries) > 16:
        return queries @ refs.T
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        return queries @ refs.T


_controller = None


def out_of_fold(vectors: np.ndarray, labels: np.ndarray, k: int, folds: int, seed: int) -> np.ndarray:
    """Each training row's neighbour fractions computed without its own fold (what calibration is fitted on)."""
    from sklearn.model_selection import KFold

    out = np.zeros((len(vectors), labels.shape[1]))
    for train, held in KFold(folds, shuffle=True, random_state=seed).split(vectors):
        out[held] = fractions(vectors[held], vectors[train], labels[train], k)
    return out


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))
