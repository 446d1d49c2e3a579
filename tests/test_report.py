"""`triage report` writes an HTML page with plots that renders in a real headless browser."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from service.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report_dir(models_dir, small_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    model = next(p for p in models_dir.iterdir() if p.is_dir())
    res = CliRunner().invoke(app, ["report", "--data", str(small_dataset), "--model", str(model), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_report_writes_page_and_plots(report_dir):
    page = (report_dir / "index.html").read_text()
    for png in ("confusion.png", "precision_recall.png", "calibration.png", "per_language_f1.png"):
        assert png in page and (report_dir / png).stat().st_size > 1000
    assert "Macro F1" in page and "Per language" in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian package 'chromium'); `make test` installs it when it can")
def test_report_renders_in_headless_chromium(report_dir, tmp_path):
    shot = tmp_path / "page.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400"]
    page = f"file://{report_dir / 'index.html'}"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", page], capture_output=True, timeout=120, check=False)
    assert shot.is_file() and shot.stat().st_size > 20_000
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=False).stdout
    assert "<table>" in dom and "precision_recall.png" in dom
    from PIL import Image

    with Image.open(shot) as img:
        colours = img.convert("RGB").resize((64, 64)).getcolors(64 * 64)
    assert colours is not None and len(colours) > 20  # plots and tables drawn, not a blank page
