"""Shared fixtures: a small model trained once per session, app clients, the local PostgreSQL when reachable."""

from __future__ import annotations

import json
import os
import socket
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
PG_URL = os.environ.get("TRIAGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def small_rows(per_lang: int = 70) -> list[dict]:
    """A deterministic slice of our dataset: the first rows of each language file, all label kinds included."""
    picked: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((DATASETS / "messages").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if len(picked[row["lang"]]) < per_lang:
                picked[row["lang"]].append(row)
    return [r for rows in picked.values() for r in rows]


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in small_rows()))
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory, small_dataset):
    from training.train import Source, TrainConfig, train

    models = tmp_path_factory.mktemp("models")
    # The shared model is the fast variant (TF-IDF only) so the suite stays quick; test_model covers the embedding one.
    result = train([Source(small_dataset)], models, TrainConfig(folds=3, embeddings=False), version="test-v1", progress=False,
                   pairs=DATASETS / "resend_train")
    return result


@pytest.fixture(scope="session")
def trained_with_embeddings(tmp_path_factory):
    from training.train import Source, TrainConfig, train

    rows = small_rows(per_lang=20)
    path = tmp_path_factory.mktemp("data-emb") / "tiny.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    models = tmp_path_factory.mktemp("models-emb")
    return train([Source(path)], models, TrainConfig(folds=2), version="test-emb", progress=False), path


@pytest.fixture(scope="session")
def models_dir(trained) -> Path:
    return trained.out_dir.parent


@pytest.fixture(scope="session")
def classifier(models_dir):
    from service.core.classifier import Classifier

    return Classifier.load(models_dir)


def make_settings(models_dir: Path, tmp: Path, **kw):
    from service.settings import Settings

    base = {"models_dir": models_dir, "data_dir": tmp, "reload_poll_seconds": 0, "warm_on_start": False,
            "cpu_affinity": "off"}  # never pin the test process itself (tests of pinning run in child processes)
    return Settings(**{**base, **kw})


@pytest.fixture
def app_factory(models_dir, tmp_path):
    from fastapi.testclient import TestClient

    from service.main import create_app

    clients = []

    def build(**kw):
        client = TestClient(create_app(make_settings(models_dir, tmp_path, **kw)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(app_factory):
    return app_factory()


def pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=2).close()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'triage.db'}"
    if not pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: set TRIAGE_TEST_PG_URL or start a server to run these")
    import psycopg

    schema_db = PG_URL
    with psycopg.connect(schema_db, autocommit=True) as conn:
        for table in ("feedback", "incidents", "messages", "api_keys", "alembic_version"):
            conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    return PG_URL


@pytest.fixture
def store(store_url):
    from service.store.repo import Store

    s = Store(store_url)
    yield s
    s.close()
