"""The trained pipeline: overfit, save/reload, batch = single, training/serving parity, artifact safety."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from service.core.artifacts import META_FILE, MODEL_FILE, load_artifact
from service.core.classifier import Classifier
from service.core.labels import LABELS
from service.errors import ArtifactError


def test_model_overfits_its_training_rows(trained, small_dataset):
    rows = [json.loads(x) for x in small_dataset.read_text().splitlines()][:120]
    clf = Classifier(trained.model)
    preds = clf.predict_batch([r["text"] for r in rows], explain=False)
    hits = sum(set(p.labels) == set(r["labels"]) for p, r in zip(preds, rows))
    assert hits / len(rows) > 0.6


def test_model_save_reload_gives_same_scores(trained, classifier, small_dataset):
    texts = [json.loads(x)["text"] for x in small_dataset.read_text().splitlines()][:50]
    in_memory = Classifier(trained.model, None, classifier.langid)
    for t in texts:
        assert in_memory.predict(t).scores == classifier.predict(t).scores


def test_model_batch_equals_single(classifier):
    texts = ["my card got declined AGAIN!!!", "Bonjour, où est ma facture ?", "ログインできません", "", "thanks, all good now"]
    batch = classifier.predict_batch(texts)
    for t, b in zip(texts, batch):
        single = classifier.predict(t)
        assert single.scores == b.scores and single.labels == b.labels


def test_model_training_and_serving_parity(trained, classifier, small_dataset):
    """Scores from the training-time sparse matrix path equal the serving path on the same texts."""
    model = trained.model
    texts = [json.loads(x)["text"] for x in small_dataset.read_text().splitlines()][:80]
    docs = [model.prepare(t, classifier.language_of(t).code if classifier.language_of(t).code in ("en", "ru", "fr", "de", "es", "et", "ja") else "xx") for t in texts]
    X = model.matrix(docs, cached=True)
    assert X.shape[1] == model.coef.shape[0]
    train_side = model.proba_from_matrix(X)
    serve_side = np.array([[p.scores[lab] for lab in LABELS] for p in classifier.predict_batch(texts, explain=False)])
    np.testing.assert_allclose(train_side, serve_side, atol=1e-6)


def test_model_training_is_deterministic(trained, small_dataset, tmp_path):
    """The same data and config give the same model bit for bit; fitting the labels in one process instead of
    several changes nothing but the last bits of float rounding."""
    from training.train import Source, TrainConfig, train

    again = train([Source(small_dataset)], None, TrainConfig(folds=3, embeddings=False), progress=False)
    np.testing.assert_array_equal(again.model.coef, trained.model.coef)
    np.testing.assert_array_equal(again.model.thresholds, trained.model.thresholds)
    serial = train([Source(small_dataset)], None, TrainConfig(folds=3, embeddings=False, n_jobs=1), progress=False)
    np.testing.assert_allclose(serial.model.coef, trained.model.coef, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(serial.model.thresholds, trained.model.thresholds)


def test_model_with_embeddings_parity_and_reload(trained_with_embeddings):
    """The embedding variant: training-path scores equal serving-path scores, and a reloaded artifact agrees."""
    result, path = trained_with_embeddings
    model = result.model
    assert model.embedding is not None and model.coef.shape[0] == model.featurizer.n_features + 384
    texts = [json.loads(x)["text"] for x in path.read_text().splitlines()][:25]
    served = Classifier.load(result.out_dir.parent)
    langs = [served.language_of(t).code for t in texts]
    docs = [model.prepare(t, lang if lang in ("en", "ru", "fr", "de", "es", "et", "ja") else "xx") for t, lang in zip(texts, langs)]
    train_side = model.proba_from_matrix(model.matrix(docs, cached=True))
    assert model.uses_neighbours and np.any(model.calib_c != 0)  # the neighbours' vote takes part in both paths
    serve_side = np.array([[p.scores[lab] for lab in LABELS] for p in served.predict_batch(texts, explain=False)])
    np.testing.assert_allclose(train_side, serve_side, atol=1e-6)
    assert served.predict(texts[0]).embedding is not None
    # the embedding reads the natural text (digits and links kept); the n-grams read the masked one
    assert model.embed_plain
    doc = model.prepare("My order 4471 from https://shop.example never arrived", "en")
    assert "4471" in doc.text and "https://shop.example" in doc.text and "4471" not in doc.tokens


def test_model_metadata_records_what_was_trained(trained):
    meta = json.loads((trained.out_dir / META_FILE).read_text())
    assert meta["labels"] == list(LABELS)
    assert set(meta["thresholds"]) == set(LABELS)
    assert len(meta["dataset_sha256"]) == 64 and meta["library_versions"]["scikit-learn"]
    assert "test" in meta["metrics"] and meta["training_config"]["C"] > 0


def test_model_zero_labels_is_a_valid_answer(classifier):
    pred = classifier.predict("Thank you, that solved it. Have a nice weekend!")
    assert isinstance(pred.labels, list)
    assert all(0.0 <= s <= 1.0 for s in pred.scores.values())


def test_model_explanation_offsets_point_into_the_original_text(classifier):
    text = "YOU IDIOTS charged my card twice and the app crashed!!!"
    pred = classifier.predict(text)
    for spans in pred.explanation.values():
        for s in spans:
            assert text[s.start : s.end] == s.text and s.weight > 0


@pytest.mark.parametrize("text,lang", [
    ("YOU IDIOTS charged my card twice and the app crashed!!! the app the app", "en"),
    ("Списали деньги дважды, а приложение снова вылетает. Верните деньги!", "ru"),
    ("請求が二重になっています。アプリも落ちます。", "ja"),
    ("x", "en"),
])
def test_model_token_contributions_add_up_to_the_ngram_score(classifier, text, lang):
    """Explanations are exact: the tokens' shares of every label's n-gram score sum to that score (signals and the
    intercept aside), so the words shown are the ones that really moved it."""
    model = classifier.model
    fz = model.featurizer
    doc = model.prepare(text, lang)
    counts = fz.count_arrays(doc)
    idx, val = fz.weigh(counts)
    ngram = idx < fz.n_features - len(fz.signal_vocab)
    expected = val[ngram] @ model.coef[idx[ngram]]
    toks, sums = fz.token_contributions(doc, model.coef, counts)
    assert toks == list(dict.fromkeys(doc.tokens))
    np.testing.assert_allclose(sums.sum(axis=0), expected, atol=1e-9)


def test_artifact_tampered_model_is_refused(trained, tmp_path):
    copy = tmp_path / "models" / trained.out_dir.name
    shutil.copytree(trained.out_dir, copy)
    with (copy / MODEL_FILE).open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ArtifactError, match="SHA-256"):
        load_artifact(copy, copy.parent)


def test_artifact_bad_metadata_is_refused(trained, tmp_path):
    copy = tmp_path / "models" / trained.out_dir.name
    shutil.copytree(trained.out_dir, copy)
    meta = json.loads((copy / META_FILE).read_text())
    meta["labels"] = ["duplicate", "spam"]
    (copy / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="schema"):
        load_artifact(copy, copy.parent)


def test_artifact_outside_models_folder_is_refused(trained, tmp_path):
    with pytest.raises(ArtifactError, match="not inside the models folder"):
        load_artifact(trained.out_dir, tmp_path)


def test_model_max_chars_bounds_what_the_features_read(trained):
    """A model trained with max_chars reads only the opening of a long mail, cut between words; the setting travels
    with the model, so serving cuts exactly where training did."""
    import copy

    from service.core.model import clip

    assert clip("short text", 100) == "short text" and clip("abc", None) == "abc"
    assert clip("alpha beta gamma delta", 16) == "alpha beta gamma"
    model = copy.copy(trained.model)
    model.max_chars = 60
    long_mail = "The router drops the connection every evening. " + "Lorem ipsum dolor sit amet. " * 200
    doc = model.prepare(long_mail, "en")
    assert len(doc.text) <= 60 and "router" in doc.tokens and doc.tokens.count("lorem") <= 1
    assert trained.model.prepare(long_mail, "en").tokens.count("lorem") == 200


def test_model_parallel_batch_equals_single(classifier):
    from service.core.parallel import predict_parallel

    texts = ["my card got declined AGAIN!!!", "Bonjour, où est ma facture ?", "ログインできません", "thanks, all good now"] * 30
    forked = predict_parallel(classifier, texts, explain=True, workers=2, chunk=25)
    assert [(p.labels, p.scores, p.explanation) for p in forked] == [(p.labels, p.scores, p.explanation) for p in classifier.predict_batch(texts)]


def test_model_raw_window_cleans_only_the_opening_of_long_mails(trained):
    """With raw_window the model normalises only the first characters of a long mail; when markup or quoting leaves
    less than max_chars of text there, it cleans the whole message instead, so the opening is never lost."""
    import copy

    model = copy.copy(trained.model)
    model.max_chars, model.raw_window = 60, 120
    plain = "The router drops the connection every evening. " + "Lorem ipsum dolor sit amet. " * 200 + "PLEASE FIX!!!"
    windowed = model.prepare(plain, "en")
    assert windowed == model.prepare(plain[:120], "en") and "sig_exclaim" not in windowed.signals
    model.raw_window = None
    assert "sig_exclaim" in model.prepare(plain, "en").signals  # without a window the whole mail is read
    model.raw_window = 120
    html = "<div><span style='x'></span>" * 20 + "<p>Invoice charged twice, please refund.</p>" + "<p>thanks</p>" * 50
    doc = model.prepare(html, "en")
    assert "refund" in doc.tokens and "invoice" in doc.tokens


def test_features_unique_counts_matches_numpy():
    from service.core.features import unique_counts

    rng = np.random.default_rng(0)
    for size in (1, 2, 7, 500):
        ids = rng.integers(0, 40, size=size)
        want = np.unique(ids, return_counts=True)
        got = unique_counts(ids.copy())
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_model_label_embed_weight_serves_exactly_what_was_fitted(trained_with_embeddings):
    """A per-label embedding weight changes only that label's fit, and the stored coefficients are rescaled so that
    serving (one embed_weight for all labels) gives exactly the scores of a model fitted on that label's scaling."""
    from service.core import embeddings
    from service.core.langid import LanguageIdentifier, pipeline_language
    from training.data import load_dataset
    from training.train import TrainConfig, _lr, _scale_tail, fit_model

    result, path = trained_with_embeddings
    rows = load_dataset(path)
    weights = np.ones(len(rows))
    langid = LanguageIdentifier()
    cfg = TrainConfig(folds=2, label_embed_weight={"hostile": 0.5}, n_jobs=1)
    model = fit_model(rows, weights, cfg, langid, progress=False)
    base = fit_model(rows, weights, TrainConfig(folds=2, n_jobs=1), langid, progress=False)
    docs = [model.prepare(r.text, pipeline_language(langid.detect(r.text).code)) for r in rows]
    X = model.matrix(docs, cached=True)
    h, b = LABELS.index("hostile"), LABELS.index("billing")
    y = np.array([("hostile" in r.labels) for r in rows], dtype=int)
    direct = _lr(cfg).fit(_scale_tail(X, embeddings.DIM, 0.25), y).decision_function(_scale_tail(X, embeddings.DIM, 0.25))
    np.testing.assert_allclose(X @ model.coef[:, h] + model.intercept[h], direct, atol=1e-8)
    np.testing.assert_array_equal(model.coef[:, b], base.coef[:, b])
    assert not np.allclose(model.coef[-embeddings.DIM:, h], base.coef[-embeddings.DIM:, h])


