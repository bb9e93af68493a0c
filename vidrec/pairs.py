"""Two touching digits read as one mark: a reader of 110 classes (0-9 alone, 00-99 as pairs).

Why: people write the digits of a number close, and two digits that touch or
overlap are one connected mark. The segmenter cuts a mark only along a column
(:meth:`vidrec.segment.Segmenter.cut_in_two`), and where two digits overlap
(the 9's stem through the 2's foot of a "92", a 0 reaching under a 4) no column
separates them: one piece takes part of the other, and the digit network,
trained on single MNIST digits, reads the pieces or the whole wrong. On the
real-digit sheets written with touching digits (``vidrec recordings make
--spacing tight``) half of the pairs were read, surely, as one digit.

This network reads the whole mark instead, as people do: it was trained on
pairs of MNIST digits set side by side at gaps from a fifth of a digit's height
of overlap to a twentieth apart, one of them up to 15% larger and a tenth of
the height higher or lower, and on single digits, most of them stretched up to
1.9 times as wide (a wide single digit must stay one). Both are drawn the way
the video crops are (:func:`vidrec.crop.render_wide`: the digit height of MNIST,
the same stroke width), so it reads the segmenter's masks of real handwriting
as the digit network reads its crops. The multidigit recogniser asks it only
about marks the digit network doubts that are wide enough for two digits
(:meth:`vidrec_multidigit.recognizer.MultiDigit._read_pairs`).

Made by ``vidrec train pairs`` (``models/pairs.safetensors``; its card holds the
command that remakes it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidrec.crop import SIZE, _bbox, render_wide, to_model_input

CLASSES = [str(d) for d in range(10)] + [f"{a}{b}" for a in range(10) for b in range(10)]
SHAPE = (SIZE, 2 * SIZE)  # the input: 28 x 56


class PairNet(nn.Module):
    """Three 3x3 convolutions (32, 64, 64 channels, each max-pooled), fc 1344 -> 128 -> 110; log-softmax."""

    input_size = SHAPE  # (height, width) of its input, for :func:`vidrec.nets.summary`

    def __init__(self, num_classes: int = len(CLASSES)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * (SHAPE[0] // 8) * (SHAPE[1] // 8), 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        x = F.dropout(F.relu(self.fc1(x.flatten(1))), 0.3, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


def _register() -> None:
    from vidrec import nets

    nets.register_architecture("pairnet", PairNet)


_register()


def marginals(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A reading's pair classes (110 probabilities) as its first and second digit's
    probabilities over 0-9, each summing to 1 (given that the mark is a pair)."""
    m = np.asarray(probs, np.float64)[10:].reshape(10, 10)
    total = max(float(m.sum()), 1e-12)
    return (m.sum(axis=1) / total).astype(np.float32), (m.sum(axis=0) / total).astype(np.float32)


def _digit_mask(img: np.ndarray, scale: float) -> np.ndarray:
    """An MNIST digit (uint8 28x28) as a binary stroke mask 4 * ``scale`` times its size, cropped to its ink."""
    x0, y0, x1, y1 = _bbox(img > 90)
    up = cv2.resize(img[y0:y1, x0:x1].astype(np.float32), None, fx=4 * scale, fy=4 * scale,
                    interpolation=cv2.INTER_LINEAR)
    return (up > 90).view(np.uint8)


