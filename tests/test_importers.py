"""Import of help-desk exports into dataset rows, on export files we wrote in each product's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.errors import DatasetError
from training.importers import import_export, parse_mapping

FIX = Path(__file__).parent / "fixtures"


def test_importers_zendesk_maps_tags_and_reports_skips():
    res = import_export(FIX / "zendesk_export.json", "zendesk", parse_mapping(["billing_issue=billing", "outage=fault", "angry=hostile"]))
    by_id = {r["id"]: r for r in res.rows}
    assert by_id["zendesk-101"]["labels"] == ["billing"] and "<p>" not in by_id["zendesk-101"]["text"]
    assert by_id["zendesk-102"]["labels"] == ["fault", "hostile"]
    assert by_id["zendesk-104"]["labels"] == []
    assert res.skipped == [("103", "no message text")]


def test_importers_freshdesk_uses_type_as_a_tag():
    res = import_export(FIX / "freshdesk_export.json", "freshdesk", parse_mapping(["Billing=billing", "repeat=duplicate", "problem=fault"]))
    assert [r["labels"] for r in res.rows] == [["billing"], ["duplicate", "fault"]]


def test_importers_zammad_takes_the_first_customer_article():
    res = import_export(FIX / "zammad_export.json", "zammad", parse_mapping([]))
    assert "I still cannot log in" in res.rows[0]["text"] and "how can we help" not in res.rows[0]["text"]
    assert res.rows[0]["labels"] == ["duplicate", "fault"]
    assert res.skipped[0][0] == "32"


def test_importers_csv_with_named_columns_via_cli(tmp_path):
    out = tmp_path / "rows.jsonl"
    res = CliRunner().invoke(app, ["import", str(FIX / "generic.csv"), "--format", "csv", "--out", str(out), "--text-column", "message",
                                   "--tags-column", "category", "--map", "offtopic=out_of_scope", "--map", "abuse=hostile", "--map", "outage=fault"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows[0]["labels"] == ["out_of_scope"] and rows[1]["labels"] == ["fault", "hostile"]


def test_importers_bad_mapping_is_a_clear_error():
    with pytest.raises(DatasetError, match="TAG=LABEL"):
        parse_mapping(["outage=broken"])


def test_importers_csv_without_text_column_is_a_clear_error():
    with pytest.raises(DatasetError, match="no 'text' column"):
        import_export(FIX / "generic.csv", "csv", parse_mapping([]))
