"""Many messages on several cores: forked worker processes share the loaded classifier (copy-on-write), take
chunks of the input and hand back predictions that are put back in input order.

Only for command-line and batch jobs: forking a server process that runs threads is not safe, so the HTTP
service never calls this. Where ``fork`` is unavailable, or the input is small, it runs in this process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Sequence

from service.core.classifier import Classifier, Prediction
from service.core.langid import Language
from service.core.model import Span

_SHARED: Classifier | None = None  # set just before forking; the children inherit it


def _run(job: tuple[Sequence[str], Sequence[str | None], bool]) -> list[tuple]:
    texts, languages, explain = job
    assert _SHARED is not None
    return [_pack(p) for p in _SHARED.predict_batch(texts, languages, explain)]


def _pack(p: Prediction) -> tuple:
    """A prediction as plain tuples: several times cheaper to pickle than the dataclasses, and the parent's
    unpickling competes with the workers for the same cores."""
    spans = {lab: [(s.text, s.start, s.end, s.weight) for s in ss] for lab, ss in p.explanation.items()} if p.explanation else None
    return p.labels, tuple(p.scores.items()), p.uncertain, p.language.code, p.language.confidence, spans


def _unpack(t: tuple) -> Prediction:
    labels, scores, uncertain, code, confidence, spans = t
    explanation = {lab: [Span(*s) for s in ss] for lab, ss in spans.items()} if spans else {}
    return Prediction(labels, dict(scores), uncertain, Language(code, confidence), explanation)


def default_workers() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def predict_parallel(clf: Classifier, texts: Sequence[str], languages: Sequence[str | None] | None = None, explain: bool = True,
                     workers: int | None = None, chunk: int = 250) -> list[Prediction]:
    """The same predictions as ``clf.predict_batch``, computed by ``workers`` processes."""
    global _SHARED
    workers = default_workers() if workers is None else workers
    langs = list(languages) if languages is not None else [None] * len(texts)
    # The sentence-embedding engine already spreads one message over the cores, and its OpenMP threads do not
    # survive a fork: models with an embedding run here.
    if workers <= 1 or len(texts) < 2 * chunk or clf.model.embedding or "fork" not in mp.get_all_start_methods():
        return clf.predict_batch(texts, langs, explain)
    clf.warm()  # load language models and tokenisers here: building them inside a forked child can deadlock
    _SHARED = clf
    try:
        jobs = [(texts[i : i + chunk], langs[i : i + chunk], explain) for i in range(0, len(texts), chunk)]
        with mp.get_context("fork").Pool(workers) as pool:
            return [_unpack(p) for part in pool.imap(_run, jobs) for p in part]
    finally:
        _SHARED = None
