"""Duplicate-lookup latency with 10k, 100k and 1M stored messages, on SQLite and PostgreSQL.

A lookup is what /v1/classify does per message with a customer id: fetch that customer's open messages
inside the window (indexed query) and score each against the new message with the served model's pair scorer
(models/CURRENT; by similarity alone when no model loads). Filler rows belong to other customers (about 5 open
messages each) and carry short signatures to keep the database small; the looked-up customers carry what the
service stores (signature, sentence bits, number hashes and a 384-number embedding), so the measured work is the
real work.

Run: python -m training.store_bench [--sizes 10000,100000,1000000] [--pg postgresql://...] [--models models]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert, text
from tqdm import tqdm

from service.core import profiles, similarity
from service.core.labels import LABELS
from service.core.triage import best_match
from service.store.repo import Store
from service.store.tables import messages

SAMPLE_TEXTS = [
    "My internet connection drops every evening since Monday, the router light blinks red.",
    "You charged my card twice for the October invoice, please refund one of them.",
    "The mobile app crashes when I open the payments tab after the last update.",
    "Where is my order 55120? The tracking page has said 'in transit' for nine days.",
    "Ma facture d'électricité a doublé ce mois-ci alors que ma consommation est la même.",
    "Интернет не работает третий день, техник так и не пришёл.",
    "ログインしようとするとエラーが出て、パスワードをリセットしても直りません。",
]


def fill(store: Store, n: int, looked_up: list[str], tenant: str = "bench") -> None:
    now = datetime.now(UTC)
    short_sig = similarity.dumps(dict(list(similarity.signature(SAMPLE_TEXTS[0]).items())[:32]))
    full_sigs = [profiles.profile(t).to_stored(_unit(k)) for k, t in enumerate(SAMPLE_TEXTS)]
    full_scores = json.dumps(dict.fromkeys(LABELS, 0.2))
    rng = random.Random(0)
    batch = []
    special = {c: 0 for c in looked_up}
    with store.engine.begin() as conn:
        for i in tqdm(range(n), desc=f"inserting {n:,}", unit="row", mininterval=2):
            if i < len(looked_up) * 5:
                cust = looked_up[i % len(looked_up)]
                special[cust] += 1
                sig, scores = full_sigs[i % len(full_sigs)], full_scores
            else:
                cust = f"c{rng.randrange(n // 5 + 1)}"
                sig, scores = short_sig, "{}"
            batch.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "tenant": tenant, "customer_id": cust, "ticket_id": None,
                          "received_at": now - timedelta(hours=rng.randrange(24 * 30)), "language": "en", "labels": "[]", "scores": scores,
                          "status": "open", "text_redacted": "", "signature": sig, "duplicate_of": None, "repeat_count": 0,
                          "incident_id": None, "uncertainty": 0.5})
            if len(batch) >= 5000:
                conn.execute(insert(messages), batch)
                batch = []
        if batch:
            conn.execute(insert(messages), batch)
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE messages"))


def _unit(seed: int, dim: int = 384) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim)
    return v / np.linalg.norm(v)


def served_scorer(models: Path):
    """The pair scorer of the model the service would load, or None."""
    from service.core.artifacts import load_artifact, resolve_model_dir

    try:
        model, _ = load_artifact(resolve_model_dir(models, None), models)
    except Exception:  # noqa: BLE001  (no model here: rank by similarity, as a model without a scorer does)
        return None
    return model.pair_scorer


def lookups(store: Store, customers: list[str], rounds: int = 2000, tenant: str = "bench", scorer=None) -> dict:
    text_ = "Hello, my internet keeps dropping every evening and the router blinks red, please help. Account 5512."
    new = profiles.profile(text_)
    emb = _unit(99, scorer.embedding_dim) if scorer is not None and scorer.embedding_dim else None
    scores = np.full(len(scorer.labels), 0.3) if scorer is not None else None
    times = []
    since = datetime.now(UTC) - timedelta(days=14)
    for i in range(rounds):
        start = time.perf_counter()
        cands = store.open_messages(tenant, customers[i % len(customers)], since)
        best_match(new.sig, {}, cands, emb, 0.5, scorer, scores, new)
        times.append(time.perf_counter() - start)
    times.sort()
    return {"p50_ms": round(statistics.median(times) * 1000, 3), "p99_ms": round(times[int(len(times) * 0.99)] * 1000, 3)}


def reset(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("feedback", "incidents", "messages", "api_keys", "alembic_version"):
                conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--models", type=Path, default=Path("models"), help="the pair scorer of its current model scores the candidates")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    wanted = set(args.backends.split(","))
    backends = [("sqlite", None)] if "sqlite" in wanted else []
    try:
        import psycopg

        psycopg.connect(args.pg, connect_timeout=2).close()
        if "postgresql" in wanted:
            backends.append(("postgresql", args.pg))
    except Exception as exc:  # noqa: BLE001
        print(f"(PostgreSQL at {args.pg} not reachable: {exc.__class__.__name__}; skipped)")
    customers = [f"lookup-{i}" for i in range(50)]
    scorer = served_scorer(args.models)
    print(f"candidates scored by {'the current model' + chr(39) + 's ' + scorer.kind + ' pair scorer' if scorer else 'similarity alone'}")
    results = []
    for name, url in backends:
        for n in [int(x) for x in args.sizes.split(",")]:
            url_n = url or f"sqlite:///{tmp / f'bench-{n}.db'}"
            reset(url_n)
            store = Store(url_n)
            fill(store, n, customers)
            row = {"backend": name, "messages": n, **lookups(store, customers, scorer=scorer)}
            results.append(row)
            print(json.dumps(row), flush=True)
            store.close()
    print(f"\n{'backend':>10} {'messages':>9} {'lookup p50 ms':>13} {'lookup p99 ms':>13}")
    for r in results:
        print(f"{r['backend']:>10} {r['messages']:>9,} {r['p50_ms']:>13} {r['p99_ms']:>13}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
