"""Model commands: data check/split, train, evaluate, classify. Thin wrappers over plain functions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from service.cli._common import console, handle_errors
from service.errors import InputError

data_app = typer.Typer(help="Dataset tools: validate and split the labelled messages.", no_args_is_help=True)
pairs_app = typer.Typer(help="The duplicate check's pair scorer: fit it for an existing model.", no_args_is_help=True)


@data_app.command("check")
@handle_errors
def data_check(data: Path = typer.Option(Path("datasets"), help="Dataset folder or JSONL file."),
               strict_quotas: bool = typer.Option(False, help="Fail when a per-language quota is missed.")) -> None:
    """Reject malformed rows, unknown labels, empty texts, exact and near duplicates; print counts and diversity."""
    from service.core.labels import LABELS
    from training.check import check

    report = check(data)
    table = Table(title=f"{report.rows} rows: counts per language x label")
    for col in ["lang", "rows", *LABELS, "none", "multi"]:
        table.add_column(col, justify="right")
    for lang, c in report.counts.items():
        table.add_row(lang, *[str(c.get(k, 0)) for k in ["rows", *LABELS, "none", "multi"]])
    console.print(table)
    console.print("diversity:", json.dumps(report.diversity))
    console.print(f"near-duplicate rate (char 5-gram Jaccard > 0.8): {report.near_duplicate_rate:.2%} "
                  f"({len(report.near_duplicates)} pairs); exact duplicates: {len(report.exact_duplicates)}")
    for p in report.problems[:50]:
        console.print(f"[red]bad row[/red] {p.where}: {p.message}")
    for a, b in report.exact_duplicates[:20]:
        console.print(f"[red]exact duplicate[/red] {a} = {b}")
    for a, b, j in report.near_duplicates[:20]:
        console.print(f"[red]near duplicate[/red] {a} ~ {b} (Jaccard {j})")
    for note in report.quotas:
        console.print(f"[yellow]quota[/yellow] {note}")
    if not report.ok or (strict_quotas and report.quotas):
        raise typer.Exit(3)
    console.print("[green]dataset OK[/green]")


@data_app.command("dedupe")
@handle_errors
def data_dedupe(data: Path = typer.Option(Path("datasets/messages"), help="Dataset folder.")) -> None:
    """Remove exact and near duplicates (char 5-gram Jaccard > 0.8) in place, keeping the first of each group."""
    from training.check import dedupe

    dropped = dedupe(data)
    console.print(f"removed {len(dropped)} rows: {', '.join(dropped[:30])}{' ...' if len(dropped) > 30 else ''}")


@data_app.command("split")
@handle_errors
def data_split(data: Path = typer.Option(Path("datasets"), help="Dataset folder."),
               test_fraction: float = typer.Option(0.2, min=0.05, max=0.5)) -> None:
    """Write datasets/test_ids.txt: a deterministic split stratified by language x label set."""
    from training.data import TEST_IDS_FILE, load_dataset, make_split

    rows = load_dataset(data)
    test = make_split(rows, test_fraction)
    header = f"# test split: {len(test)} of {len(rows)} rows, stratified by language x label set (see datasets/README.md)\n"
    (data / TEST_IDS_FILE).write_text(header + "".join(f"{i}\n" for i in sorted(test)))
    console.print(f"wrote {data / TEST_IDS_FILE}: {len(test)} test rows")


@handle_errors
def train_cmd(
    data: list[Path] = typer.Option([Path("datasets")], "--data", help="Dataset folder or JSONL file; repeat for several."),
    imported: list[Path] = typer.Option([], "--import-data", help="Rows from `triage import` (all used for training)."),
    feedback: list[Path] = typer.Option([], "--feedback", help="Rows from `triage feedback export`."),
    feedback_weight: float = typer.Option(2.0, help="Sample weight of feedback rows."),
    out: Path = typer.Option(Path("models"), help="Models folder; a new version folder is written inside."),
    version: str | None = typer.Option(None, help="Version name (default: timestamp + data/config hash)."),
    promote: bool = typer.Option(True, help="Point models/CURRENT at the new version."),
    use_embeddings: bool = typer.Option(True, "--embeddings/--no-embeddings",
                                        help="Add the multilingual sentence embedding (better on real text, ~20 ms per message)."),
    max_chars: int | None = typer.Option(None, min=50, help="Features read at most this many characters of each normalised message "
                                         "(default: the training default)."),
    fast: bool = typer.Option(False, "--fast", help="The shipped fast model's settings: no embedding, features over the opening "
                              "(--no-embeddings --max-chars 400 unless --max-chars is given)."),
    neighbours_k: int = typer.Option(20, "--neighbours", min=0,
                                     help="With the embedding: how many nearest training messages vote on each label (0: off)."),
    pairs: Path | None = typer.Option(None, help="Resend pairs for the duplicate check's pair scorer (default: <data>/resend_train when present)."),
    use_pairs: bool = typer.Option(True, "--pair-scorer/--no-pair-scorer", help="Fit the pair scorer (without it the service uses its older similarity rule)."),
) -> None:
    """Train a model on the given sources and save it as a new version."""
    from training.train import Source, TrainConfig, train

    sources = [Source(p, "dataset") for p in data] + [Source(p, "import") for p in imported] + [Source(p, "feedback") for p in feedback]
    cfg = TrainConfig(feedback_weight=feedback_weight, embeddings=use_embeddings and not fast, neighbours_k=neighbours_k)
    if fast:
        cfg.max_chars = TrainConfig.fast().max_chars
    if max_chars is not None:
        cfg.max_chars = max_chars
    result = train(sources, out, cfg, version=version, promote=promote, pairs=(pairs or True) if use_pairs else False)
    test = result.metadata["metrics"].get("test", {})
    console.print(f"[green]trained[/green] {result.metadata['version']} in {result.seconds:.1f}s -> {result.out_dir}")
    if test:
        console.print(f"test split: macro-F1 {test['macro_f1']:.3f}, micro-F1 {test['micro_f1']:.3f} on {test['rows']} rows")
    if pr := result.metadata["metrics"].get("pairs"):
        console.print(f"pair scorer ({pr.get('kind', 'logistic')}): {pr['pairs']} pairs, out of fold ROC-AUC {pr['oof_roc_auc']:.3f}, precision {pr['oof_precision']:.3f} / "
                      f"recall {pr['oof_recall']:.3f} at threshold {pr['threshold']:.2f}")


@pairs_app.command("fit")
@handle_errors
def pairs_fit_cmd(
    pairs: Path = typer.Option(Path("datasets/resend_train"), help="Folder or JSONL file of pairs {a, b, is_duplicate}."),
    models: Path = typer.Option(Path("models"), help="Models folder."),
    model: str | None = typer.Option(None, "--model", help="Version whose classifier is kept (default: the current one)."),
    version: str = typer.Option(..., help="Name of the new version."),
    promote: bool = typer.Option(False, help="Point models/CURRENT at the new version."),
    data: Path | None = typer.Option(None, help="Dataset folder whose training split gives the short negatives (default: the "
                                     "folder above --pairs when it holds messages/, as `triage train` uses)."),
) -> None:
    """Fit the duplicate check's pair scorer for an existing model and save it as a new version (classifier unchanged)."""
    from training.pair_fit import refit_pairs

    if data is None and (pairs.parent / "messages").is_dir():
        data = pairs.parent
    out, r = refit_pairs(models, model, pairs, version, promote, data=data)
    console.print(f"[green]saved[/green] {out}: {r['kind']} pair scorer on {r['pairs']} pairs, out of fold ROC-AUC {r['oof_roc_auc']:.3f}, "
                  f"precision {r['oof_precision']:.3f} / recall {r['oof_recall']:.3f} at threshold {r['threshold']:.2f}")


