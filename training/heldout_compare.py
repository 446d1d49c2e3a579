"""Compare training settings on text the model has not seen the like of: train on the older slices, score on a newer
slice written by other writers (and on ../shared/benchmarks/real_dev.jsonl when present), one line per setting.

Run: python -m training.heldout_compare --holdout gap-r-,gap-s-,gap-t-,gap-u- \
        --variant base='{}' --variant ew1='{"embed_weight": 1.0}' --variant none2='{"none_weight": 2.0}'

A variant is a JSON object of TrainConfig fields, plus "none_weight" (sample weight of rows with no label). Training
rows are the non-test rows outside the held-out slices; the held-out rows are scored whole. No model is saved; the
embedding cache (var/cache, vectors keyed by text hash, never committed) is reused and extended.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from service.core.labels import LABELS
from service.core.langid import LanguageIdentifier, pipeline_language
from service.core.model import TriageModel
from training.data import load_dataset, read_test_ids
from training.dup_bench import REAL_PAIRS
from training.metrics import label_table
from training.train import TrainConfig, fit_model

REAL_DEV = REAL_PAIRS.parent / "real_dev.jsonl"


def per_label_f1(model: TriageModel, texts: list[str], labels: list[list[str]], langid: LanguageIdentifier) -> np.ndarray:
    """F1 per label (NaN where the set has none), through the model's own training-path matrix (parity-tested)."""
    docs = [model.prepare(t, pipeline_language(langid.detect(t).code)) for t in texts]
    pred = model.proba_from_matrix(model.matrix(docs, cached=True)) >= model.thresholds
    gold = np.array([[lab in ls for lab in LABELS] for ls in labels], dtype=bool)
    table = label_table(gold, pred, LABELS)["per_label"]
    return np.array([table[lab]["f1"] if lab in table else np.nan for lab in LABELS])


def compare(data: Path, holdout: tuple[str, ...], variants: dict[str, dict], real: Path | None) -> list[dict]:
    rows = load_dataset(data)
    test = read_test_ids(data) or set()
    train_rows = [r for r in rows if r.id not in test and not r.id.startswith(holdout)]
    held = [r for r in rows if r.id.startswith(holdout)]
    if not held:
        raise SystemExit(f"no rows start with {', '.join(holdout)}")
    real_rows = [json.loads(x) for x in real.read_text().splitlines() if x.strip()] if real and real.is_file() else []
    langid = LanguageIdentifier()
    print(f"training rows {len(train_rows)}, held-out rows {len(held)}, real rows {len(real_rows)}; F1 per label: {', '.join(LABELS)}")
    out = []
    for name, overrides in variants.items():
        overrides = dict(overrides)
        none_weight = float(overrides.pop("none_weight", 1.0))
        cfg = replace(TrainConfig(), **overrides)
        start = time.perf_counter()
        weights = np.array([none_weight if not r.labels else 1.0 for r in train_rows])
        model = fit_model(train_rows, weights, cfg, langid, progress=False)
        h = per_label_f1(model, [r.text for r in held], [r.labels for r in held], langid)
        line = {"variant": name, "heldout_macro": float(np.nanmean(h)), "heldout": h.round(3).tolist()}
        if real_rows:
            d = per_label_f1(model, [r["text"] for r in real_rows], [r["labels"] for r in real_rows], langid)
            line |= {"real_macro": float(np.nanmean(d)), "real": d.round(3).tolist()}
        out.append(line)
        real_part = f"  real_dev {line['real_macro']:.3f} {line['real']}" if real_rows else ""
        print(f"{name:>10}  held-out {line['heldout_macro']:.3f} {line['heldout']}{real_part}  ({time.perf_counter() - start:.0f} s)", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("datasets"))
    ap.add_argument("--holdout", default="gap-r-,gap-s-,gap-t-,gap-u-", help="comma-separated id prefixes of the held-out slices")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON", help="a setting to train (repeat); default: base={}")
    ap.add_argument("--real", type=Path, default=REAL_DEV)
    args = ap.parse_args(argv)
    variants = {}
    for item in args.variant or ["base={}"]:
        name, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--variant wants NAME=JSON, got {item!r}")
        try:
            variants[name] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"--variant {name}: not JSON ({exc.msg})") from None
    compare(args.data, tuple(p for p in args.holdout.split(",") if p), variants, args.real)


if __name__ == "__main__":
    main()
