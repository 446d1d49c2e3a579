"""The compiled explanation loop gives the numpy code's numbers, token for token, in every language."""

from __future__ import annotations

import numpy as np
import pytest

from service.core import kernels

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed (or TRIAGE_COMPILED=0): nothing compiled to compare")


CASES = [  # every supported language, a repeated token, a one-letter message, punctuation only
    ("YOU IDIOTS charged my card twice and the app crashed!!! the app the app", "en"),
    ("Списали деньги дважды, а приложение снова вылетает. Верните деньги!", "ru"),
    ("請求が二重になっています。アプリも落ちます。", "ja"),
    ("Mul on arve kaks korda maksmata ja internet ei tööta juba kolmandat päeva", "et"),
    ("Hallo, seit gestern geht das WLAN nicht mehr, die Rechnung kam trotzdem doppelt.", "de"),
    ("Bonjour, je n'arrive plus à me connecter, et vous m'avez facturé deux fois ce mois-ci", "fr"),
    ("hola!! me cobraron dos veces y la app no abre, ya escribí tres veces", "es"),
    ("x", "en"),
    ("!!! ??? ...", "en"),
]


@pytest.mark.parametrize("text,lang", CASES)
def test_kernels_token_sums_match_numpy(classifier, monkeypatch, text, lang):
    model = classifier.model
    fz = model.featurizer
    doc = model.prepare(text, lang)
    counts = fz.count_arrays(doc)
    weighed = fz.weigh(counts)
    results = {}
    for compiled in (True, False):
        monkeypatch.setattr(kernels, "AVAILABLE", compiled)
        for columns in (None, [4], [3, 0]):
            results[compiled, str(columns)] = fz.token_contributions(doc, model.coef, counts, weighed, columns=columns)
    for columns in (None, [4], [3, 0]):
        fast, slow = results[True, str(columns)], results[False, str(columns)]
        assert fast[0] == slow[0]
        np.testing.assert_allclose(fast[1], slow[1], rtol=1e-12, atol=1e-12)


def test_kernels_explanation_is_the_same_with_and_without_compiling(classifier, monkeypatch):
    model = classifier.model
    text = "Third time I write: you charged my card twice and the router still blinks red. Fix it!!!"
    doc = model.prepare(text, "en")
    spans = {}
    for compiled in (True, False):
        monkeypatch.setattr(kernels, "AVAILABLE", compiled)
        spans[compiled] = model.explain(text, doc, list(model.labels))
    assert any(spans[True].values())
    assert spans[True] == spans[False]


@pytest.mark.parametrize("text,lang", CASES)
def test_kernels_counts_weights_and_scores_match_numpy(classifier, monkeypatch, text, lang):
    model = classifier.model
    doc = model.prepare(text, lang)
    out = {}
    for compiled in (True, False):
        monkeypatch.setattr(kernels, "AVAILABLE", compiled)
        counts = model.featurizer.count_arrays(doc)
        idx, val = model.featurizer.weigh(counts)
        decision, _ = model.decision_and_embedding(doc, counts, (idx, val))
        out[compiled] = (counts, idx, val, decision)
    for fast, slow in zip(out[True][0][:4], out[False][0][:4]):
        np.testing.assert_array_equal(fast, slow)
    assert list(out[True][0][4]) == list(out[False][0][4])
    np.testing.assert_array_equal(out[True][1], out[False][1])
    np.testing.assert_allclose(out[True][2], out[False][2], rtol=1e-13)
    np.testing.assert_allclose(out[True][3], out[False][3], rtol=1e-12, atol=1e-12)
