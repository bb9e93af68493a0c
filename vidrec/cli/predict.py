"""``vidrec predict``: name the handwritten symbol in each image file or folder."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from vidrec.cli.groups import app


@app.command("predict")
def predict(
    paths: List[Path] = typer.Argument(
        ..., help="Image files (PNG, JPEG; gray, RGB, RGBA, palette) or folders, searched recursively.", show_default=False
    ),
    model: str = typer.Option("digits", "--model", "-m", help="Model name in models/ or a .safetensors file (default: digits, the ensemble of three MNIST networks; mnist is the plain one)."),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per line and image on stdout, instead of a table."),
    save_crops: Optional[Path] = typer.Option(
        None, "--save-crops", help="Folder to write the 28x28 inputs the model saw, as PNGs.", show_default=False
    ),
) -> None:
    """Recognise the handwritten symbol in each image (one symbol per image).

    Any size and either polarity (dark on light or light on dark): each picture
    is normalised to an MNIST-like 28x28 by the same function the video path
    uses. When file names carry their label before the first underscore
    (7_2.jpg), an accuracy line follows the table. A bad input (missing,
    unreadable, not an image, blank, an empty folder) gets one line on stderr;
    the others are still processed and the exit code is 1.
    """
    import json

    from vidrec import modelstore
    from vidrec import predict as P
    from vidrec.cli.ui import console, err, out, progress, say

    loaded = modelstore.load(model)  # fail early, once, on a bad model
    info = loaded[1]
    expanded = list(P.expand_paths(paths))
    records: list[dict] = []
    failed = 0
    show_bar = not json_lines and console.is_terminal and len(expanded) > 8
    with progress(disable=not show_bar) as bar:
        task = bar.add_task("reading images", total=len(expanded), info="")
        for rec in P.predict_paths(paths, model=loaded, with_crops=save_crops is not None):
            bar.advance(task)
            if "error" in rec:
                failed += 1
                err(rec["error"])
                continue
            records.append(rec)
            if json_lines:
                print(json.dumps({k: rec[k] for k in ("path", "label", "confidence", "top3")}), flush=True)

    if save_crops is not None and records:
        written = P.save_crops(records, save_crops)
        say(f"wrote {len(written)} crops to {save_crops}")

    if not json_lines and records:
        from rich.table import Table

        table = Table(show_edge=False, header_style="bold")
        table.add_column("path", overflow="fold")
        table.add_column("label", justify="center")
        table.add_column("confidence", justify="right")
        table.add_column("top-3", no_wrap=True)
        for r in records:
            truth = P.label_from_name(r["path"])
            wrong = truth is not None and truth in info.classes and truth != r["label"]
            label = f"[red]{r['label']}[/] (true {truth})" if wrong else r["label"]
            top = " ".join(f"{c}:{p:.2f}" for c, p in r["top3"])
            table.add_row(r["path"], label, f"{r['confidence']:.3f}", top)
        out.print(table)
        acc = P.accuracy(records, info.classes)
        if acc is not None:
            right, n = acc
            out.print(f"accuracy {right}/{n} = {100.0 * right / n:.1f}% (labels from file names: the part before the first underscore)")
    if failed:
        raise typer.Exit(1)
