"""``vidrec train mnist`` and ``vidrec eval mnist``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from vidrec.cli.groups import eval_app, train_app
from vidrec.trainconfig import MNIST_DEFAULT as D


class FirstLayer(str, Enum):
    learned = "learned"
    gabor = "gabor"
    laplacian = "laplacian"
    gaussian = "gaussian"


class Export(str, Enum):
    none = "none"
    onnx = "onnx"


def _default_out() -> Path:
    from vidrec.modelstore import models_dir

    return models_dir() / "mnist.safetensors"


@train_app.command("mnist")
def train_mnist(
    epochs: int = typer.Option(D.epochs, min=1, help="Passes over the 60,000 training digits."),
    batch_size: int = typer.Option(D.batch_size, min=1, help="Digits per optimiser step."),
    lr: float = typer.Option(D.lr, min=0.0, help="Peak learning rate of the one-cycle schedule."),
    seed: int = typer.Option(D.seed, help="Random seed; the same seed on the same machine gives identical weights."),
    optimizer: str = typer.Option(D.optimizer, help="adamw, adam or sgd."),
    augment: bool = typer.Option(D.augment, "--augment/--no-augment", help="Small random affine warps and thicker strokes."),
    augment_strength: float = typer.Option(D.augment_strength, min=0.0, help="Size of the warps: 1.0 is +-12 deg rotation, +-15% scale, +-0.15 shear, +-2 px shift."),
    first_layer: FirstLayer = typer.Option(FirstLayer.learned, help="Replace the first convolution by a fixed, frozen filter bank."),
    out: Path = typer.Option(None, help="Weights file to write (.safetensors); card, loss plot beside it. Default: models/mnist.safetensors."),
    export: Export = typer.Option(Export.none, help="Also write an ONNX file (for Netron)."),
    limit: int = typer.Option(0, min=0, help="Train on the first N training digits only (0: all); for quick checks."),
    european: float = typer.Option(0.0, min=0.0, max=1.0, help="Draw European 1s and 7s into this share of MNIST's: a flag at the top of a 1 (a foot on two thirds as many), a bar across a 7. MNIST's American writers have neither; members of the digits ensemble use 0.3."),
    hooked_nines: float = typer.Option(0.0, min=0.0, max=1.0, help="Curl the tail of this share of MNIST's 9s to the left, as many writers end a 9 (it then looks like a g); MNIST's writers hardly ever do."),
) -> None:
    """Train the seed CNN on MNIST, fast: the data in memory, a one-cycle schedule.

    Writes, atomically (Ctrl-C keeps the previous model): the weights (safetensors),
    a model card (JSON: accuracy overall and per class, config, seed, time, data
    checksums, this command line) and the loss curves (PNG).
    """
    from vidrec import digits
    from vidrec.cli.ui import console, progress, say
    from vidrec.errors import VidrecError
    from vidrec.trainconfig import TrainConfig

    out = out or _default_out()
    if out.suffix != ".safetensors":
        raise VidrecError(f"--out must end in .safetensors, got {out}")
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, optimizer=optimizer, augment=augment,
                      augment_strength=augment_strength)
    with progress() as bar:
        task = bar.add_task("training", total=None, info="")

        def on_batch(done, total):
            bar.update(task, completed=done, total=total)

        def on_epoch(epoch, h):
            line = (f"epoch {epoch}/{epochs}  train loss {h.train_loss[-1]:.4f}  "
                    f"test loss {h.test_loss[-1]:.4f}  test accuracy {h.test_accuracy[-1]:.2%}")
            bar.update(task, info=f"acc {h.test_accuracy[-1]:.2%}")
            console.print(line)

        try:
            card = digits.train_mnist(cfg, out, first_layer.value, on_epoch, on_batch,
                                      export_onnx=export is Export.onnx, say=say, limit=limit, european=european,
                                      hooked=hooked_nines)
        except KeyboardInterrupt:
            raise VidrecError(f"interrupted; nothing written, {out} left as it was", code=130) from None
    say(f"test accuracy {card['test_accuracy']:.2%} after {card['train_seconds']} s of training")
    say(f"wrote {out}, {out.with_suffix('.json')}, {out.with_suffix('.loss.png')}")


@eval_app.command("mnist")
def eval_mnist(
    model: str = typer.Option("mnist", help="Model name in models/ or a .safetensors file."),
    out: Path = typer.Option(Path("out/eval-mnist"), help="Folder for the PNG figures."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """MNIST test accuracy, a per-class table, the confusion matrix PNG and the first 9 test digits PNG."""
    import json

    from vidrec import digits
    from vidrec.cli.ui import out as stdout
    from vidrec.cli.ui import per_class_table, say

    res = digits.eval_mnist(model, out, say=say)
    if json_out:
        print(json.dumps(res))
        return
    stdout.print(per_class_table(f"{model}: MNIST test accuracy {res['test_accuracy']:.2%} "
                                 f"({res['errors']} errors of {res['n']})", res["per_class"], "digit"))
    for f in res["files"]:
        say(f"wrote {f}")
