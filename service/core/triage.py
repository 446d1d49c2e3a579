"""One triage decision: classify, compare with the customer's open messages, store, link incidents, suggest handling.

Works with any store that offers the methods of service.store.repo.Store; if the store fails the
answer still comes, without duplicate evidence and with ``degraded=["store"]``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from service.core import pairs, profiles, similarity
from service.core.classifier import Classifier, Prediction
from service.core.ids import new_id
from service.core.model import Span
from service.core.pairs import PairScorer
from service.core.policy import Handling, Policy
from service.core.redact import redact
from service.errors import StoreError

INCIDENT_SIMILARITY = 0.35
NEAR_COPY = 0.95  # similarity of the texts themselves at which a repeat is a duplicate whatever the pair scorer says


@dataclass
class TriageRequest:
    text: str
    subject: str | None = None
    language: str | None = None
    customer_id: str | None = None
    ticket_id: str | None = None
    channel: str | None = None
    received_at: datetime | None = None
    store: bool = True


@dataclass
class TriageResult:
    id: str
    prediction: Prediction
    handling: Handling
    duplicate_of: dict | None = None
    incident: dict | None = None
    degraded: list[str] = field(default_factory=list)
    stored: bool = False


@dataclass
class DuplicateSettings:
    window_days: int = 14
    threshold: float | None = None  # None: the model's pair threshold (0.5 with the older rule)
    incident_window_minutes: int = 120
    incident_min_customers: int = 3


def full_text(req: TriageRequest) -> str:
    return f"{req.subject}\n{req.text}" if req.subject else req.text


def duplicate_score(text_score: float, similarity_value: float, threshold: float) -> float:
    """Combine the text cue score with the stored-message evidence (noisy-or)."""
    evidence = 0.5 + 0.5 * min(1.0, (similarity_value - threshold) / max(1e-6, 1 - threshold))
    return 1 - (1 - text_score) * (1 - evidence)


@dataclass(frozen=True)
class Match:
    candidate: object
    similarity: float  # how alike the texts are: the stronger of lexical and embedding similarity, on the lexical scale
    probability: float | None  # the pair scorer's probability of the same request (None: the model has no scorer)
    near_copy: bool = False  # the new text itself (not a quote in it) is all but the same as the stored one

    @property
    def score(self) -> float:
        """What the duplicate threshold applies to: the probability when there is one, else the similarity. A near
        copy counts at its similarity whatever the scorer says (LABELS.md: the same message again is a duplicate)."""
        if self.probability is None:
            return self.similarity
        return max(self.probability, self.similarity) if self.near_copy else self.probability


def best_match(sig: dict[int, float], quoted: dict[int, float], candidates, emb=None, threshold: float = 0.5,
               scorer: PairScorer | None = None, scores: np.ndarray | None = None, new: profiles.Profile | None = None) -> Match | None:
    """The candidate most likely to be the same request: ranked by the model's pair scorer when it has one and the
    new message's ``scores`` are given, else by similarity (``threshold`` puts the embedding on the lexical scale).
    ``new``: the new message's profile (sentences and numbers; needed with a scorer)."""
    if not candidates:
        return None
    olds = [profiles.Profile.from_stored(c.signature) for c in candidates]
    stored = [old.sig for old in olds]
    lexical = np.array([similarity.cosine(sig, s) for s in stored])
    quoted_sim = np.array([similarity.cosine(quoted, s) for s in stored]) if quoted else np.zeros(len(stored))
    old_embs = None
    if emb is not None:
        loaded = [similarity.load_embedding(c.signature) for c in candidates]
        old_embs = np.array([e if e is not None and len(e) == len(emb) else np.zeros(len(emb)) for e in loaded])
    cosines = old_embs @ emb if old_embs is not None else None

    def rule(lexical_value: float, i: int) -> float:
        cos = float(cosines[i]) if cosines is not None and old_embs[i].any() else None
        return similarity.combined(float(lexical_value), cos, threshold)

    sims = [rule(lx, i) for i, lx in enumerate(np.maximum(lexical, quoted_sim))]
    probs = None
    if scorer is not None and scores is not None:
        old_scores = np.array([[c.scores.get(lab, 0.0) for lab in scorer.labels] for c in candidates])
        use_emb = scorer.embedding_dim and emb is not None and len(emb) == scorer.embedding_dim
        aligned = nums = None
        if scorer.base != pairs.LEGACY_FEATURES:  # scorers from before session 10 read neither
            new = new or profiles.Profile(sig, np.zeros(len(sig), np.uint8), ([], []))
            aligned = np.array([profiles.alignment(new, old) for old in olds])
            nums = np.array([profiles.number_overlap(new.nums, old.nums) for old in olds])
        probs = scorer.probability(scorer.features(lexical, quoted_sim, scores, old_scores, emb if use_emb else None,
                                                   old_embs if use_emb else None, aligned, nums))
    found = [Match(c, sims[i], None if probs is None else float(probs[i]), rule(lexical[i], i) >= NEAR_COPY) for i, c in enumerate(candidates)]
    best = max(found, key=lambda m: m.score)
    return best if best.score > 0 else None


