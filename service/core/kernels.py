"""Compiled inner loops (numba) for the per-message hot path, with the numpy code as the fallback.

The explanation shares every n-gram's contribution among the tokens it came from. In numpy that is
a dozen small array calls per message, each with a fixed cost of a microsecond or two, and that
fixed cost was half of a served prediction with its explanation. One compiled loop over the
message's few hundred n-gram occurrences does the same arithmetic in a few microseconds.

The kernels keep the GIL: they take microseconds, and letting go of the GIL would hand it to the event-loop
thread, which the classifying thread must then wait to win back (the cost ``os.urandom`` had in uuid4).

``numba`` compiles on first use and keeps the machine code in its on-disk cache (next to this file,
or in ``NUMBA_CACHE_DIR``), so only the first start on a machine pays for compiling. Without numba
(``TRIAGE_COMPILED=0``, or the package missing) ``AVAILABLE`` is false and callers use numpy.
"""

from __future__ import annotations

import os

import numpy as np

try:
    if os.environ.get("TRIAGE_COMPILED", "1").strip().lower() in ("0", "false", "no", "off"):
        raise ImportError("compiled kernels turned off by TRIAGE_COMPILED")
    from numba import njit
except ImportError:
    AVAILABLE = False

    def njit(*_args, **_kwargs):
        return lambda fn: fn
else:
    AVAILABLE = True


@njit(cache=True)
def _find(sorted_ids, value):  # pragma: no cover - compiled
    lo, hi = 0, len(sorted_ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_ids[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def token_sums(char_ids, lens, times, uni, bi, bi_left, bi_right,
               idx, val, counts, nc, coef, cols, out):  # pragma: no cover - compiled
    """Fill ``out`` (distinct tokens x ``cols``) with each token's share of the n-gram scores.

    ``char_ids``: the char-gram ids of each distinct token, concatenated, ``lens`` ids per token;
    ``times``: how often each token occurs; ``uni``: each token's word-unigram id or -1; ``bi``: the
    bigram ids found, between tokens ``bi_left`` and ``bi_right``; ``idx`` / ``val`` / ``counts``: the
    message's weighed features (char ids first, ``nc`` of them, then word ids) and their counts.
    One occurrence of feature ``p`` adds ``coef[idx[p]] * val[p] / counts[p]``.
    """
    chars = idx[:nc]
    words = idx[nc : len(counts)]
    p = 0
    for t in range(len(lens)):
        for _ in range(lens[t]):
            pos = _find(chars, char_ids[p])
            p += 1
            share = val[pos] / counts[pos]
            for c in range(len(cols)):
                out[t, c] += coef[idx[pos], cols[c]] * share
        for c in range(len(cols)):
            out[t, c] *= times[t]
    for t in range(len(uni)):
        if uni[t] >= 0:
            pos = nc + _find(words, uni[t])
            share = val[pos] / counts[pos] * times[t]
            for c in range(len(cols)):
                out[t, c] += coef[idx[pos], cols[c]] * share
    for b in range(len(bi)):
        pos = nc + _find(words, bi[b])
        half = val[pos] / counts[pos] * 0.5
        for c in range(len(cols)):
            add = coef[idx[pos], cols[c]] * half
            out[bi_left[b], c] += add
            out[bi_right[b], c] += add


@njit(cache=True)
def unique_counts(ids):  # pragma: no cover - compiled
    """Sorted distinct values of a non-empty int64 array (sorted in place) and how often each occurs."""
    ids.sort()
    distinct = 1
    for i in range(1, len(ids)):
        if ids[i] != ids[i - 1]:
            distinct += 1
    values = np.empty(distinct, dtype=np.int64)
    counts = np.empty(distinct, dtype=np.int64)
    j, run = 0, 1
    values[0] = ids[0]
    for i in range(1, len(ids)):
        if ids[i] != ids[i - 1]:
            counts[j] = run
            j += 1
            values[j] = ids[i]
            run = 1
        else:
            run += 1
    counts[j] = run
    return values, counts


@njit(cache=True)
def weigh(ci, ct, wi, wt, sigs, idf, char_weight, word_weight, signal_weight):  # pragma: no cover - compiled
    """``Featurizer.weigh``: sublinear TF-IDF per block, each block L2-normalised and scaled by its weight."""
    nc, nw, ns = len(ci), len(wi), len(sigs)
    idx = np.empty(nc + nw + ns, dtype=np.int64)
    val = np.empty(nc + nw + ns)
    for lo, ids, tf, weight in ((0, ci, ct, char_weight), (nc, wi, wt, word_weight)):
        squares = 0.0
        for i in range(len(ids)):
            v = (np.log(np.float64(tf[i])) + 1.0) * idf[ids[i]]
            idx[lo + i] = ids[i]
            val[lo + i] = v
            squares += v * v
        if len(ids):
            scale = weight / np.sqrt(squares)
            for i in range(len(ids)):
                val[lo + i] *= scale
    for i in range(ns):
        idx[nc + nw + i] = sigs[i]
        val[nc + nw + i] = signal_weight / np.sqrt(np.float64(ns))
    return idx, val


@njit(cache=True)
def score(idx, val, coef, intercept):  # pragma: no cover - compiled
    """``intercept + val @ coef[idx]`` without gathering the rows first."""
    out = intercept.copy()
    for i in range(len(idx)):
        row = idx[i]
        for c in range(len(out)):
            out[c] += val[i] * coef[row, c]
    return out


@njit(cache=True)
def tree_sums(X, feature, threshold, missing_left, left, right, value, is_leaf, roots):  # pragma: no cover - compiled
    """Per row of ``X``, the sum of the leaf values its walk through every tree ends in (service.core.pairs.Forest)."""
    out = np.zeros(X.shape[0])
    for r in range(X.shape[0]):
        total = 0.0
        for t in range(roots.shape[0]):
            node = roots[t]
            while not is_leaf[node]:
                v = X[r, feature[node]]
                if np.isnan(v):
                    node = left[node] if missing_left[node] else right[node]
                elif v <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            total += value[node]
        out[r] = total
    return out


def warm() -> None:
    """Compile (or load from the cache) now, so the first message does not wait for it."""
    if not AVAILABLE:
        return
    one, none = np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64)
    token_sums(one, np.ones(1, dtype=np.int64), np.ones(1), none, one[:0], one[:0], one[:0], one, np.ones(1),
               np.ones(1, dtype=np.int64), 1, np.zeros((1, 1)), one, np.zeros((1, 1)))
    ids, counts = unique_counts(np.array([2, 1, 2], dtype=np.int64))
    idx, val = weigh(ids, counts, ids[:0], counts[:0], one[:0], np.ones(3), 1.0, 0.7, 0.5)
    score(idx, val, np.zeros((3, 5)), np.zeros(5))
    zero, leaf = np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.bool_)  # one tree that is a single leaf
    tree_sums(np.zeros((1, 1)), zero, np.zeros(1), leaf, zero, zero, np.zeros(1), leaf, zero)
