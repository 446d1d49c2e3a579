"""Features: character n-grams inside word boundaries, word uni/bi-grams, and signal tokens.

Character n-grams carry across languages, spellings and typos; word n-grams come from the spaCy /
Sudachi tokens; signals carry tone that normalisation removed (shouting, "!!!", quoted mail).
Each block is TF-IDF weighted (sublinear tf), L2-normalised on its own and scaled by a block
weight. One code path (``vectorize``) serves a single message; ``transform`` stacks it for many,
so the batch and single answers are the same numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from scipy import sparse

from service.core import kernels

MAX_TOKEN_CHARS = 30
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Prepared:
    """A message ready to vectorise: lower-cased tokens and signal names."""

    tokens: tuple[str, ...]
    signals: tuple[str, ...]
    text: str = ""  # the normalised text, for the optional sentence embedding


def char_grams(token: str, lo: int, hi: int) -> list[str]:
    w = f" {token[:MAX_TOKEN_CHARS]} "
    size = len(w)
    return [w[i : i + n] for n in range(lo, hi + 1) for i in range(size - n + 1)]


def is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token) or any(ord(ch) > 0x2100 and not ch.isalnum() for ch in token)


_WORD_FLAGS: dict[str, bool] = {}


def _is_word_cached(token: str) -> bool:
    flag = _WORD_FLAGS.get(token)
    if flag is None:
        if len(_WORD_FLAGS) > 200_000:
            _WORD_FLAGS.clear()
        flag = _WORD_FLAGS[token] = is_word(token)
    return flag


def unique_counts(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of a non-empty int64 array and how often each occurs (``np.unique`` with counts, fewer steps)."""
    if kernels.AVAILABLE:
        return kernels.unique_counts(ids)
    ids.sort()
    first = np.empty(len(ids), dtype=bool)
    first[0] = True
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    starts = first.nonzero()[0]
    counts = np.empty(len(starts), dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = len(ids) - starts[-1]
    return ids[starts], counts


def word_tokens(tokens: Sequence[str]) -> list[str]:
    """The tokens that are words (not punctuation), in order."""
    flags = _WORD_FLAGS
    return [t for t in tokens if (flags[t] if t in flags else _is_word_cached(t))]  # no call per known token


def word_grams(tokens: Sequence[str], hi: int) -> list[str]:
    words = word_tokens(tokens)
    grams = list(words)
    if hi >= 2:
        grams.extend(map(" ".join, zip(words, words[1:])))
    return grams


@dataclass
class Featurizer:
    char_range: tuple[int, int] = (2, 5)
    word_max_n: int = 2
    min_df: int = 2
    max_char_features: int = 400_000
    max_word_features: int = 150_000
    block_weights: tuple[float, float, float] = (1.0, 0.7, 0.5)
    char_vocab: dict[str, int] = field(default_factory=dict)
    word_vocab: dict[str, int] = field(default_factory=dict)
    signal_vocab: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    feature_names: list[str] = field(default_factory=list)
    _token_cache: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_token_cache"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_token_cache", {})

    def token_features(self, tok: str) -> np.ndarray:
        """Character-gram feature ids of one token, cached: tokens repeat, so most lookups are one dict hit."""
        found = self._token_cache.get(tok)
        if found is None:
            cv = self.char_vocab
            lo, hi = self.char_range
            found = np.fromiter((j for j in (cv.get(g) for g in char_grams(tok, lo, hi)) if j is not None), dtype=np.int64)
            if len(self._token_cache) > 200_000:
                self._token_cache.clear()
            self._token_cache[tok] = found
        return found

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def fit(self, docs: Sequence[Prepared], signal_names: Iterable[str]) -> Featurizer:
        lo, hi = self.char_range
        char_df: Counter[str] = Counter()
        word_df: Counter[str] = Counter()
        for doc in docs:
            grams: set[str] = set()
            for tok in set(doc.tokens):
                grams.update(char_grams(tok, lo, hi))
            char_df.update(grams)
            word_df.update(set(word_grams(doc.tokens, self.word_max_n)))
        chars = _select(char_df, self.min_df, self.max_char_features)
        words = _select(word_df, self.min_df, self.max_word_features)
        signals = sorted(set(signal_names))
        n = len(docs)
        self.char_vocab = {g: i for i, g in enumerate(chars)}
        self.word_vocab = {g: len(chars) + i for i, g in enumerate(words)}
        self.signal_vocab = {s: len(chars) + len(words) + i for i, s in enumerate(signals)}
        df = [char_df[g] for g in chars] + [word_df[g] for g in words]
        idf = [math.log((1 + n) / (1 + d)) + 1.0 for d in df] + [1.0] * len(signals)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.feature_names = [f"c:{g}" for g in chars] + [f"w:{g}" for g in words] + [f"s:{s}" for s in signals]
        self._token_cache = {}
        return self

    def count_arrays(self, doc: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int]]:
        """(char ids, char counts, word ids, word counts, signal ids) of one message."""
        tokens = doc.tokens
        if tokens:
            cache = self._token_cache
            char_ids, char_tf = unique_counts(np.concatenate([cache[t] if t in cache else self.token_features(t) for t in tokens]))
        else:
            char_ids, char_tf = _EMPTY, _EMPTY
        wids = [j for j in map(self.word_vocab.get, word_grams(tokens, self.word_max_n)) if j is not None]
        word_ids, word_tf = unique_counts(np.array(wids, dtype=np.int64)) if wids else (_EMPTY, _EMPTY)
        sigs = sorted({self.signal_vocab[s] for s in doc.signals if s in self.signal_vocab})
        return char_ids, char_tf, word_ids, word_tf, sigs

    def vectorize(self, doc: Prepared) -> tuple[np.ndarray, np.ndarray]:
        """Sparse vector of one message as (indices, values), float64."""
        return self.weigh(self.count_arrays(doc))

    def weigh(self, counts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """TF-IDF values of ``count_arrays`` output, each block L2-normalised and scaled by its weight."""
        ci, ct, wi, wt, sigs = counts
        if kernels.AVAILABLE:
            return kernels.weigh(ci, ct, wi, wt, np.asarray(sigs, dtype=np.int64) if sigs else _EMPTY, self.idf, *map(float, self.block_weights))
        nc, nw, ns = len(ci), len(wi), len(sigs)
        # both blocks in one pass of array operations (the same arithmetic, element by element, as block by block)
        idx = np.concatenate((ci, wi, sigs)) if ns else np.concatenate((ci, wi))
        val = np.log(np.concatenate((ct, wt)).astype(np.float64))
        val += 1.0
        val *= self.idf[idx[: nc + nw]]
        if ns:
            val = np.concatenate((val, np.full(ns, self.block_weights[2] / math.sqrt(ns))))
        for lo, hi, weight in ((0, nc, self.block_weights[0]), (nc, nc + nw, self.block_weights[1])):
            if hi > lo:
                part = val[lo:hi]
                part *= weight / math.sqrt(float(part @ part))
        return idx.astype(np.int64, copy=False), val

    def transform(self, docs: Sequence[Prepared]) -> sparse.csr_matrix:
        indptr = [0]
        indices: list[np.ndarray] = []
        data: list[np.ndarray] = []
        for doc in docs:
            idx, val = self.vectorize(doc)
            indices.append(idx)
            data.append(val)
            indptr.append(indptr[-1] + len(idx))
        ind = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        dat = np.concatenate(data) if data else np.zeros(0)
        return sparse.csr_matrix((dat, ind, np.asarray(indptr)), shape=(len(docs), self.n_features))

    def token_contributions(self, doc: Prepared, weights: np.ndarray, counts=None, weighed=None,
                            columns: Sequence[int] | None = None) -> tuple[list[str], np.ndarray]:
        """How much each distinct token adds to linear scores with ``weights`` (n_features x n_labels):
        the distinct tokens in order of first appearance, and one row of per-label sums for each
        (only the label ``columns`` asked for, in that order, when given).

        A feature's contribution (value x weight) is shared among the tokens it came from, in proportion
        to how often each produced it; bigrams are split between their two words. ``counts`` (the message's
        ``count_arrays``) and ``weighed`` (their ``weigh``) save recomputing what the caller already has.
        """
        counts = counts or self.count_arrays(doc)
        idx, val = weighed if weighed is not None else self.weigh(counts)  # ids ascend: char < word < signals
        ci, ct, wi, wt, _ = counts
        counted = Counter(doc.tokens)
        toks = list(counted)
        cols = list(range(weights.shape[1])) if columns is None else list(columns)
        sums = np.zeros((len(toks), len(cols)))
        nc, ngram = len(ci), len(ci) + len(wi)
        if not ngram or not toks:
            return toks, sums
        times = np.fromiter(counted.values(), dtype=np.float64, count=len(toks))
        cache = self._token_cache
        arrays = [cache[t] if t in cache else self.token_features(t) for t in toks] if nc else []
        wv = self.word_vocab
        uni = np.fromiter(map(wv.get, toks, repeat(-1)), dtype=np.int64, count=len(toks)) if len(wi) else _EMPTY
        left = right = bi = _EMPTY
        words = word_tokens(doc.tokens) if len(wi) and self.word_max_n >= 2 else []
        if len(words) > 1:
            grams = np.fromiter(map(wv.get, map(" ".join, zip(words, words[1:])), repeat(-1)), dtype=np.int64, count=len(words) - 1)
            hit = np.flatnonzero(grams >= 0)
            if len(hit):
                pos = {t: i for i, t in enumerate(toks)}
                at = np.fromiter(map(pos.__getitem__, words), dtype=np.int64, count=len(words))
                bi, left, right = grams[hit], at[hit], at[hit + 1]
        if kernels.AVAILABLE:
            lens = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays)) if nc else np.zeros(len(toks), dtype=np.int64)
            char_ids = np.concatenate(arrays) if nc else _EMPTY
            kernels.token_sums(char_ids, lens, times, uni, bi, left, right, idx, val, np.concatenate((ct, wt)), nc, weights,
                               np.asarray(cols, dtype=np.int64), sums)
            return toks, sums
        # the same arithmetic in numpy: what one occurrence of each distinct n-gram adds to each label
        per = weights[idx[:ngram]][:, cols]
        per *= (val[:ngram] / np.concatenate((ct, wt)))[:, None]
        if nc:  # char grams: each token's cached ids, summed token by token, times its occurrences
            lens = np.fromiter(map(len, arrays), dtype=np.int64, count=len(toks))
            some = lens > 0
            starts = np.cumsum(lens) - lens
            sums[some] = np.add.reduceat(per[ci.searchsorted(np.concatenate(arrays))], starts[some])
            sums *= times[:, None]
        if len(wi):  # word unigrams (each occurrence) and bigrams (half to each word, once per occurrence)
            found = np.flatnonzero(uni >= 0)
            sums[found] += per[nc + wi.searchsorted(uni[found])] * times[found, None]
            if len(bi):
                half = per[nc + wi.searchsorted(bi)] * 0.5
                np.add.at(sums, left, half)
                np.add.at(sums, right, half)
        return toks, sums


def _select(df: Counter[str], min_df: int, most: int) -> list[str]:
    kept = [(g, d) for g, d in df.items() if d >= min_df]
    kept.sort(key=lambda item: (-item[1], item[0]))
    return sorted(g for g, _ in kept[:most])
