"""Console helpers: messages and progress go to stderr, results to stdout."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


def say(msg: str) -> None:
    console.print(msg, markup=False)


def err(msg: str) -> None:
    console.print(f"[bold red]error:[/] {msg}", markup=True, highlight=False, soft_wrap=True)


def per_class_table(title: str, rows: list[dict], label: str):
    """The per-class table of an evaluation: one row per class with its count and accuracy."""
    from rich.table import Table

    t = Table(title=title)
    t.add_column(label)
    t.add_column("n", justify="right")
    t.add_column("accuracy", justify="right")
    for row in rows:
        t.add_row(row["class"], str(row["n"]), f"{row['accuracy']:.2%}")
    return t


def progress(**kw):
    """A rich progress bar with the columns every long job here uses."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        **kw,
    )
