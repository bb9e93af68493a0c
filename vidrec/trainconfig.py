"""Training settings, importable without torch (the CLI reads its defaults from here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class TrainConfig:
    epochs: int = 4
    batch_size: int = 128
    lr: float = 0.01  # peak learning rate of the one-cycle schedule (or SGD's constant one)
    seed: int = 2502
    optimizer: str = "adamw"  # adamw | sgd
    momentum: float = 0.5  # for sgd
    weight_decay: float = 0.0
    schedule: str = "onecycle"  # onecycle | constant
    augment: bool = False
    shuffle: bool = True
    eval_batch_size: int = 2000

    def as_dict(self) -> dict:
        return asdict(self)


# The defaults of `vidrec train mnist`, chosen by measurement (see models/mnist.json and
# the note on issue 2): >= 99.0% MNIST test accuracy in well under a minute on 2 cores.
MNIST_DEFAULT = TrainConfig(epochs=12, batch_size=64, lr=0.005, optimizer="adamw", schedule="onecycle")
