"""The persisted pipeline: raw text -> normalised text -> tokens -> features -> calibrated scores.

``TriageModel`` holds every step and every number needed to go from a raw message to a decision
(normalisation flags, featurizer vocabularies, linear weights, Platt calibration, per-label
thresholds, and with the embedding the training messages' vectors whose nearest ones vote), so what
training fits is exactly what serving runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from service.core import embeddings, kernels, neighbours
from service.core.features import Featurizer, Prepared
from service.core.normalize import NormalizeOptions, normalize
from service.core.pairs import PairScorer
from service.core.tokenize import tokenize


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int
    weight: float


@dataclass
class TriageModel:
    labels: tuple[str, ...]
    featurizer: Featurizer
    coef: np.ndarray  # (n_features, n_labels)
    intercept: np.ndarray  # (n_labels,)
    calib_a: np.ndarray = field(default_factory=lambda: np.zeros(0))
    calib_b: np.ndarray = field(default_factory=lambda: np.zeros(0))
    thresholds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    normalize_options: NormalizeOptions = field(default_factory=NormalizeOptions)
    uncertainty_margin: float = 0.1
    embedding: str | None = None  # name of the sentence-embedding block appended after the text features
    embed_weight: float = 0.0
    max_chars: int | None = None  # features read the first max_chars of the normalised text (bounds the cost of long mails)
    embed_plain: bool = False  # the embedding reads the text before masking (natural text; older models read the masked one)
    raw_window: int | None = None  # with max_chars: normalise only this many raw characters (more when cleaning leaves too little)
    neighbours: np.ndarray | None = None  # float16 unit embeddings of the training messages (with an embedding only)
    neighbour_labels: np.ndarray | None = None  # uint8, one row per neighbour, one column per label
    neighbour_k: int = 0  # how many nearest training messages vote (0: no vote)
    calib_c: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per label: weight of the neighbours' vote (logit) in calibration
    pair_scorer: PairScorer | None = None  # same request or not, for the duplicate check (fitted on our resend pairs)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("embedding", None)
        self.__dict__.setdefault("embed_weight", 0.0)
        self.__dict__.setdefault("max_chars", None)
        self.__dict__.setdefault("embed_plain", False)
        self.__dict__.setdefault("raw_window", None)
        self.__dict__.setdefault("neighbours", None)
        self.__dict__.setdefault("neighbour_labels", None)
        self.__dict__.setdefault("neighbour_k", 0)
        self.__dict__.setdefault("calib_c", np.zeros(len(self.labels)))
        self.__dict__.setdefault("pair_scorer", None)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_neighbours64", None)  # derived at first use; the artifact keeps the float16 copy only
        return state

    @property
    def uses_neighbours(self) -> bool:
        return self.neighbour_k > 0 and self.neighbours is not None and len(self.neighbours) > 0

    def neighbour_vote(self, vectors: np.ndarray) -> np.ndarray | None:
        """The nearest training messages' label shares for unit embeddings ``vectors`` (n x dim, or one vector), or
        None when the model has no neighbours."""
        if not self.uses_neighbours:
            return None
        refs = self.__dict__.get("_neighbours64")
        if refs is None:
            refs = self.__dict__["_neighbours64"] = self.neighbours.astype(np.float64)
        vote = neighbours.fractions(vectors, refs, self.neighbour_labels, self.neighbour_k)
        return vote[0] if np.ndim(vectors) == 1 else vote

    def embedding_block(self, docs: list[Prepared], cached: bool = False, progress=None) -> np.ndarray:
        """The weighted embedding rows for ``docs`` (training may use the on-disk cache; it gives the same vectors)."""
        texts = [d.text for d in docs]
        vecs = embeddings.embed_cached(texts, progress=progress) if cached else embeddings.embed(texts)
        return vecs * self.embed_weight

    def matrix(self, docs: list[Prepared], cached: bool = False, progress=None) -> sparse.csr_matrix:
        """All features of many messages as one matrix (the training path)."""
        X = self.featurizer.transform(docs)
        if self.embedding:
            X = sparse.hstack([X, sparse.csr_matrix(self.embedding_block(docs, cached, progress))]).tocsr()
        return X

    def prepare(self, text: str, lang: str) -> Prepared:
        cut = bool(self.raw_window and self.max_chars and len(text) > self.raw_window)
        norm = normalize(text[: self.raw_window] if cut else text, self.normalize_options)
        if cut and len(norm.text) < self.max_chars:  # markup or quoting took most of the window: clean the whole message
            norm = normalize(text, self.normalize_options)
        body = clip(norm.text, self.max_chars)
        tokens = tuple(t.lower() for t in tokenize(body, lang)) if body else ()
        return Prepared(tokens=tokens, signals=norm.signals, text=clip(norm.plain, self.max_chars) if self.embed_plain else body)

    def decision_and_embedding(self, doc: Prepared, counts=None, weighed=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Linear scores, and the message's unit embedding when the model uses one (the duplicate check reuses it).
        ``counts`` / ``weighed`` are the message's ``featurizer.count_arrays`` / ``weigh`` when the caller has them."""
        idx, val = weighed if weighed is not None else self.featurizer.weigh(counts or self.featurizer.count_arrays(doc))
        if kernels.AVAILABLE:
            out = kernels.score(idx, val, self.coef, self.intercept)
        else:
            out = self.intercept.copy() if len(idx) == 0 else val @ self.coef[idx] + self.intercept
        if not self.embedding:
            return out, None
        emb = embeddings.embed([doc.text])[0]
        return out + (emb * self.embed_weight) @ self.coef[self.featurizer.n_features :], emb

    def calibrate(self, decision: np.ndarray, vote: np.ndarray | None = None) -> np.ndarray:
        """Probabilities from linear scores (one row or many) and, when the model has neighbours, their ``vote``."""
        z = self.calib_a * decision + self.calib_b
        if vote is not None:
            z = z + self.calib_c * neighbours.logit(vote)
        return 1.0 / (1.0 + np.exp(-z))

    def proba_from_matrix(self, X) -> np.ndarray:
        """Probabilities for the rows of the training-path ``matrix`` (the embedding block gives the neighbours' vote)."""
        decision = np.asarray(X @ self.coef) + self.intercept
        vote = None
        if self.uses_neighbours:
            vote = self.neighbour_vote(self.embeddings_in(X))
        return self.calibrate(decision, vote)

    def embeddings_in(self, X) -> np.ndarray:
        """The unit embeddings inside rows of the training-path ``matrix`` (its last block, divided by its weight)."""
        return np.asarray(X[:, self.featurizer.n_features :].todense()) / self.embed_weight

    def decide(self, proba: np.ndarray) -> tuple[list[str], bool]:
        ps, ts, margin = proba.tolist(), self.thresholds.tolist(), self.uncertainty_margin  # five floats: plain Python beats numpy calls
        labels = [lab for lab, p, t in zip(self.labels, ps, ts) if p >= t]
        return labels, any(abs(p - t) < margin for p, t in zip(ps, ts))

    def explain(self, raw: str, doc: Prepared, labels: list[str], top: int = 5, counts=None, weighed=None) -> dict[str, list[Span]]:
        """For each label, the words of ``raw`` that raised its score most, with character offsets into ``raw``."""
        if not labels:
            return {}
        toks, sums = self.featurizer.token_contributions(doc, self.coef, counts, weighed, columns=[self.labels.index(lab) for lab in labels])
        out: dict[str, list[Span]] = {}
        lowered = raw.lower()
        for c, label in enumerate(labels):
            col = sums[:, c]
            spans: list[Span] = []
            taken: set[int] = set()
            for i in np.argsort(-col, kind="stable").tolist():  # strongest first; ties keep text order
                weight = float(col[i])
                if weight <= 0 or len(spans) >= top:
                    break
                if not any(ch.isalnum() for ch in toks[i]):
                    continue
                match = _find(raw, lowered, toks[i], taken)
                if match is None:
                    continue
                taken.add(match[0])
                spans.append(Span(raw[match[0] : match[1]], match[0], match[1], round(weight, 4)))
            out[label] = spans
        return out


