"""GET /v1/labels (taxonomy + handling policy) and GET /v1/model (the loaded model's metadata)."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import ClassifierDep, ClassifyCaller, PolicyDep
from service.core.labels import DESCRIPTIONS, LABELS

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/labels")
def labels(policy: PolicyDep, caller: ClassifyCaller) -> dict:
    """The five labels with their meanings, and the handling policy in force."""
    return {"labels": [{"name": lab, "description": DESCRIPTIONS[lab]} for lab in LABELS],
            "policy": {"source": policy.source, "languages": policy.languages, "priorities": policy.priorities, "rules": policy.describe()}}


@router.get("/model")
def model(clf: ClassifierDep, caller: ClassifyCaller) -> dict:
    """Version, labels, thresholds, metrics and training date of the model being served."""
    meta = clf.metadata
    if meta is None:
        return {"version": clf.version, "labels": list(clf.labels)}
    return {"version": meta.version, "labels": meta.labels, "thresholds": meta.thresholds, "trained_at": meta.created_at.isoformat(),
            "languages": meta.languages, "metrics": meta.metrics, "dataset_sha256": meta.dataset_sha256, "sources": meta.sources,
            "library_versions": meta.library_versions}
