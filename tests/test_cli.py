"""The command line, through typer's runner: clear errors and non-zero exits, never a traceback."""

from __future__ import annotations

import json

from conftest import ROOT
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_cli_help_on_every_command():
    for args in (["--help"], ["train", "--help"], ["evaluate", "--help"], ["classify", "--help"], ["data", "check", "--help"], ["serve", "--help"], ["pairs", "fit", "--help"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, args


def test_cli_data_check_rejects_bad_rows(tmp_path):
    bad = tmp_path / "bad.jsonl"
    rows = [
        {"id": "a", "text": "my bill is wrong", "labels": ["billing"], "lang": "en", "channel": "email", "domain": "utilities"},
        {"id": "b", "text": "", "labels": [], "lang": "en", "channel": "chat", "domain": "saas"},
        {"id": "c", "text": "hello", "labels": ["spam"], "lang": "en", "channel": "chat", "domain": "saas"},
        {"id": "d", "text": "my bill is wrong", "labels": ["billing"], "lang": "en", "channel": "email", "domain": "utilities"},
    ]
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{not json\n")
    res = runner.invoke(app, ["data", "check", "--data", str(bad)])
    assert res.exit_code == 3
    assert "unknown labels" in res.output and "not valid JSON" in res.output and "exact duplicate" in res.output
    assert "Traceback" not in res.output


def test_cli_classify_gives_per_row_errors_in_order(models_dir, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_bytes(b'{"id": "1", "text": "card declined at the shop"}\nnot json\n{"id": "3"}\n\xff\xfe\n{"id": "5", "text": "merci beaucoup", "language": "fr"}\n')
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["classify", "--input", str(data), "--output", str(out), "--model", str(next(p for p in models_dir.iterdir() if p.is_dir()))])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "line-2", "3", "line-4", "5"]
    assert "error" in rows[1] and "error" in rows[2] and "error" in rows[3]
    assert set(rows[0]["scores"]) == {"duplicate", "out_of_scope", "hostile", "billing", "fault"}
    assert rows[4]["language"] == "fr"


def test_cli_classify_csv(models_dir, tmp_path):
    data = tmp_path / "in.csv"
    data.write_text('id,text\n7,"The app crashes when I pay, fix it"\n')
    res = runner.invoke(app, ["classify", "--input", str(data), "--model", str(next(p for p in models_dir.iterdir() if p.is_dir()))])
    assert res.exit_code == 0
    assert json.loads(res.stdout.strip().splitlines()[-1])["id"] == "7"


def test_cli_missing_input_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["classify", "--input", str(tmp_path / "nope.jsonl")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_cli_evaluate_writes_metrics_and_plots(models_dir, small_dataset, tmp_path):
    model = next(p for p in models_dir.iterdir() if p.is_dir())
    res = runner.invoke(app, ["evaluate", "--data", str(small_dataset), "--model", str(model), "--report", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert 0 <= metrics["macro_f1"] <= 1 and "per_language" in metrics
    for png in ("confusion.png", "precision_recall.png", "calibration.png", "per_language_f1.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 1000


def test_cli_evaluate_without_model_is_a_clear_error(tmp_path, small_dataset, monkeypatch):
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "empty"))
    from service.settings import get_settings

    get_settings.cache_clear()
    res = runner.invoke(app, ["evaluate", "--data", str(small_dataset)])
    get_settings.cache_clear()
    assert res.exit_code == 6 and "no trained model" in res.output


def test_cli_classify_large_file_on_two_processes_matches_one(models_dir, tmp_path):
    """A file big enough to be split across processes gives the same lines, in the same order, as one process."""
    texts = ["my card was declined again!!!", "", "Bonjour, où est ma facture ?", "ログインできません", "thanks, all good"]
    data = tmp_path / "many.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"r{i}", "text": texts[i % len(texts)] + f" #{i}" if texts[i % len(texts)] else ""})
                              for i in range(700)) + "\n")
    model = str(next(p for p in models_dir.iterdir() if p.is_dir()))
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        res = runner.invoke(app, ["classify", "--input", str(data), "--output", str(out), "--model", model, "--workers", workers])
        assert res.exit_code == 0, res.output
        outs.append(out.read_text().splitlines())
    assert len(outs[0]) == 700 and outs[0] == outs[1]
    assert json.loads(outs[1][1])["error"] and json.loads(outs[1][699])["id"] == "r699"


def test_cli_ensure_model_trains_the_fast_settings_once(small_dataset, tmp_path):
    """A checkout without a usable model gets one on `make run`: the shipped fast settings, trained once, then reused."""
    from service.core.artifacts import load_artifact, resolve_model_dir

    models = tmp_path / "models"
    res = runner.invoke(app, ["ensure-model", "--models", str(models), "--data", str(small_dataset)])
    assert res.exit_code == 0, res.output
    model, meta = load_artifact(resolve_model_dir(models), models)
    assert model.embedding is None and model.max_chars == 400 and model.raw_window == 800
    assert meta.preprocessing["max_chars"] == 400
    again = runner.invoke(app, ["ensure-model", "--models", str(models), "--data", str(small_dataset)])
    assert again.exit_code == 0 and "model ready" in again.output and len([p for p in models.iterdir() if p.is_dir()]) == 1


def test_cli_pairs_fit_adds_a_scorer_and_keeps_the_classifier(models_dir, tmp_path):
    import shutil

    import numpy as np

    from service.core.artifacts import load_artifact, resolve_model_dir

    models = tmp_path / "models"
    shutil.copytree(models_dir, models)
    pairs = tmp_path / "pairs.jsonl"
    rows = [json.loads(x) for f in sorted((ROOT / "datasets" / "resend_train").glob("*.jsonl")) for x in f.read_text().splitlines()[::8]]
    assert 5 <= sum(r["is_duplicate"] for r in rows) <= len(rows) - 5
    pairs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    result = runner.invoke(app, ["pairs", "fit", "--models", str(models), "--pairs", str(pairs), "--version", "with-pairs"])
    assert result.exit_code == 0, result.output
    source, _ = load_artifact(resolve_model_dir(models, None), models)
    derived, meta = load_artifact(resolve_model_dir(models, "with-pairs"), models)
    assert np.array_equal(derived.coef, source.coef) and np.array_equal(derived.thresholds, source.thresholds)
    assert derived.pair_scorer is not None and meta.metrics["pairs"]["pairs"] == len(rows) and meta.metrics["derived_from"] == "test-v1"
    assert (models / "CURRENT").read_text().strip() != "with-pairs"  # not promoted unless asked
    missing = runner.invoke(app, ["pairs", "fit", "--models", str(models), "--pairs", str(tmp_path / "nope"), "--version", "x"])
    assert missing.exit_code != 0 and "does not exist" in missing.output and "Traceback" not in missing.output


def test_cli_train_fast_is_the_shipped_fast_settings(small_dataset, tmp_path):
    """`triage train --fast` gives what `ensure-model` gives: no embedding and features over the opening, so a retrained
    fast model cannot lose the window that bounds its tail latency by a forgotten `--max-chars`."""
    from service.core.artifacts import load_artifact, resolve_model_dir

    models = tmp_path / "models"
    res = runner.invoke(app, ["train", "--fast", "--data", str(small_dataset), "--out", str(models), "--version", "f", "--no-pair-scorer"])
    assert res.exit_code == 0, res.output
    model, meta = load_artifact(resolve_model_dir(models, "f"), models)
    assert model.embedding is None and model.max_chars == 400 and model.raw_window == 800
    assert meta.preprocessing["embeddings"] is False and meta.training_config["max_chars"] == 400
    wider = runner.invoke(app, ["train", "--fast", "--max-chars", "600", "--data", str(small_dataset), "--out", str(models),
                                "--version", "g", "--no-pair-scorer"])
    assert wider.exit_code == 0, wider.output
    assert load_artifact(resolve_model_dir(models, "g"), models)[0].max_chars == 600
