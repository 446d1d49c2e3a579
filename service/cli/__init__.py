"""The `triage` command line. Each command is a thin wrapper; heavy imports happen inside commands."""

from __future__ import annotations

import typer

from service.cli import lifecycle_cmds, model_cmds, ops_cmds, store_cmds

app = typer.Typer(help="Help-desk triage: train, evaluate, classify and serve.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(model_cmds.data_app, name="data")
app.add_typer(model_cmds.pairs_app, name="pairs")
app.command("train")(model_cmds.train_cmd)
app.command("evaluate")(model_cmds.evaluate_cmd)
app.command("classify")(model_cmds.classify_cmd)
app.command("serve")(ops_cmds.serve_cmd)
app.command("ensure-model")(ops_cmds.ensure_model_cmd)
app.add_typer(ops_cmds.models_app, name="models")
app.add_typer(store_cmds.keys_app, name="keys")
app.add_typer(store_cmds.db_app, name="db")
app.add_typer(store_cmds.store_app, name="store")
app.command("import")(lifecycle_cmds.import_cmd)
app.command("review-queue")(lifecycle_cmds.review_queue_cmd)
app.command("report")(lifecycle_cmds.report_cmd)
app.command("drift")(lifecycle_cmds.drift_cmd)
app.add_typer(lifecycle_cmds.feedback_app, name="feedback")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
