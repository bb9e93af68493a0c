"""``vidrec train pairs``: the reader of two touching digits (see :mod:`vidrec.pairs`)."""

from __future__ import annotations

from pathlib import Path

import typer

from vidrec.cli.groups import train_app


@train_app.command("pairs")
def train_pairs(
    samples: int = typer.Option(150_000, min=100, help="Training marks composed from MNIST's training digits (6 in 10 two touching digits, the rest one)."),
    epochs: int = typer.Option(6, min=1, help="Passes over the composed marks."),
    seed: int = typer.Option(2502, help="Random seed of the composition and the training; the same seed on the same machine gives identical weights."),
    out: Path = typer.Option(None, help="Weights file to write (.safetensors), card beside it. Default: models/pairs.safetensors."),
) -> None:
    """Train the reader of two touching digits that multidigit asks about wide, doubtful marks.

    Marks are composed from MNIST digits: pairs side by side, overlapping by up to a
    fifth of their height or just apart, and single digits, most stretched wide. The
    default takes about 17 minutes on two CPU cores (2 to compose the marks, 15 to
    train). Writes, atomically (Ctrl-C keeps
    the previous model): the weights (safetensors) and a card (JSON: accuracy on marks
    composed from MNIST's test digits, for pairs and single digits apart; the command
    that remakes it).
    """
    from vidrec import pairs
    from vidrec.cli.ui import console, progress, say
    from vidrec.errors import VidrecError
    from vidrec.modelstore import models_dir

    out = out or models_dir() / "pairs.safetensors"
    if out.suffix != ".safetensors":
        raise VidrecError(f"--out must end in .safetensors, got {out}")
    with progress() as bar:
        composing = bar.add_task("composing marks", total=samples, info="")
        task = bar.add_task("training", total=None, info="")

        def on_progress(done, total):
            bar.update(composing, completed=done, total=total)

        def on_batch(done, total):
            bar.update(task, completed=done, total=total)

        def on_epoch(epoch, h):
            bar.update(task, info=f"acc {h.test_accuracy[-1]:.2%}")
            console.print(f"epoch {epoch}/{epochs}  train loss {h.train_loss[-1]:.4f}  "
                          f"test loss {h.test_loss[-1]:.4f}  test accuracy {h.test_accuracy[-1]:.2%}")

        try:
            card = pairs.train_pairs(out, samples=samples, epochs=epochs, seed=seed, on_epoch=on_epoch,
                                     on_batch=on_batch, say=say, on_progress=on_progress)
        except KeyboardInterrupt:
            raise VidrecError(f"interrupted; nothing written, {out} left as it was", code=130) from None
    say(f"test accuracy {card['test_accuracy']:.2%} (pairs {card['test_accuracy_pairs']:.2%}, "
        f"single digits {card['test_accuracy_singles']:.2%}) after {card['train_seconds']} s of training")
    say(f"wrote {out}, {out.with_suffix('.json')}")
