"""Figures people would rather look at than read: loss curves, confusion matrices, image grids.

All PNGs are written atomically with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG atomically and close it."""
    from vidrec.atomic import atomic_path

    plt = pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def loss_curves(
    path: str | os.PathLike,
    train_curve: Sequence[tuple[int, float]],
    test_points: Sequence[tuple[int, float]] = (),
    title: str = "Training and test loss",
    ylabel: str = "negative log likelihood loss",
) -> Path:
    """The seed's plot: train loss against examples seen (line), test loss per epoch (dots)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    if train_curve:
        xs, ys = zip(*train_curve)
        ax.plot(xs, ys, color="tab:blue", lw=1, label="train loss")
    if test_points:
        xs, ys = zip(*test_points)
        ax.scatter(xs, ys, color="tab:red", zorder=3, label="test loss")
    ax.set_xlabel("number of training examples seen")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return cm


def confusion_matrix_png(cm: np.ndarray, classes: Sequence[str], path: str | os.PathLike, title: str = "") -> Path:
    plt = pyplot()
    n = len(classes)
    size = max(4.0, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    thresh = cm.max() / 2 if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > thresh else "black")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title}  (accuracy {acc:.2%})" if title else f"accuracy {acc:.2%}")
    return save_figure(fig, path)


def image_grid_png(
    images: Sequence[np.ndarray],
    path: str | os.PathLike,
    titles: Sequence[str] | None = None,
    ncols: int = 3,
    title: str = "",
    cmap: str = "gray",
    title_colors: Sequence[str] | None = None,
    cell: float = 2.0,
) -> Path:
    """A grid of images with a title under each (the seed's figure layout)."""
    plt = pyplot()
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = np.asarray(images[k])
        ax.imshow(img, cmap=None if img.ndim == 3 else cmap, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[k], fontsize=9, color=(title_colors[k] if title_colors else "black"))
    if title:
        fig.suptitle(title)
        # leave room above the first row's captions for the figure title
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (cell * nrows + 0.4)))
    else:
        fig.tight_layout()
    return save_figure(fig, path)


def prediction_grid_png(
    images: Sequence[np.ndarray],
    predicted: Sequence[str],
    path: str | os.PathLike,
    truth: Sequence[str] | None = None,
    ncols: int = 3,
    title: str = "",
) -> Path:
    """Images with 'Prediction: X' under each, red where it disagrees with ``truth``."""
    titles, colors = [], []
    for k, p in enumerate(predicted):
        if truth is None:
            titles.append(f"Prediction: {p}")
            colors.append("black")
        else:
            ok = str(truth[k]) == str(p)
            titles.append(f"Prediction: {p}" + ("" if ok else f" (true {truth[k]})"))
            colors.append("black" if ok else "red")
    return image_grid_png(images, path, titles, ncols, title, title_colors=colors)