def top_terms(texts: list[str], k: int = 5) -> list[str]:
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update({w for w in similarity._WORD.findall(similarity.content(t)) if len(w) > 3 and not w.isdigit()})
    return [w for w, _ in counts.most_common(k)]


class Triage:
    def __init__(self, classifier: Classifier, policy: Policy, store=None, settings: DuplicateSettings | None = None) -> None:
        self.classifier = classifier
        self.policy = policy
        self.store = store
        self.settings = settings or DuplicateSettings()

    def run(self, req: TriageRequest, tenant: str) -> TriageResult:
        text = full_text(req)
        pred = self.classifier.predict(text, req.language)
        received = req.received_at or datetime.now(UTC)
        if received.tzinfo is None:
            received = received.replace(tzinfo=UTC)
        result = TriageResult(id=new_id(), prediction=pred, handling=None)  # type: ignore[arg-type]
        repeats = 0
        if self.store is not None and req.store:
            try:
                repeats = self._remember(req, tenant, text, received, result)
            except StoreError:
                result.degraded.append("store")
        result.handling = self.policy.handle(result.prediction.labels, pred.language.code, repeats=repeats, incident=result.incident is not None)
        return result

    @property
    def threshold(self) -> float:
        """The operator's duplicate threshold if set, else the model's pair scorer's, else 0.5 (the older rule's)."""
        if self.settings.threshold is not None:
            return self.settings.threshold
        scorer = self.classifier.model.pair_scorer
        return scorer.threshold if scorer is not None else 0.5

    def match(self, text: str, sig: dict[int, float], pred: Prediction, candidates, use_scorer: bool = True,
              profile: profiles.Profile | None = None) -> Match | None:
        """The stored open message (of ``candidates``) that ``text`` most likely repeats, with its similarity and
        probability: the duplicate check itself, without the store (the duplicate benchmark calls it too).
        ``use_scorer=False`` ranks by similarity alone, as models without a pair scorer do."""
        quoted = similarity.quoted_signature(text)
        scorer = self.classifier.model.pair_scorer if use_scorer else None
        scores = np.array([pred.scores[lab] for lab in scorer.labels]) if scorer else None
        rule_threshold = self.settings.threshold if self.settings.threshold is not None else 0.5  # the older rule's scale
        if profile is None and scorer is not None:
            profile = profiles.profile(text)
        return best_match(sig, quoted, candidates, pred.embedding, rule_threshold, scorer, scores, profile)

    def _remember(self, req: TriageRequest, tenant: str, text: str, received: datetime, result: TriageResult) -> int:
        pred = result.prediction
        profile = profiles.profile(text)
        sig = profile.sig
        repeats = 0
        if req.customer_id:
            since = received - timedelta(days=self.settings.window_days)
            candidates = self.store.open_messages(tenant, req.customer_id, since)
            threshold = self.threshold
            found = self.match(text, sig, pred, candidates, profile=profile)
            if found is not None and (score := found.score) >= threshold:
                match = found.candidate
                repeats = self.store.bump_repeat(tenant, match.id)
                result.duplicate_of = {"id": match.id, "ticket_id": match.ticket_id, "similarity": round(found.similarity, 4),
                                       "probability": None if found.probability is None else round(found.probability, 4),
                                       "received_at": match.received_at.isoformat(), "repeats": repeats}
                scores = dict(pred.scores)
                scores["duplicate"] = round(duplicate_score(scores["duplicate"], score, threshold), 6)
                labels = pred.labels if "duplicate" in pred.labels else ["duplicate", *pred.labels]
                explanation = dict(pred.explanation)
                if not explanation.get("duplicate"):  # the evidence, not the wording, made it a duplicate: show what it shares
                    explanation["duplicate"] = [Span(*w) for w in similarity.shared_words(text, similarity.loads(match.signature))]
                result.prediction = Prediction(labels, scores, pred.uncertain, pred.language, explanation, pred.embedding)
            elif "duplicate" in pred.labels:
                repeats = 1
        pred = result.prediction
        margin = min(abs(p - t) for p, t in zip(pred.scores.values(), self.classifier.model.thresholds))
        self.store.add_message(tenant=tenant, customer_id=req.customer_id, ticket_id=req.ticket_id, received_at=received,
                               language=pred.language.code, labels=pred.labels, scores=pred.scores, text_redacted=redact(text),
                               signature=profile.to_stored(pred.embedding), uncertainty=float(margin),
                               duplicate_of=(result.duplicate_of or {}).get("id"), message_id=result.id)
        result.stored = True
        if "fault" in pred.labels and sig:
            result.incident = self._incident(tenant, req.customer_id or result.id, text, sig, received, result.id)
        return repeats

    def _incident(self, tenant: str, customer: str, text: str, sig: dict[int, float], now: datetime, message_id: str) -> dict | None:
        since = now - timedelta(minutes=self.settings.incident_window_minutes)
        for inc in self.store.active_incidents(tenant, since):
            if similarity.cosine(sig, similarity.loads(inc["signature"])) >= INCIDENT_SIMILARITY:
                customers = set(json.loads(inc["customers"])) | {customer}
                inc.update(size=inc["size"] + 1, last_seen=now, customers=sorted(customers), top_terms=json.loads(inc["top_terms"]))
                self.store.upsert_incident(tenant, inc)
                self.store.set_incident(tenant, [message_id], inc["id"])
                return _incident_view(inc)
        similar = [m for m in self.store.recent_messages(tenant, since, label="fault")
                   if m["id"] != message_id and similarity.cosine(sig, similarity.loads(m["signature"])) >= INCIDENT_SIMILARITY]
        customers = {m["customer_id"] or m["id"] for m in similar} | {customer}
        if len(customers) < self.settings.incident_min_customers:
            return None
        first = min([_aware(m["received_at"]) for m in similar] + [now])
        inc = {"id": new_id(), "first_seen": first, "last_seen": now, "size": len(similar) + 1, "customers": sorted(customers),
               "top_terms": top_terms([text] + [m["text_redacted"] for m in similar]), "signature": similarity.dumps(sig)}
        self.store.upsert_incident(tenant, inc)
        self.store.set_incident(tenant, [m["id"] for m in similar] + [message_id], inc["id"])
        return _incident_view(inc)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _incident_view(inc: dict) -> dict:
    return {"id": inc["id"], "size": inc["size"], "first_seen": _aware(inc["first_seen"]).isoformat(), "top_terms": list(inc["top_terms"])}
