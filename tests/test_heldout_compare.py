"""training.heldout_compare: trains each setting without the held-out slice and scores that slice, one line per setting."""

from __future__ import annotations

import json

import pytest

from tests.conftest import small_rows
from training.heldout_compare import compare, main


@pytest.fixture()
def sliced_data(tmp_path):
    (tmp_path / "messages").mkdir()
    rows = small_rows(per_lang=40)
    (tmp_path / "messages" / "rows.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return tmp_path, sum(r["id"].startswith("es-") for r in rows)


def test_heldout_compare_scores_each_variant_on_the_unseen_slice(sliced_data, capsys):
    data, n_es = sliced_data
    assert n_es > 0
    out = compare(data, ("es-",), {"plain": {"embeddings": False, "folds": 2},
                                  "none3": {"embeddings": False, "folds": 2, "none_weight": 3.0}}, real=None)
    assert [line["variant"] for line in out] == ["plain", "none3"]
    for line in out:
        assert 0.0 < line["heldout_macro"] <= 1.0 and len(line["heldout"]) == 5 and "real_macro" not in line
    assert out[0]["heldout"] != out[1]["heldout"]  # weighting no-label rows changes the model
    printed = capsys.readouterr().out
    assert f"held-out rows {n_es}" in printed and "plain" in printed and "none3" in printed


def test_heldout_compare_refuses_bad_input(sliced_data):
    data, _ = sliced_data
    with pytest.raises(SystemExit, match="no rows start with"):
        compare(data, ("zz-",), {"x": {"embeddings": False}}, real=None)
    with pytest.raises(SystemExit, match="NAME=JSON"):
        main(["--data", str(data), "--variant", "justaname"])
    with pytest.raises(SystemExit, match="not JSON"):
        main(["--data", str(data), "--variant", "x={oops"])
