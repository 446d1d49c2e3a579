"""Simulate the feedback loop on real text and report the change honestly.

1. Train a temporary model on our datasets only.
2. Split ../shared/benchmarks/real_dev.jsonl in two halves (by a hash of the text). Half A plays "agent
   corrections": each message is classified through the real HTTP app (stored, redacted) and its true
   labels are sent to POST /v1/feedback; `feedback export` then turns them into training rows.
3. Retrain a temporary model with those rows (weighted) and compare both models on half B, per label.
Both models live in a temporary folder: never promoted, never committed. This is the one permitted use of
real_dev rows for training (see shared/benchmarks/README.md).

Run: python -m training.feedback_gain [--weight 2.0]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

from training.bench import REAL_DEV


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--real", type=Path, default=REAL_DEV)
    ap.add_argument("--data", type=Path, default=Path("datasets"))
    ap.add_argument("--weight", type=float, default=2.0, help="sample weight of feedback rows")
    args = ap.parse_args(argv)
    if not args.real.is_file():
        print(f"(real-message set {args.real} absent: skipped)")
        return
    from fastapi.testclient import TestClient

    from service.core.classifier import Classifier
    from service.main import create_app
    from service.settings import Settings
    from service.store.repo import Store
    from training.data import load_dataset
    from training.evaluate import compare, evaluate
    from training.train import Source, TrainConfig, train

    tmp = Path(tempfile.mkdtemp(prefix="feedback-gain-"))
    rows = [json.loads(x) for x in args.real.read_text().splitlines() if x.strip()]
    half = [int(hashlib.sha1(r["text"].encode()).hexdigest(), 16) % 2 for r in rows]
    part_a = [r for r, h in zip(rows, half) if h == 0]
    part_b = tmp / "half_b.jsonl"
    part_b.write_text("".join(json.dumps({"text": r["text"], "labels": r["labels"], "lang": r.get("lang", "")}) + "\n"
                              for r, h in zip(rows, half) if h == 1))
    print(f"half A (agent corrections): {len(part_a)} rows; half B (evaluation): {len(rows) - len(part_a)} rows")

    base = train([Source(args.data)], tmp / "models", TrainConfig(), version="base", progress=True, pairs=False)  # labels only
    settings = Settings(models_dir=tmp / "models", data_dir=tmp / "var", reload_poll_seconds=0, warm_on_start=False)
    with TestClient(create_app(settings)) as client:
        for i, r in enumerate(part_a):
            res = client.post("/v1/classify", json={"text": r["text"], "customer_id": f"sim-{i}", "ticket_id": f"sim-{i}"}).json()
            fb = client.post("/v1/feedback", json={"message_id": res["id"], "labels": r["labels"], "agent_id": "simulated-agent"})
            assert fb.status_code == 200, fb.text
    exported = tmp / "feedback.jsonl"
    with exported.open("w") as fh:
        for r in Store(settings.db_url).export_feedback("default"):
            fh.write(json.dumps({"id": r["id"], "text": r["text_redacted"], "labels": json.loads(r["labels"]), "lang": r["language"]}) + "\n")
    print(f"feedback rows exported: {len(load_dataset(exported, full=False))} (text as stored: redacted)")
    tuned = train([Source(args.data), Source(exported, "feedback")], tmp / "models", TrainConfig(feedback_weight=args.weight),
                  version="with-feedback", promote=False, progress=True, pairs=False)
    before = evaluate(part_b, Classifier(base.model), None).summary
    after = evaluate(part_b, Classifier(tuned.model), None).summary
    print(f"\n== half B of {args.real.name}: before vs after feedback (weight {args.weight}) ==")
    print(f"{'label':>14} {'F1 before':>9} {'F1 after':>9} {'change':>7}")
    for lab, v in compare(after, before).items():
        print(f"{lab:>14} {v['other_f1']:9.3f} {v['f1']:9.3f} {v['delta']:+7.3f}")
    print(f"(temporary models in {tmp}; nothing promoted or committed)")


if __name__ == "__main__":
    main()
