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

import numpy as np
from scipy import sparse

MAX_TOKEN_CHARS = 30


@dataclass(frozen=True)
class Prepared:
    """A message ready to vectorise: lower-cased tokens and signal names."""

    tokens: tuple[str, ...]
    signals: tuple[str, ...]


def char_grams(token: str, lo: int, hi: int) -> list[str]:
    w = f" {token[:MAX_TOKEN_CHARS]} "
    size = len(w)
    return [w[i : i + n] for n in range(lo, hi + 1) for i in range(size - n + 1)]


def is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token) or any(ord(ch) > 0x2100 and not ch.isalnum() for ch in token)


def word_grams(tokens: Sequence[str], hi: int) -> list[str]:
    words = [t for t in tokens if is_word(t)]
    grams = list(words)
    if hi >= 2:
        grams.extend(f"{a} {b}" for a, b in zip(words, words[1:]))
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
        return self

    def counts(self, doc: Prepared) -> tuple[dict[int, int], dict[int, int], list[int]]:
        lo, hi = self.char_range
        cv, wv = self.char_vocab, self.word_vocab
        char_counts: dict[int, int] = {}
        for tok, times in Counter(doc.tokens).items():
            for g in char_grams(tok, lo, hi):
                j = cv.get(g)
                if j is not None:
                    char_counts[j] = char_counts.get(j, 0) + times
        word_counts: dict[int, int] = {}
        for g in word_grams(doc.tokens, self.word_max_n):
            j = wv.get(g)
            if j is not None:
                word_counts[j] = word_counts.get(j, 0) + 1
        sigs = [self.signal_vocab[s] for s in set(doc.signals) if s in self.signal_vocab]
        return char_counts, word_counts, sigs

    def vectorize(self, doc: Prepared) -> tuple[np.ndarray, np.ndarray]:
        """Sparse vector of one message as (indices, values), float64."""
        char_counts, word_counts, sigs = self.counts(doc)
        idx_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        for counts, weight in ((char_counts, self.block_weights[0]), (word_counts, self.block_weights[1])):
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            val = (1.0 + np.log(tf)) * self.idf[idx]
            val *= weight / math.sqrt(float(val @ val))
            idx_parts.append(idx)
            val_parts.append(val)
        if sigs:
            idx_parts.append(np.asarray(sorted(sigs), dtype=np.int64))
            val_parts.append(np.full(len(sigs), self.block_weights[2] / math.sqrt(len(sigs))))
        if not idx_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(idx_parts), np.concatenate(val_parts)

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

    def token_contributions(self, doc: Prepared, weights: np.ndarray) -> dict[str, float]:
        """How much each distinct token adds to a linear score with ``weights`` (one label's column).

        A feature's contribution (value x weight) is shared among the tokens it came from, in proportion
        to how often each produced it; bigrams are split between their two words.
        """
        idx, val = self.vectorize(doc)
        value = dict(zip(idx.tolist(), val.tolist()))
        char_counts, word_counts, _ = self.counts(doc)
        lo, hi = self.char_range
        out: dict[str, float] = {}
        for tok, times in Counter(doc.tokens).items():
            total = 0.0
            for g in char_grams(tok, lo, hi):
                j = self.char_vocab.get(g)
                if j is not None:
                    total += times * value[j] * weights[j] / char_counts[j]
            j = self.word_vocab.get(tok)
            if j is not None and j in word_counts:
                total += times * value[j] * weights[j] / word_counts[j]
            out[tok] = out.get(tok, 0.0) + total
        words = [t for t in doc.tokens if is_word(t)]
        for a, b in zip(words, words[1:]):
            j = self.word_vocab.get(f"{a} {b}")
            if j is not None:
                share = value[j] * weights[j] / word_counts[j] / 2.0
                out[a] = out.get(a, 0.0) + share
                out[b] = out.get(b, 0.0) + share
        return out


def _select(df: Counter[str], min_df: int, most: int) -> list[str]:
    kept = [(g, d) for g, d in df.items() if d >= min_df]
    kept.sort(key=lambda item: (-item[1], item[0]))
    return sorted(g for g, _ in kept[:most])
