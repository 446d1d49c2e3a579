"""Plots for evaluation reports: confusion per label, precision-recall with thresholds, calibration, per-language F1."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(-s)
    y, s = y[order], s[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(y.sum(), 1)
    return precision, recall, s


def write_plots(details: dict, labels: Sequence[str], out: Path) -> list[Path]:
    plt = _plt()
    y_true, y_pred, scores, thr = details["y_true"], details["y_pred"], details["scores"], details["thresholds"]
    files = []
    n = len(labels)

    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.2))
    for k, (ax, lab) in enumerate(zip(np.atleast_1d(axes), labels)):
        t, p = y_true[:, k].astype(bool), y_pred[:, k].astype(bool)
        m = np.array([[np.sum(~t & ~p), np.sum(~t & p)], [np.sum(t & ~p), np.sum(t & p)]])
        ax.imshow(m, cmap="Blues")
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha="center", va="center", color="black")
        ax.set_title(lab)
        ax.set_xticks([0, 1], ["pred no", "pred yes"])
        ax.set_yticks([0, 1], ["true no", "true yes"])
    fig.tight_layout()
    files.append(_save(fig, out / "confusion.png", plt))

    fig, ax = plt.subplots(figsize=(6, 5))
    for k, lab in enumerate(labels):
        y = y_true[:, k]
        if y.sum() == 0:
            continue
        precision, recall, s = pr_curve(y, scores[:, k])
        line = ax.plot(recall, precision, label=lab)[0]
        i = int(np.argmin(np.abs(s - thr[k])))
        ax.scatter([recall[i]], [precision[i]], color=line.get_color(), zorder=3)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall (dots: chosen thresholds)")
    ax.legend()
    files.append(_save(fig, out / "precision_recall.png", plt))

    fig, ax = plt.subplots(figsize=(6, 5))
    bins = np.linspace(0, 1, 11)
    for k, lab in enumerate(labels):
        idx = np.clip(np.digitize(scores[:, k], bins) - 1, 0, 9)
        xs, ys = [], []
        for b in range(10):
            sel = idx == b
            if sel.sum() >= 5:
                xs.append(scores[sel, k].mean())
                ys.append(y_true[sel, k].mean())
        ax.plot(xs, ys, marker="o", label=lab)
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("mean predicted score")
    ax.set_ylabel("observed frequency")
    ax.set_title("Calibration")
    ax.legend()
    files.append(_save(fig, out / "calibration.png", plt))

    per_lang = details["summary"].get("per_language", {})
    if per_lang:
        fig, ax = plt.subplots(figsize=(max(5, len(per_lang) * 0.9), 4))
        names = list(per_lang)
        ax.bar(names, [per_lang[x]["macro_f1"] for x in names], color="#4477aa")
        ax.set_ylim(0, 1)
        ax.set_ylabel("macro F1")
        ax.set_title("Macro F1 per language")
        files.append(_save(fig, out / "per_language_f1.png", plt))
    return files


def _save(fig, path: Path, plt) -> Path:
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def write_html(summary: dict, plots: list[Path], out: Path, compare: dict | None = None, other_version: str | None = None) -> Path:
    """A self-contained report page (PNG plots beside it) for people who would rather look than read."""
    import html as h

    rows = "".join(f"<tr><td>{h.escape(lab)}</td><td>{v['precision']:.3f}</td><td>{v['recall']:.3f}</td><td>{v['f1']:.3f}</td>"
                   f"<td>{v['support']}</td></tr>" for lab, v in summary["per_label"].items())
    langs = "".join(f"<tr><td>{h.escape(lang)}</td><td>{v['rows']}</td><td>{v['macro_f1']:.3f}</td><td>{v['micro_f1']:.3f}</td></tr>"
                    for lang, v in summary.get("per_language", {}).items())
    cmp_html = ""
    if compare:
        cmp_rows = "".join(f"<tr><td>{h.escape(lab)}</td><td>{v['f1']:.3f}</td><td>{v['other_f1']:.3f}</td>"
                           f"<td class='{'up' if v['delta'] >= 0 else 'down'}'>{v['delta']:+.3f}</td></tr>" for lab, v in compare.items())
        cmp_html = (f"<h2>Compared with the promoted model {h.escape(other_version or '')}</h2><table><tr><th>label</th><th>F1 (this)</th>"
                    f"<th>F1 (promoted)</th><th>change</th></tr>{cmp_rows}</table>")
    imgs = "".join(f"<figure><img src='{p.name}' alt='{p.stem}'><figcaption>{p.stem.replace('_', ' ')}</figcaption></figure>" for p in plots)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Triage model report {h.escape(summary['model_version'])}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}
figure{{display:inline-block;margin:1em;vertical-align:top}}img{{max-width:min(100%,640px)}}img[alt=confusion]{{max-width:100%}}.up{{color:#070}}.down{{color:#b00}}</style></head><body>
<h1>Model {h.escape(summary['model_version'])}</h1><p>Data: {h.escape(summary['data'])} ({summary['rows']} rows).
Macro F1 <b>{summary['macro_f1']:.3f}</b>, micro F1 <b>{summary['micro_f1']:.3f}</b>.</p>
<table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table>
<h2>Per language</h2><table><tr><th>language</th><th>rows</th><th>macro F1</th><th>micro F1</th></tr>{langs}</table>
{cmp_html}<h2>Plots</h2>{imgs}</body></html>"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