@pytest.mark.parametrize("field,value", [("label_embed_weight", {"hostle": 1.0}), ("threshold_beta", {"fault": 0.0}), ("neighbours_k", -1)])
def test_model_per_label_settings_are_checked(small_dataset, field, value):
    """A misspelt label or a non-positive value in a per-label setting stops training with a clear error."""
    from dataclasses import replace

    from service.core.langid import LanguageIdentifier
    from service.errors import ConfigError
    from training.data import load_dataset
    from training.train import TrainConfig, fit_model

    rows = load_dataset(small_dataset)[:20]
    with pytest.raises(ConfigError, match=field):
        fit_model(rows, np.ones(len(rows)), replace(TrainConfig(embeddings=False), **{field: value}), LanguageIdentifier(), progress=False)


def test_model_shipped_models_without_embedding_read_a_bounded_opening():
    """Every shipped model without the embedding is the fast one: its features read a bounded opening of the message (the
    whole of a long mail cost the fast model its p99 target when a retrain forgot `--max-chars`)."""
    from conftest import ROOT

    from service.core.artifacts import list_versions, read_metadata

    shipped = ROOT / "models"
    fast = [v for v in list_versions(shipped) if not read_metadata(shipped / v).preprocessing.get("embeddings")]
    if not fast:
        pytest.skip("no shipped model without the embedding under models/")
    for v in fast:
        pre = read_metadata(shipped / v).preprocessing
        assert pre.get("max_chars") and pre.get("raw_window"), f"{v}: trained without --fast / --max-chars"