def compose(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator, single_share: float = 0.4,
            on_progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` marks drawn from MNIST digits ``x`` (uint8 [N, 28, 28]) with labels ``y``: renders
    float32 [n, 28, 56] and class indices into :data:`CLASSES`.

    ``single_share`` of them are one digit (seven in ten stretched 1.0-1.9 times as wide);
    the rest two digits side by side, the second 0.85-1.15 times the first's size, a tenth
    of the height higher or lower, at a gap of -0.22 to 0.06 of the height (overlapping
    to just apart).
    """
    out = np.zeros((n,) + SHAPE, np.float32)
    cls = np.zeros(n, np.int64)
    for i in range(n):
        if on_progress is not None and i % 2000 == 0:
            on_progress(i, n)
        if rng.random() < single_share:
            k = int(rng.integers(len(x)))
            m = _digit_mask(x[k], 1.0)
            stretch = rng.uniform(1.0, 1.9) if rng.random() < 0.7 else 1.0
            m = cv2.resize(m, (max(1, int(m.shape[1] * stretch)), m.shape[0]), interpolation=cv2.INTER_NEAREST)
            out[i], cls[i] = render_wide(m), int(y[k])
            continue
        a, b = (int(v) for v in rng.integers(len(x), size=2))
        ma, mb = _digit_mask(x[a], 1.0), _digit_mask(x[b], rng.uniform(0.85, 1.15))
        h = max(ma.shape[0], mb.shape[0])
        gap = int(rng.uniform(-0.22, 0.06) * h)
        dy = int(rng.uniform(-0.1, 0.1) * h)
        wa, wb = ma.shape[1], mb.shape[1]
        gap = max(gap, 1 - wa)
        top = max(0, -dy)
        canvas = np.zeros((max(top + ma.shape[0], top + dy + mb.shape[0]) + 2, max(wa, wa + gap + wb) + 2), np.uint8)
        canvas[top:top + ma.shape[0], :wa] |= ma
        canvas[top + dy:top + dy + mb.shape[0], wa + gap:wa + gap + wb] |= mb
        out[i], cls[i] = render_wide(canvas), 10 + 10 * int(y[a]) + int(y[b])
    if on_progress is not None:
        on_progress(n, n)
    return out, cls


def reproduce_command(samples: int, epochs: int, seed: int) -> str:
    return f"vidrec train pairs --samples {samples} --epochs {epochs} --seed {seed}"


def train_pairs(out: str | os.PathLike, samples: int = 150_000, epochs: int = 6, seed: int = 2502,
                test_samples: int = 10_000, on_epoch=None, on_batch=None,
                say: Callable[[str], None] = lambda s: None, on_progress=None) -> dict:
    """Compose the marks from MNIST, train :class:`PairNet`, write weights and card atomically.

    Nothing is written until training has finished (Ctrl-C keeps the previous model).
    Returns the model card: accuracy on marks composed from MNIST's test digits, overall
    and for pairs and single digits apart.
    """
    from vidrec import datasets, modelstore, training
    from vidrec.atomic import check_writable
    from vidrec.digits import training_record
    from vidrec.trainconfig import TrainConfig

    out = Path(out)
    check_writable(out)
    x, y = datasets.load_arrays("mnist", True, say=say)
    xt, yt = datasets.load_arrays("mnist", False, say=say)
    say(f"composing {samples:,} training marks and {test_samples:,} test marks from MNIST")
    t0 = time.perf_counter()
    train_x, train_y = compose(x, y, samples, np.random.default_rng(seed), on_progress=on_progress)
    test_x, test_y = compose(xt, yt, test_samples, np.random.default_rng(seed + 1))
    compose_s = time.perf_counter() - t0
    mean, std = datasets.NORMALISATION["mnist"]
    info = modelstore.ModelInfo(arch="pairnet", arch_kwargs={}, classes=list(CLASSES), mean=mean, std=std)
    train = (to_model_input(train_x, info, SHAPE), torch.from_numpy(train_y))
    test = (to_model_input(test_x, info, SHAPE), torch.from_numpy(test_y))
    cfg = TrainConfig(epochs=epochs, batch_size=256, lr=0.003, seed=seed, optimizer="adamw", weight_decay=1e-4,
                      schedule="onecycle", augment=False)
    training.seed_everything(seed)
    model = PairNet()
    t1 = time.perf_counter()
    hist = training.fit(model, train, test, cfg, on_epoch=on_epoch, on_batch=on_batch)
    wall = time.perf_counter() - t1
    _, acc, pred = training.evaluate(model, *test)
    pair = test[1] >= 10
    card = {
        "name": out.stem,
        "task": "one handwritten digit or two touching ones (MNIST digits composed side by side)",
        "arch": "pairnet",
        "classes": list(CLASSES),
        "test_accuracy": round(acc, 4),
        "test_accuracy_pairs": round((pred[pair] == test[1][pair]).float().mean().item(), 4),
        "test_accuracy_singles": round((pred[~pair] == test[1][~pair]).float().mean().item(), 4),
        "train_examples": samples,
        "test_examples": test_samples,
        "compose_seconds": round(compose_s, 1),
        **training_record(cfg, hist, wall),
        "reproduce": reproduce_command(samples, epochs, seed),
    }
    modelstore.save(model, info, out, card)
    return card
