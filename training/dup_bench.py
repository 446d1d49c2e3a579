"""Duplicate-detection quality: our resend pairs (precision/recall of the service's decision at its threshold), short
unrelated follow-ups after those customers' first messages (how often the check merges them by mistake), and the real
forum pairs in ../shared/benchmarks/real_dup_pairs_dev.jsonl (ROC-AUC of the similarity and of the decision; skipped
when absent).

Run: python -m training.dup_bench
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from service.core import profiles, similarity
from service.core.classifier import Classifier
from service.core.triage import Triage
from service.store.repo import StoredMessage

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


def pair_scores(pairs: list[dict], clf: Classifier, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The service's duplicate evidence for each pair, through the same code as POST /v1/classify: ``a`` is stored as
    the service stores it (signature, embedding, scores), then ``b`` arrives and ``Triage.match`` judges it.
    Returns (the decision score: the pair scorer's probability, or the similarity for models without one; the
    similarity, what ``duplicate_of.similarity`` reports)."""
    triage = Triage(clf, policy=None)  # type: ignore[arg-type]  # matching needs no policy
    now = datetime.now(UTC)
    decision, sims = [], []
    for p in tqdm(pairs, desc="pairs", unit="pair", leave=False, disable=not progress):
        pa, pb = clf.predict(p["a"], explain=False), clf.predict(p["b"], explain=False)
        stored = StoredMessage("a", None, now, profiles.profile(p["a"]).to_stored(pa.embedding), 0, pa.scores)
        found = triage.match(p["b"], similarity.signature(p["b"]), pb, [stored])
        decision.append(found.score if found else 0.0)
        sims.append(found.similarity if found else 0.0)
    return np.array(decision), np.array(sims)


def short_followups(pairs: list[dict], data: Path, per_message: int = 2, max_words: int | None = None, seed: int = 0) -> list[dict]:
    """Pairs of each resend pair's first message with short messages of another request in its language ("ok thanks", a
    password question): our test-split messages of at most ``max_words`` words (default ``pair_fit.SHORT_WORDS``, the
    training side's definition; ``4 * max_words`` characters in Japanese)
    that carry no duplicate label. Neither our resend pairs nor the forum pairs have such pairs, yet they are a
    customer's most common next message. The pair scorer trains on such pairs drawn from the training split
    (``training.pair_fit.short_negatives``); these, from the test split, are held out."""
    import random

    from training.data import load_dataset, split_rows
    from training.pair_fit import SHORT_WORDS, short_messages

    _, test = split_rows(load_dataset(data), data)
    shorts = short_messages(test, max_words or SHORT_WORDS)
    rng = random.Random(seed)
    firsts = list(dict.fromkeys((p["a"], p.get("lang", "")) for p in pairs))
    return [{"a": a, "b": b, "is_duplicate": False} for a, lang in firsts if shorts.get(lang)
            for b in rng.sample(shorts[lang], min(per_message, len(shorts[lang])))]


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
    ap.add_argument("--threshold", type=float, default=None, help="default: the model's pair threshold (0.5 with the older rule)")
    ap.add_argument("--models", type=Path, default=Path("models"))
    ap.add_argument("--version", default=None, help="model to judge with (default: the current one)")
    ap.add_argument("--data", type=Path, default=Path("datasets"), help="our messages, for the short follow-ups (test split)")
    args = ap.parse_args(argv)
    clf = Classifier.load(args.models, args.version)
    clf.warm()
    scorer = clf.model.pair_scorer
    threshold = args.threshold if args.threshold is not None else (scorer.threshold if scorer else 0.5)
    how = "pair scorer's probability" if scorer else "similarity (the model has no pair scorer)"
    print(f"model {clf.version}: {how}, {'with' if clf.model.embedding else 'without'} the sentence embedding")
    files = sorted(args.resends.glob("*.jsonl")) if args.resends.is_dir() else []
    if files:
        print(f"== our resend pairs, {how} at threshold {threshold:.2f} ==")
        print(f"{'lang':>5} {'pairs':>6} {'precision':>9} {'recall':>7} {'ROC-AUC':>8}")
        all_y, all_s, all_old, every_pair = [], [], [], []
        for f in files:
            pairs = [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
            every_pair += pairs
            y = np.array([p["is_duplicate"] for p in pairs], dtype=int)
            s, old = pair_scores(pairs, clf)
            all_y.append(y)
            all_s.append(s)
            all_old.append(old)
            _row(f.stem, y, s, threshold)
        y_all, s_all, old_all = np.concatenate(all_y), np.concatenate(all_s), np.concatenate(all_old)
        _row("all", y_all, s_all, threshold)
        print("operating points on all pairs (threshold: precision / recall):")
        for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            pred = s_all >= t
            print(f"  {t:.2f}: {y_all[pred].mean() if pred.any() else float('nan'):.3f} / {pred[y_all == 1].mean():.3f}")
        print(f"best recall at precision >= 0.95: {recall_at_precision(y_all, s_all):.3f}"
              + (f"   (similarity alone: {recall_at_precision(y_all, old_all):.3f}, ROC-AUC {roc_auc(y_all, old_all):.3f})" if scorer else ""))
        follow = short_followups(every_pair, args.data) if args.data.is_dir() else []
        if follow:
            fs, _ = pair_scores(follow, clf)
            merged = int((fs >= threshold).sum())
            print(f"short unrelated follow-ups after those first messages ({len(follow)} pairs): {merged} merged by mistake "
                  f"({merged / len(follow):.1%}) at threshold {threshold:.2f}")
    else:
        print(f"(no resend pairs under {args.resends})")
    if args.real.is_file():
        pairs = [json.loads(x) for x in args.real.read_text().splitlines() if x.strip()]
        y = np.array([p["is_duplicate"] for p in pairs], dtype=int)
        hard = np.array([p.get("pair_type") != "easy_negative" for p in pairs])
        (ours, old), base = pair_scores(pairs, clf), tfidf_baseline(pairs)
        print(f"\n== real forum pairs {args.real.name}: {len(pairs)} pairs ({int(y.sum())} duplicates) ==")
        print("(questions from different people: no 'I already wrote' cues, so the similarity is what this set measures)")
        print(f"ROC-AUC similarity (duplicate_of.similarity): {roc_auc(y, old):.3f}   decision ({how}): {roc_auc(y, ours):.3f}   "
              f"char TF-IDF cosine baseline: {roc_auc(y, base):.3f}")
        print(f"ROC-AUC without easy negatives: similarity {roc_auc(y[hard], old[hard]):.3f}, decision {roc_auc(y[hard], ours[hard]):.3f}, "
              f"baseline {roc_auc(y[hard], base[hard]):.3f}")
    else:
        print(f"(real pairs {args.real} absent: skipped)")


def recall_at_precision(y: np.ndarray, s: np.ndarray, precision: float = 0.95) -> float:
    """The highest recall at any threshold whose precision reaches ``precision`` (0 when none does)."""
    best = 0.0
    for t in np.unique(s):
        pred = s >= t
        if y[pred].mean() >= precision:
            best = max(best, float(pred[y == 1].mean()))
    return best


def _row(name: str, y: np.ndarray, s: np.ndarray, t: float) -> None:
    pred = s >= t
    tp = int((pred & (y == 1)).sum())
    precision = tp / max(1, int(pred.sum()))
    recall = tp / max(1, int(y.sum()))
    print(f"{name:>5} {len(y):>6} {precision:9.3f} {recall:7.3f} {roc_auc(y, s):8.3f}")


if __name__ == "__main__":
    main()
