"""The review queue (active learning): which stored messages agents should label first, and why.

A message earns a place for one or more reasons, most urgent first:

- ``agents_disagree``: two agents gave it different labels; someone has to settle it.
- ``conflicting_labels``: the model gave labels that rarely belong together (see ``CONFLICTS``), or two
  labels both sit near their thresholds, so the decision between them is a coin toss.
- ``near_threshold``: a score lies within the model's uncertainty margin of its threshold.

A message that agents have already labelled consistently has its answer and leaves the queue. Inside a
reason, the smallest margin (score closest to its threshold) comes first. The function works on
plain dicts, so the API and the CLI share it and it needs no database to test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# Label pairs the label guide keeps apart: an off-topic or uncovered request is not a defect report, and a
# message cannot both chase an open request and be outside the contract in the usual case.
CONFLICTS: frozenset[frozenset[str]] = frozenset({frozenset({"out_of_scope", "fault"}), frozenset({"out_of_scope", "duplicate"})})
REASONS = ("agents_disagree", "conflicting_labels", "near_threshold")


@dataclass
class ReviewItem:
    id: str
    labels: list[str]
    scores: dict[str, float]
    language: str
    text: str
    margin: float
    reasons: list[str] = field(default_factory=list)
    agent_labels: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"id": self.id, "labels": self.labels, "scores": self.scores, "language": self.language, "text": self.text,
                "margin": round(self.margin, 4), "reasons": self.reasons, "agent_labels": self.agent_labels}


def reasons_for(labels: list[str], scores: dict[str, float], thresholds: dict[str, float], margin: float,
                uncertainty_margin: float, agent_labels: list[list[str]]) -> list[str]:
    distinct = {tuple(sorted(a)) for a in agent_labels}
    if len(distinct) == 1:  # labelled, and everyone agrees
        return []
    out = ["agents_disagree"] if distinct else []
    near = [lab for lab, s in scores.items() if lab in thresholds and abs(s - thresholds[lab]) < uncertainty_margin]
    if any(frozenset({a, b}) in CONFLICTS for i, a in enumerate(labels) for b in labels[i + 1 :]) or len(near) >= 2:
        out.append("conflicting_labels")
    if margin < uncertainty_margin:
        out.append("near_threshold")
    return out


def rank(rows: list[dict], thresholds: dict[str, float], uncertainty_margin: float, feedback: dict[str, list[list[str]]],
         limit: int = 50) -> list[ReviewItem]:
    """Rows as the store returns them (labels and scores as JSON text); only rows with a reason are kept."""
    items = []
    for r in rows:
        labels, scores = json.loads(r["labels"]), json.loads(r["scores"])
        agents = feedback.get(r["id"], [])
        margin = float(r.get("uncertainty", 1.0))
        why = reasons_for(labels, scores, thresholds, margin, uncertainty_margin, agents)
        if why:
            items.append(ReviewItem(r["id"], labels, scores, r["language"], r["text_redacted"], margin, why, agents))
    items.sort(key=lambda it: (REASONS.index(it.reasons[0]), it.margin, it.id))
    return items[: max(0, limit)]


def review_queue(store, tenant: str, since, thresholds: dict[str, float], uncertainty_margin: float, limit: int = 50) -> list[ReviewItem]:
    """The queue for one tenant from any store with ``recent_messages`` and ``feedback_labels``."""
    rows = store.recent_messages(tenant, since, limit=5000)
    feedback = store.feedback_labels(tenant, [r["id"] for r in rows])
    return rank(rows, thresholds, uncertainty_margin, feedback, limit)
