"""The nearest-training-messages vote: its arithmetic, its place in calibration, and old artifacts without it."""

from __future__ import annotations

import copy
import json

import numpy as np

from service.core import neighbours
from service.core.classifier import Classifier


def _unit(*rows):
    m = np.array(rows, dtype=float)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_neighbours_vote_is_similarity_weighted_and_ignores_opposites():
    refs = _unit([1, 0], [1, 1], [0, 1], [-1, 0])
    labels = np.array([[1, 0], [1, 1], [0, 1], [1, 1]])
    vote = neighbours.fractions(_unit([1, 0]), refs, labels, k=3)
    s = 1 / np.sqrt(2)  # similarity of [1, 1] to the query; [0, 1] has 0, [-1, 0] is not among the 3 nearest
    np.testing.assert_allclose(vote[0], [(1 + s) / (1 + s + 0), s / (1 + s)], rtol=1e-6)
    everything = neighbours.fractions(_unit([1, 0]), refs, labels, k=10)  # more than there are: all vote, the opposite with weight 0
    np.testing.assert_allclose(everything, vote, rtol=1e-6)


def test_neighbours_without_any_similar_message_give_the_base_rate():
    refs = _unit([1, 0], [1, 1])
    labels = np.array([[1, 0], [0, 0]])
    np.testing.assert_allclose(neighbours.fractions(np.zeros((1, 2)), refs, labels, k=2)[0], [0.5, 0.0])
    np.testing.assert_allclose(neighbours.fractions(_unit([-1, -1]), refs, labels, k=2)[0], [0.5, 0.0])


def test_neighbours_out_of_fold_never_counts_a_row_itself():
    vectors = _unit([1, 0], [1, 0.01], [0, 1], [0.01, 1])
    labels = np.array([[1], [0], [0], [1]])
    oof = neighbours.out_of_fold(vectors, labels, k=1, folds=4, seed=0)
    np.testing.assert_allclose(oof[:, 0], [0, 1, 1, 0], atol=1e-6)  # each row sees only its twin, whose label is the other one


def test_neighbours_logit_is_finite_for_unanimous_votes():
    assert np.all(np.isfinite(neighbours.logit(np.array([0.0, 0.5, 1.0]))))


def test_neighbours_take_part_in_served_scores_batch_equals_single(trained_with_embeddings):
    result, path = trained_with_embeddings
    clf = Classifier.load(result.out_dir.parent)
    assert clf.model.uses_neighbours and clf.model.neighbours.dtype == np.float16
    texts = [json.loads(x)["text"] for x in path.read_text().splitlines()][:6]
    batch = clf.predict_batch(texts, explain=False)
    for text, together in zip(texts, batch):
        alone = clf.predict(text, explain=False)
        assert alone.scores == together.scores and alone.labels == together.labels
    # without the vote the same message scores differently: the neighbours are really used
    pred = clf.predict(texts[0], explain=False)
    muted = copy.copy(clf.model)
    muted.calib_c = np.zeros_like(muted.calib_c)
    assert Classifier(muted, clf.metadata, clf.langid).predict(texts[0], explain=False).scores != pred.scores


def test_neighbours_absent_from_an_older_artifact_change_nothing(classifier):
    model = classifier.model
    state = model.__getstate__()
    for name in ("neighbours", "neighbour_labels", "neighbour_k", "calib_c"):
        state.pop(name, None)
    old = type(model).__new__(type(model))
    old.__setstate__(state)
    assert not old.uses_neighbours and old.neighbour_vote(np.ones(384) / np.sqrt(384)) is None
    text = "The app crashed again and you charged me twice"
    assert Classifier(old, classifier.metadata, classifier.langid).predict(text).scores == classifier.predict(text).scores