def _print_summary(summary: dict) -> None:
    table = Table(title=f"model {summary['model_version']} on {summary['data']} ({summary['rows']} rows)")
    for col in ["label", "precision", "recall", "F1", "support"]:
        table.add_column(col, justify="right")
    for lab, v in summary["per_label"].items():
        table.add_row(lab, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"]))
    table.add_row("macro", "", "", f"{summary['macro_f1']:.3f}", "")
    table.add_row("micro", "", "", f"{summary['micro_f1']:.3f}", "")
    console.print(table)
    langs = Table(title="per language")
    for col in ["lang", "rows", "macro F1", "micro F1"]:
        langs.add_column(col, justify="right")
    for lang, v in summary["per_language"].items():
        langs.add_row(lang, str(v["rows"]), f"{v['macro_f1']:.3f}", f"{v['micro_f1']:.3f}")
    console.print(langs)


@handle_errors
def evaluate_cmd(
    data: Path = typer.Option(..., help="JSONL rows with 'text' and 'labels' (other fields ignored)."),
    model: Path | None = typer.Option(None, help="Model version folder (default: the current model)."),
    report: Path | None = typer.Option(None, help="Folder for metrics.json and plots."),
    compare_with: Path | None = typer.Option(None, "--compare", help="Another model folder: print per-label F1 differences."),
) -> None:
    """Per-label precision/recall/F1, macro and micro F1, a per-language table; optional report and comparison."""
    from training.evaluate import compare, evaluate

    clf = _load_classifier(model)
    result = evaluate(data, clf, report)
    _print_summary(result.summary)
    if report:
        console.print(f"wrote {report / 'metrics.json'} and plots")
    if compare_with is not None:
        other = evaluate(data, _load_classifier(compare_with), None).summary
        table = Table(title=f"{clf.version} vs {other['model_version']}")
        for col in ["label", "F1", "other F1", "delta"]:
            table.add_column(col, justify="right")
        for lab, v in compare(result.summary, other).items():
            table.add_row(lab, f"{v['f1']:.3f}", f"{v['other_f1']:.3f}", f"{v['delta']:+.3f}")
        console.print(table)


def _load_classifier(model: Path | None):
    from service.core.classifier import Classifier
    from service.settings import get_settings

    if model is None:
        return Classifier.load(get_settings().models_dir)
    return Classifier.load(model.parent, model.name)


@handle_errors
def classify_cmd(
    input: str = typer.Option("-", "--input", "-i", help="JSONL or CSV file, or - for standard input."),
    output: str = typer.Option("-", "--output", "-o", help="JSONL output file, or - for standard output."),
    fmt: str = typer.Option("auto", "--format", help="jsonl, csv or auto (by file name)."),
    model: Path | None = typer.Option(None, help="Model version folder (default: the current model)."),
    workers: int | None = typer.Option(None, min=1, help="Processes for large inputs (default: one per core; models with the "
                                       "sentence embedding always use one)."),
) -> None:
    """Classify rows with "text" (optional "id", "language"); one JSONL result per row, in input order."""
    from service.core.batch_io import classify_rows, read_rows

    if fmt not in ("auto", "jsonl", "csv"):
        raise InputError(f"--format must be jsonl, csv or auto, not {fmt!r}")
    if input == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(input)
        if not path.is_file():
            raise InputError(f"input file {input} does not exist")
        data = path.read_bytes()
    kind = fmt if fmt != "auto" else ("csv" if input.lower().endswith(".csv") else "jsonl")
    clf = _load_classifier(model)
    out = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")  # noqa: SIM115
    errors = total = 0
    try:
        for result in classify_rows(clf, read_rows(data, kind), workers=workers):
            total += 1
            errors += "error" in result
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    console.print(f"classified {total - errors} rows, {errors} rows with errors")
