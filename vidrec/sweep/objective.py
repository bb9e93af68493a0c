"""Train and measure one grid configuration, on the whole data set held in memory.

The grid fixes lr, batch size, epochs and shuffling; what it leaves open is how
the learning rate is used. ``Training`` holds those choices (optimiser and
schedule: the grid's lr is the peak of a one-cycle schedule by default) and the
data subset used by quick runs and tests; every trial records them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

DATASET = "fashion-mnist"
TRAIN_EVAL_SAMPLE = 10_000  # training accuracy is measured on this many training images


@dataclass(frozen=True)
class Training:
    optimizer: str = "adamw"  # adamw | adam | sgd
    schedule: str = "onecycle"  # onecycle | constant
    weight_decay: float = 0.0
    seed: int = 2502
    train_subset: int | None = None  # None: all 60,000 training images
    test_subset: int | None = None  # None: all 10,000 test images

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Data:
    x: object
    y: object
    xt: object
    yt: object
    x_eval: object  # fixed sample of the training set for the training accuracy
    y_eval: object


def _subset(x, y, n: int | None, seed: int):
    import torch

    if n is None or n >= len(x):
        return x, y
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(x), generator=g)[:n]
    return x[idx].contiguous(), y[idx].contiguous()


def load_data(training: Training) -> Data:
    from vidrec.datasets import load_tensors

    x, y = _subset(*load_tensors(DATASET, True), training.train_subset, 1)
    xt, yt = _subset(*load_tensors(DATASET, False), training.test_subset, 2)
    n = min(TRAIN_EVAL_SAMPLE, len(x))
    return Data(x, y, xt, yt, x[:n], y[:n])


def train_config(config: dict, training: Training):
    from vidrec.training import TrainConfig

    return TrainConfig(
        epochs=int(config["epochs"]),
        batch_size=int(config["batch_size"]),
        lr=float(config["lr"]),
        seed=training.seed,
        optimizer=training.optimizer,
        weight_decay=training.weight_decay,
        schedule=training.schedule,
        shuffle=bool(config["shuffle"]),
    )


def run(config: dict, data: Data, training: Training, on_epoch: Callable[[int, float | None], None] | None = None,
        on_batch: Callable[[int, int], None] | None = None, per_epoch_test: bool = True) -> tuple[dict, object]:
    """Train ``config`` and return (metrics, model).

    ``on_epoch(epoch, test_accuracy)`` runs after each epoch and may raise to
    stop (pruning, or a duplicate found); the metrics so far are then on the
    exception as ``metrics``. ``per_epoch_test=False`` skips the test pass after
    each epoch (a quarter of the cost on a 10,000-image subset) and passes None;
    pruning needs it on. Times: ``train_seconds`` is wall time of the
    training loop, ``cpu_seconds`` the process CPU time (all threads) over the
    same span, which is less sensitive to other jobs on a shared machine.
    """
    import torch

    from vidrec.sweep.family import build, parameter_count
    from vidrec.training import evaluate, fit, seed_everything

    cfg = train_config(config, training)
    seed_everything(training.seed)
    model = build(config)
    metrics: dict = {
        "parameters": parameter_count(model),
        "seed": training.seed,
        "epochs_run": 0,
        "epoch_test_accuracy": [],
        "train_size": len(data.x),
        "test_size": len(data.xt),
    }
    wall0, cpu0 = time.perf_counter(), time.process_time()

    def _epoch(epoch, hist):
        metrics["epochs_run"] = epoch
        metrics["epoch_test_accuracy"] = [round(a, 5) for a in hist.test_accuracy]
        metrics["train_seconds"] = time.perf_counter() - wall0
        metrics["cpu_seconds"] = time.process_time() - cpu0
        acc = hist.test_accuracy[-1] if hist.test_accuracy else None
        metrics["test_accuracy"] = acc
        metrics["train_loss"] = hist.train_loss[-1]
        if on_epoch is not None:
            try:
                on_epoch(epoch, acc)
            except BaseException as e:
                e.metrics = metrics
                raise

    fit(model, (data.x, data.y), (data.xt, data.yt) if per_epoch_test else None, cfg, on_epoch=_epoch, on_batch=on_batch)
    _, train_acc, _ = evaluate(model, data.x_eval, data.y_eval)
    test_loss, test_acc, pred = evaluate(model, data.xt, data.yt)
    cm = torch.zeros(10, 10, dtype=torch.long)
    cm.index_put_((data.yt, pred), torch.ones_like(pred), accumulate=True)
    metrics.update(
        train_accuracy=train_acc,
        test_accuracy=test_acc,
        test_loss=test_loss,
        confusion=cm.tolist(),
        train_seconds=time.perf_counter() - wall0,
        cpu_seconds=time.process_time() - cpu0,
    )
    return metrics, model
