"""The Classifier: the one entry point from raw text to a triage decision.

The API, ``triage classify`` and ``triage evaluate`` all call it, so they can never disagree.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from service.core import kernels
from service.core.artifacts import ModelMetadata, load_artifact, resolve_model_dir
from service.core.langid import Language, LanguageIdentifier, pipeline_language
from service.core.model import Span, TriageModel
from service.core.tokenize import warm as warm_tokenizers


@dataclass(frozen=True)
class Prediction:
    labels: list[str]
    scores: dict[str, float]
    uncertain: bool
    language: Language
    explanation: dict[str, list[Span]] = field(default_factory=dict)
    embedding: np.ndarray | None = field(default=None, repr=False, compare=False)  # unit vector, when the model has one


class Classifier:
    def __init__(self, model: TriageModel, metadata: ModelMetadata | None = None, langid: LanguageIdentifier | None = None) -> None:
        self.model = model
        self.metadata = metadata
        self.langid = langid or LanguageIdentifier()
        self._warm = False

    @classmethod
    def load(cls, models_dir: Path, version: str | None = None, langid: LanguageIdentifier | None = None) -> Classifier:
        models_dir = Path(models_dir)
        model, meta = load_artifact(resolve_model_dir(models_dir, version), models_dir)
        return cls(model, meta, langid)

    @property
    def version(self) -> str:
        return self.metadata.version if self.metadata else "unsaved"

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    def warm(self) -> None:
        """Load language models and tokenisers now instead of on the first message, then move everything loaded
        so far out of the cyclic garbage collector's view: its full passes over the vocabularies' millions of
        objects were the longest pauses in the latency tail (memory is still freed by reference counting)."""
        if self._warm:
            return
        self.langid.warm()
        warm_tokenizers()
        kernels.warm()
        self.predict("warm up", language="en")
        gc.collect()
        gc.freeze()
        self._warm = True

    def language_of(self, text: str, hint: str | None = None) -> Language:
        if hint:
            code = hint.strip().lower().split("-")[0].split("_")[0]
            return Language(code, 1.0)
        return self.langid.detect(text)

    def predict(self, text: str, language: str | None = None, explain: bool = True) -> Prediction:
        lang = self.language_of(text, language)
        doc = self.model.prepare(text, pipeline_language(lang.code))
        counts = self.model.featurizer.count_arrays(doc)
        weighed = self.model.featurizer.weigh(counts)
        decision, embedding = self.model.decision_and_embedding(doc, counts, weighed)
        proba = self.model.calibrate(decision, self.model.neighbour_vote(embedding) if embedding is not None else None)
        labels, uncertain = self.model.decide(proba)
        scores = {lab: round(p, 6) for lab, p in zip(self.model.labels, proba.tolist())}
        explanation = self.model.explain(text, doc, labels, counts=counts, weighed=weighed) if explain else {}
        return Prediction(labels, scores, uncertain, lang, explanation, embedding)

    def predict_batch(self, texts: Sequence[str], languages: Sequence[str | None] | None = None, explain: bool = True) -> list[Prediction]:
        langs = languages if languages is not None else [None] * len(texts)
        return [self.predict(t, lang, explain) for t, lang in zip(texts, langs)]