def clip(text: str, max_chars: int | None) -> str:
    """The first ``max_chars`` of ``text``, cut at a space when one is near the end, so no word is split."""
    if not max_chars or len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars + 1)
    return text[: cut if cut >= max_chars * 0.8 else max_chars]


def _find(raw: str, lowered: str, token: str, taken: set[int]) -> tuple[int, int] | None:
    """Offsets of the first untaken occurrence of ``token`` in ``raw`` (``lowered`` is ``raw.lower()``;
    case-insensitive; a word token must not start inside another word)."""
    if len(lowered) != len(raw):  # rare: lower-casing changed the length, so offsets would drift; use a regex
        return _find_regex(raw, token, taken)
    needle = token.lower()
    word = needle[:1].isalnum() and needle[:1].isascii()
    start = lowered.find(needle)
    while start != -1:
        if start not in taken and not (word and start > 0 and (lowered[start - 1].isalnum() or lowered[start - 1] == "_")):
            return start, start + len(needle)
        start = lowered.find(needle, start + 1)
    return None


def _find_regex(raw: str, token: str, taken: set[int]) -> tuple[int, int] | None:
    pattern = re.escape(token)
    if token[:1].isalnum() and token[:1].isascii():
        pattern = r"(?<!\w)" + pattern
    for m in re.finditer(pattern, raw, flags=re.IGNORECASE):
        if m.start() not in taken:
            return m.start(), m.end()
    return None
