"""Model lifecycle: several sources with provenance and weighted feedback, promote/rollback, evaluate --compare."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from service.cli import app
from service.core.artifacts import current_version, list_versions

runner = CliRunner()


def test_lifecycle_train_records_every_source_and_weights_feedback(small_dataset, tmp_path):
    from training.train import Source, TrainConfig, train

    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text(json.dumps({"id": "fb-1", "text": "the payment page froze and I was charged anyway", "labels": ["billing", "fault"]}) + "\n")
    res = train([Source(small_dataset), Source(feedback, "feedback")], tmp_path / "models", TrainConfig(folds=3, embeddings=False, feedback_weight=3.0),
                version="with-fb", progress=False)
    sources = res.metadata["sources"]
    assert [s["kind"] for s in sources] == ["dataset", "feedback"]
    assert sources[1]["weight"] == 3.0 and sources[1]["rows"] == 1 and len(sources[1]["sha256"]) == 64


def test_lifecycle_promote_and_rollback(models_dir, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(models_dir, models)
    original = current_version(models)
    second = models / "second"
    shutil.copytree(models / original, second)
    meta = json.loads((second / "metadata.json").read_text())
    meta["version"] = "second"
    (second / "metadata.json").write_text(json.dumps(meta))
    assert set(list_versions(models)) == {original, "second"}
    res = runner.invoke(app, ["models", "promote", "second", "--models", str(models)])
    assert res.exit_code == 0, res.output
    assert current_version(models) == "second"
    assert runner.invoke(app, ["models", "rollback", "--models", str(models)]).exit_code == 0
    assert current_version(models) == original
    assert runner.invoke(app, ["models", "rollback", "--models", str(models)]).exit_code == 6  # nothing left to roll back to
    with (second / "model.joblib").open("ab") as fh:
        fh.write(b"tampered")
    res = runner.invoke(app, ["models", "promote", "second", "--models", str(models)])
    assert res.exit_code == 6 and "SHA-256" in res.output and current_version(models) == original


def test_lifecycle_evaluate_compare_prints_per_label_differences(models_dir, small_dataset):
    model = next(p for p in models_dir.iterdir() if p.is_dir())
    res = runner.invoke(app, ["evaluate", "--data", str(small_dataset), "--model", str(model), "--compare", str(model)])
    assert res.exit_code == 0, res.output
    assert "delta" in res.output and "+0.000" in res.output


def test_lifecycle_feedback_export_review_queue_and_drift_commands(app_factory, tmp_path, monkeypatch):
    """Agents' corrections made over HTTP come out of `triage feedback export` as dataset rows; the CLI review queue
    and drift read the same store."""
    client = app_factory()
    texts = ["my card was charged twice for one order", "the app crashes on login since the update"]
    ids = [client.post("/v1/classify", json={"text": t, "customer_id": f"c{i}"}).json()["id"] for i, t in enumerate(texts)]
    client.post("/v1/feedback", json={"message_id": ids[0], "labels": ["billing"], "agent_id": "a"})
    client.post("/v1/feedback", json={"message_id": ids[0], "labels": ["billing", "duplicate"], "agent_id": "b"})
    assert 'triage_recent_label_rate{label="billing"}' in client.get("/metrics").text
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(client.app.state.settings.models_dir))
    from service.settings import get_settings

    get_settings.cache_clear()
    try:
        out = tmp_path / "fb.jsonl"
        res = runner.invoke(app, ["feedback", "export", "--out", str(out)])
        assert res.exit_code == 0, res.output
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert rows[0]["labels"] == ["billing"] and "charged twice" in rows[0]["text"]
        queue = runner.invoke(app, ["review-queue", "--limit", "5"])
        assert queue.exit_code == 0 and "charged twice" in queue.output and "agents_disagree" in queue.output
        drift = runner.invoke(app, ["drift", "--days", "1"])
        assert drift.exit_code == 0, drift.output
        assert "training share" in drift.output and "2 messages" in drift.output
    finally:
        get_settings.cache_clear()
