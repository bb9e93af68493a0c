"""Train and evaluate the digit model: the plain functions behind `vidrec train|eval mnist`."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

from vidrec import datasets
from vidrec.trainconfig import MNIST_DEFAULT, TrainConfig  # noqa: F401
from vidrec.training import History


def data_sha256(name: str = "mnist") -> dict[str, str]:
    return dict(datasets.spec_for(name).sha256)


def command_line() -> str | None:
    """The command as typed, or None when not run as the `vidrec` program (e.g. under pytest)."""
    argv = sys.argv[:]
    if not (argv and argv[0].endswith(("vidrec", "__main__.py"))):
        return None
    argv[0] = "vidrec"
    return " ".join(argv)


def reproduce_command(cfg: TrainConfig, first_layer: str = "learned", limit: int = 0) -> str:
    """`vidrec train mnist` with every setting spelled out, so a card says how to remake its model."""
    parts = ["vidrec train mnist", f"--epochs {cfg.epochs}", f"--batch-size {cfg.batch_size}", f"--lr {cfg.lr:g}",
             f"--seed {cfg.seed}", f"--optimizer {cfg.optimizer}",
             "--augment" if cfg.augment else "--no-augment"]
    if cfg.augment:
        parts.append(f"--augment-strength {cfg.augment_strength:g}")
    parts.append(f"--first-layer {first_layer}")
    if limit:
        parts.append(f"--limit {limit}")
    return " ".join(parts)


def train_mnist(
    cfg: TrainConfig,
    out: str | os.PathLike,
    first_layer: str = "learned",
    on_epoch: Callable[[int, History], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    export_onnx: bool = False,
    say: Callable[[str], None] = lambda s: None,
    limit: int = 0,
) -> dict:
    """Train the seed network on MNIST and write weights, loss plot and card atomically.

    Nothing is written until training has finished, so Ctrl-C keeps the previous
    model in place. Returns the model card.
    """
    import torch

    from vidrec import modelstore, nets, plots, training

    from vidrec.atomic import check_writable

    if export_onnx:
        _check_onnx()
    out = Path(out)
    check_writable(out)  # before a minute of training, not after it
    train = datasets.load_tensors("mnist", True, say=say)
    if limit:
        train = (train[0][:limit], train[1][:limit])
    test = datasets.load_tensors("mnist", False, say=say)
    training.seed_everything(cfg.seed)
    model = nets.SeedNet()
    if first_layer != "learned":
        from vidrec import filterbanks

        filterbanks.apply_bank(model, first_layer)
    t0 = time.perf_counter()
    hist = training.fit(model, train, test, cfg, on_epoch=on_epoch, on_batch=on_batch)
    wall = time.perf_counter() - t0
    _, acc, pred = training.evaluate(model, *test)
    y = test[1]
    per_class = {str(c): round(float((pred[y == c] == c).float().mean()), 4) for c in range(10)}
    mean, std = datasets.NORMALISATION["mnist"]
    info = modelstore.ModelInfo(arch="seednet", arch_kwargs={}, classes=[str(i) for i in range(10)], mean=mean, std=std)
    card = {
        "name": out.stem,
        "task": "handwritten digits (MNIST)",
        "arch": "seednet",
        "first_layer": first_layer,
        "classes": info.classes,
        "test_accuracy": round(acc, 4),
        "per_class_accuracy": per_class,
        "history": {k: v for k, v in hist.as_dict().items() if k != "train_curve"},
        "config": cfg.as_dict(),
        "train_examples": len(train[0]),
        "seed": cfg.seed,
        "train_seconds": round(wall, 1),
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.system()}",
        "torch": torch.__version__,
        "data": {"name": "mnist", "sha256": data_sha256()},
        "command": command_line(),
        "reproduce": reproduce_command(cfg, first_layer, limit),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    n_train = len(train[0])
    plots.loss_curves(
        out.with_suffix(".loss.png"),
        hist.train_curve,
        [(n_train * e, tl) for e, tl in zip(hist.epoch, hist.test_loss)],
        title=f"{out.stem}: train and test loss (test accuracy {acc:.2%})",
    )
    modelstore.save(model, info, out, card)
    if export_onnx:
        export_to_onnx(model, out.with_suffix(".onnx"))
    return card


def _check_onnx() -> None:
    from vidrec.errors import VidrecError

    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise VidrecError("--export onnx needs the onnx and onnxscript packages: pip install 'vidrec[onnx]'") from None


def export_to_onnx(model, path: Path) -> Path:
    """An ONNX file for viewing the network in Netron."""
    import torch

    from vidrec.atomic import atomic_path

    _check_onnx()
    with atomic_path(path) as tmp:
        torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), str(tmp), input_names=["image"], output_names=["log_probs"])
    return path


def eval_mnist(model_name: str, out_dir: str | os.PathLike, say: Callable[[str], None] = lambda s: None) -> dict:
    """Test accuracy, per-class table, confusion matrix PNG and the seed's first-9 figure."""
    import numpy as np

    from vidrec import modelstore, plots, training

    model, info, _ = modelstore.load(model_name)
    x, y = datasets.load_tensors("mnist", False, say=say)
    loss, acc, pred = training.evaluate(model, x, y)
    out_dir = Path(out_dir)
    cm = plots.confusion_matrix(y.numpy(), pred.numpy(), 10)
    cm_png = plots.confusion_matrix_png(cm, info.classes, out_dir / "confusion_matrix.png", title=f"{model_name} on MNIST test")
    raw, _ = datasets.load_arrays("mnist", False)
    grid_png = plots.prediction_grid_png(
        [raw[i] for i in range(9)], [info.classes[int(p)] for p in pred[:9]], out_dir / "first9.png",
        truth=[str(int(t)) for t in y[:9]], title="First 9 MNIST test digits",
    )
    per_class = []
    for c in range(10):
        sel = y.numpy() == c
        per_class.append({"class": info.classes[c], "n": int(sel.sum()),
                          "accuracy": float((pred.numpy()[sel] == c).mean())})
    return {"model": str(model_name), "test_accuracy": acc, "test_loss": loss, "per_class": per_class,
            "confusion_matrix": cm.tolist(), "files": [str(cm_png), str(grid_png)],
            "errors": int((pred != y).sum()), "n": int(len(y))}
