"""Duplicate-detection quality: our resend pairs (precision/recall at the service threshold) and the
real forum pairs in ../shared/benchmarks/real_dup_pairs_dev.jsonl (ROC-AUC; skipped when absent).

Run: python -m training.dup_bench
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from service.core import embeddings, similarity
from service.core.artifacts import load_artifact, resolve_model_dir
from service.core.langid import LanguageIdentifier, pipeline_language
from service.core.model import TriageModel
from service.core.normalize import normalize
from service.settings import Settings

REAL_PAIRS = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "real_dup_pairs_dev.jsonl"


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    for v in np.unique(s):  # average ranks of ties
        tie = s == v
        ranks[tie] = ranks[tie].mean()
    pos = y.sum()
    neg = len(y) - pos
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def embedding_texts(texts: list[str], model: TriageModel | None) -> list[str]:
    """What the served model embeds for each message (its own preparation), or the normalised text without a model."""
    if model is None:
        return [normalize(t).text for t in texts]
    langid = LanguageIdentifier()
    return [model.prepare(t, pipeline_language(langid.detect(t).code)).text for t in texts]


def pair_scores(pairs: list[dict], threshold: float = 0.5, use_embeddings: bool = True, model: TriageModel | None = None) -> np.ndarray:
    """The service's similarity for each pair: lexical (with the quoted part) combined with the e5 embedding of what
    ``model`` embeds (the served model), exactly as Triage does; lexical only when the model has no embedding."""
    use_embeddings = use_embeddings and embeddings.available() and (model is None or model.embedding is not None)
    if use_embeddings:
        ea = embeddings.embed(embedding_texts([p["a"] for p in pairs], model))
        eb = embeddings.embed(embedding_texts([p["b"] for p in pairs], model))
    out = []
    for i, p in enumerate(pairs):
        a = similarity.signature(p["a"])
        b_text = p["b"]
        b = similarity.signature(b_text)
        quoted = similarity.signature(similarity.quoted_part(b_text))
        lexical = max(similarity.cosine(a, b), similarity.cosine(a, quoted) if quoted else 0.0)
        out.append(similarity.combined(lexical, float(ea[i] @ eb[i]) if use_embeddings else None, threshold))
    return np.array(out)


def tfidf_baseline(pairs: list[dict]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    vec.fit([p["a"] for p in pairs] + [p["b"] for p in pairs])
    A, B = vec.transform([p["a"] for p in pairs]), vec.transform([p["b"] for p in pairs])
    return np.asarray(A.multiply(B).sum(axis=1)).ravel()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--resends", type=Path, default=Path("datasets/resends"))
    ap.add_argument("--real", type=Path, default=REAL_PAIRS)
    ap.add_argument("--threshold", type=float, default=Settings().duplicate_threshold)
    ap.add_argument("--models", type=Path, default=Settings().models_dir)
    ap.add_argument("--version", default=None, help="model whose embedding is used (default: the current one)")
    args = ap.parse_args(argv)
    model, meta = load_artifact(resolve_model_dir(args.models, args.version), args.models)
    print(f"model {meta.version} ({'lexical + embedding' if model.embedding else 'lexical only: the model has no embedding'})")
    files = sorted(args.resends.glob("*.jsonl")) if args.resends.is_dir() else []
    if files:
        print(f"== our resend pairs at threshold {args.threshold} ==")
        print(f"{'lang':>5} {'pairs':>6} {'precision':>9} {'recall':>7} {'ROC-AUC':>8}")
        all_y, all_s = [], []
        for f in files:
            pairs = [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
            y = np.array([p["is_duplicate"] for p in pairs], dtype=int)
            s = pair_scores(pairs, args.threshold, model=model)
            all_y.append(y)
            all_s.append(s)
            _row(f.stem, y, s, args.threshold)
        y_all, s_all = np.concatenate(all_y), np.concatenate(all_s)
        _row("all", y_all, s_all, args.threshold)
        print("operating points on all pairs (threshold: precision / recall):")
        for t in (0.5, 0.6, 0.7, 0.8, 0.9):
            pred = s_all >= t
            print(f"  {t:.2f}: {y_all[pred].mean() if pred.any() else float('nan'):.3f} / {pred[y_all == 1].mean():.3f}")
        ok = [(float(pred[y_all == 1].mean()), t) for t in np.arange(0.3, 1.0, 0.01) if (pred := s_all >= t).any() and y_all[pred].mean() >= 0.95]
        print(f"best recall at precision >= 0.95: {max(ok)[0]:.3f} (threshold {max(ok)[1]:.2f})" if ok else "precision 0.95 is not reached at any threshold")
    else:
        print(f"(no resend pairs under {args.resends})")
    if args.real.is_file():
        pairs = [json.loads(x) for x in args.real.read_text().splitlines() if x.strip()]
        y = np.array([p["is_duplicate"] for p in pairs], dtype=int)
        hard = np.array([p["pair_type"] != "easy_negative" for p in pairs])
        ours, lexical_only, base = pair_scores(pairs, args.threshold, model=model), pair_scores(pairs, args.threshold, False), tfidf_baseline(pairs)
        print(f"\n== real forum pairs {args.real.name}: {len(pairs)} pairs ({int(y.sum())} duplicates) ==")
        print(f"ROC-AUC ours (lexical + embedding): {roc_auc(y, ours):.3f}   lexical signature only: {roc_auc(y, lexical_only):.3f}   "
              f"char TF-IDF cosine baseline: {roc_auc(y, base):.3f}")
        print(f"ROC-AUC without easy negatives: ours {roc_auc(y[hard], ours[hard]):.3f}, baseline {roc_auc(y[hard], base[hard]):.3f}")
    else:
        print(f"(real pairs {args.real} absent: skipped)")


def _row(name: str, y: np.ndarray, s: np.ndarray, t: float) -> None:
    pred = s >= t
    tp = int((pred & (y == 1)).sum())
    precision = tp / max(1, int(pred.sum()))
    recall = tp / max(1, int(y.sum()))
    print(f"{name:>5} {len(y):>6} {precision:9.3f} {recall:7.3f} {roc_auc(y, s):8.3f}")


if __name__ == "__main__":
    main()
