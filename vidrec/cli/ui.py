"""Console helpers: messages and progress go to stderr, results to stdout."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


def say(msg: str) -> None:
    console.print(msg, markup=False)


def err(msg: str) -> None:
    console.print(f"[bold red]error:[/] {msg}", markup=True, highlight=False, soft_wrap=True)


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
