"""Duplicate-lookup latency with 10k, 100k and 1M stored messages, on SQLite and PostgreSQL.

A lookup is what /v1/classify does per message with a customer id: fetch that customer's open messages
inside the window (indexed query) and score each against the new signature. Filler rows belong to
other customers (about 5 open messages each) and carry short signatures to keep the database small;
the looked-up customers carry full-size signatures, so the measured work is the real work.

Run: python -m training.store_bench [--sizes 10000,100000,1000000] [--pg postgresql://...]
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

from sqlalchemy import insert, text
from tqdm import tqdm

from service.core import similarity
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
    full_sigs = [similarity.dumps(similarity.signature(t)) for t in SAMPLE_TEXTS]
    rng = random.Random(0)
    batch = []
    special = {c: 0 for c in looked_up}
    with store.engine.begin() as conn:
        for i in tqdm(range(n), desc=f"inserting {n:,}", unit="row", mininterval=2):
            if i < len(looked_up) * 5:
                cust = looked_up[i % len(looked_up)]
                special[cust] += 1
                sig = full_sigs[i % len(full_sigs)]
            else:
                cust = f"c{rng.randrange(n // 5 + 1)}"
                sig = short_sig
            batch.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "tenant": tenant, "customer_id": cust, "ticket_id": None,
                          "received_at": now - timedelta(hours=rng.randrange(24 * 30)), "language": "en", "labels": "[]", "scores": "{}",
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


def lookups(store: Store, customers: list[str], rounds: int = 2000, tenant: str = "bench") -> dict:
    sig = similarity.signature("Hello, my internet keeps dropping every evening and the router blinks red, please help")
    times = []
    since = datetime.now(UTC) - timedelta(days=14)
    for i in range(rounds):
        start = time.perf_counter()
        cands = store.open_messages(tenant, customers[i % len(customers)], since)
        best_match(sig, {}, cands)
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
    results = []
    for name, url in backends:
        for n in [int(x) for x in args.sizes.split(",")]:
            url_n = url or f"sqlite:///{tmp / f'bench-{n}.db'}"
            reset(url_n)
            store = Store(url_n)
            fill(store, n, customers)
            row = {"backend": name, "messages": n, **lookups(store, customers)}
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
