"""``vidrec analyze filters|vgg16`` and ``vidrec experiment filterbanks``."""

from __future__ import annotations

from pathlib import Path

import typer

from vidrec.cli.groups import analyze_app, experiment_app

DEFAULT_OUT = Path("out/analyze")


@analyze_app.command("filters")
def analyze_filters(
    model: str = typer.Option("mnist", help="Model name in models/ or a .safetensors file (any model with a convolution)."),
    out: Path = typer.Option(DEFAULT_OUT, help="Folder for the PNGs and the CSV."),
) -> None:
    """The first layer's filters (PNG grid and table) and their effect on the first MNIST training digit."""
    from vidrec import analysis
    from vidrec.cli.ui import out as stdout
    from vidrec.cli.ui import say

    res = analysis.analyze_filters(model, out)
    stdout.print(analysis.weights_table(res["layer"], title=res["title"], names=res["names"]))
    for f in res["files"]:
        say(f"wrote {f}")


@analyze_app.command("vgg16")
def analyze_vgg16(
    image: Path = typer.Option(None, help="Image (or video: its first frame) to run the filters on. "
                               "Default: a frame of a recording in recordings/, else an MNIST digit."),
    weights: Path = typer.Option(None, help="VGG16 state-dict file (.pth/.pt or .safetensors) instead of torchvision's ImageNet weights."),
    random_init: bool = typer.Option(False, "--random-init", help="Use untrained (randomly initialised) weights; said on every output."),
    out: Path = typer.Option(DEFAULT_OUT, help="Folder for the PNGs and the JSON."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """VGG16's first two convolutions: shapes, filter 0's values, the 64 filters, responses on an image."""
    import json

    from rich.table import Table

    from vidrec import vgg
    from vidrec.cli.ui import out as stdout
    from vidrec.cli.ui import say

    res = vgg.analyze(out, image=image, weights=weights, random_init=random_init)
    if json_out:
        print(json.dumps(res))
        return
    caption = f"weights: {res['weights']}"
    t = Table(title="VGG16: the first two convolutions", caption=caption)
    for c in ("layer", "weight shape", "bias shape", "mean activation on the image"):
        t.add_column(c)
    for name, shp in res["layers"].items():
        t.add_row(name, str(tuple(shp["weight"])), str(tuple(shp["bias"])), f"{res['mean_activation'][name]:.4f}")
    stdout.print(t)
    f0 = res["first_filter"]
    t2 = Table(title=f"conv1_1 filter 0 (3x3 per input channel), bias {f0['bias']:+.4f}", caption=caption)
    for ch in f0["channels"]:
        t2.add_column(ch, no_wrap=True)
    rows = ["\n".join(" ".join(f"{v:+.4f}" for v in r) for r in ch) for ch in f0["weight"]]
    t2.add_row(*rows)
    stdout.print(t2)
    say(f"image: {res['image']}")
    for f in res["files"]:
        say(f"wrote {f}")


@experiment_app.command("filterbanks")
def experiment_filterbanks(
    epochs: int = typer.Option(None, min=1, help="Epochs per bank. Default: those of `vidrec train mnist`."),
    bank: list[str] = typer.Option(None, "--bank", help="Only this first layer (repeatable): gabor, laplacian, gaussian, learned. Default: all four."),
    limit: int = typer.Option(0, min=0, help="Train on the first N training digits only (0: all); for quick looks."),
    out: Path = typer.Option(Path("out/experiment/filterbanks"), help="Folder for the models, PNGs, CSV and JSON."),
) -> None:
    """Train SeedNet with each first layer (fixed Gabor, Laplacian, Gaussian banks, learned) the same way; compare."""
    from vidrec import analysis
    from vidrec.cli.ui import console, progress, say
    from vidrec.cli.ui import out as stdout
    from vidrec.errors import VidrecError
    from vidrec.filterbanks import bank_names

    for b in bank or []:
        bank_names(b)  # an unknown name fails here, before any progress bar or training
    with progress() as bar:
        task = bar.add_task("training", total=None, info="")

        def on_start(name):
            bar.reset(task, total=None, description=f"{name:9s}", info="")

        def on_batch(done, total):
            bar.update(task, completed=done, total=total)

        def on_epoch(epoch, h):
            bar.update(task, info=f"epoch {epoch}: acc {h.test_accuracy[-1]:.2%}")

        try:
            rows = analysis.filterbank_experiment(out, epochs=epochs, banks=bank or None, limit=limit,
                                                  on_epoch=on_epoch, on_batch=on_batch, on_start=on_start,
                                                  say=lambda s: console.print(s, markup=False))
        except KeyboardInterrupt:
            raise VidrecError("interrupted; the comparison table was not written", code=130) from None
    stdout.print(analysis.filterbank_table(rows))
    say(f"wrote {out / 'filterbanks.csv'}, {out / 'filterbanks.json'} and {len(rows)} bank PNGs in {out}")
