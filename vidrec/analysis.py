"""Look inside a trained digit network: its first-layer filters and what they do to a digit.

The first convolution is the only layer whose weights are pictures one can
read (5x5 stroke, edge and blob detectors), so that is what the seed's task 2
shows: the filters as a 3x4 grid, their values as a table, and each filter run
over the first MNIST training digit with OpenCV's ``filter2D`` (correlation,
exactly what ``nn.Conv2d`` computes), the filtered image beside its filter.

Works on any model with an ``nn.Conv2d`` (the digit model, the Greek model):
the first one found in module order is the first layer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from vidrec.plots import pyplot, save_figure


@dataclass
class FirstLayer:
    """The first convolution's weights as numpy: ``weights`` [out, kh, kw] (input channels averaged)."""

    weights: np.ndarray
    bias: np.ndarray | None
    in_channels: int
    frozen: bool
    module_name: str


def first_layer(model) -> FirstLayer:
    """The weights of the model's first ``nn.Conv2d``; multi-channel filters are averaged over inputs."""
    from torch import nn

    from vidrec.errors import VidrecError

    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            w = m.weight.detach().cpu().float().numpy()
            b = None if m.bias is None else m.bias.detach().cpu().float().numpy()
            return FirstLayer(w.mean(axis=1), b, w.shape[1], not m.weight.requires_grad, name)
    raise VidrecError(f"{type(model).__name__} has no convolution layer; nothing to show")


def _sym(k: np.ndarray) -> float:
    v = float(np.abs(k).max())
    return v if v > 0 else 1.0


def filters_png(weights: np.ndarray, path: str | os.PathLike, title: str = "",
                names: Sequence[str] | None = None, ncols: int = 4) -> Path:
    """The filters as a grid (the seed's 3x4 layout for 10): red positive, blue negative, white 0.

    Each filter gets its own symmetric colour range, so a weak filter is as
    readable as a strong one; the range is printed under it.
    """
    plt = pyplot()
    n = len(weights)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.0 * ncols, 2.15 * nrows + 0.5), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        v = _sym(weights[i])
        ax.imshow(weights[i], cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
        label = names[i] if names is not None else f"Filter {i}"
        ax.set_title(label, fontsize=8)
        ax.set_xlabel(f"±{v:.2f}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def filtered_images(weights: np.ndarray, image: np.ndarray) -> list[np.ndarray]:
    """Each filter run over ``image`` (float32 HxW) with ``cv2.filter2D``: correlation, as Conv2d does.

    Borders replicate the edge pixels (blank paper for a digit), so the
    response does not show a frame that zero padding of a normalised image
    (where 0 is grey, not paper) would draw.
    """
    import cv2

    img = np.ascontiguousarray(image, dtype=np.float32)
    return [cv2.filter2D(img, cv2.CV_32F, np.ascontiguousarray(k, dtype=np.float32),
                         borderType=cv2.BORDER_REPLICATE) for k in weights]


def effects_png(weights: np.ndarray, image: np.ndarray, path: str | os.PathLike, title: str = "",
                names: Sequence[str] | None = None, pairs_per_row: int = 2) -> Path:
    """Filter and filtered image side by side (filter | result, two pairs per row), input shown first."""
    plt = pyplot()
    results = filtered_images(weights, image)
    n = len(weights)
    ncols = 2 * pairs_per_row
    nrows = 1 + -(-n // pairs_per_row)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.9 * ncols, 1.95 * nrows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis("off")
    axes[0, 0].imshow(image, cmap="gray", interpolation="nearest")
    axes[0, 0].set_title("input", fontsize=8)
    axes[0, 0].axis("on")
    for i in range(n):
        r, c = 1 + i // pairs_per_row, 2 * (i % pairs_per_row)
        v = _sym(weights[i])
        fa, ra = axes[r, c], axes[r, c + 1]
        fa.axis("on")
        ra.axis("on")
        fa.imshow(weights[i], cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
        fa.set_title(names[i] if names is not None else f"Filter {i}", fontsize=8)
        ra.imshow(results[i], cmap="gray", interpolation="nearest")
        ra.set_title(f"response [{results[i].min():.1f}, {results[i].max():.1f}]", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def weights_table(layer: FirstLayer, title: str = "", names: Sequence[str] | None = None):
    """A rich table: one row per filter, its kernel as a small matrix, bias, L2 norm and sum."""
    from rich.table import Table

    t = Table(title=title or None, show_lines=True)
    t.add_column("filter")
    t.add_column("weights (rows top to bottom)", no_wrap=True)
    t.add_column("bias", justify="right")
    t.add_column("norm", justify="right")
    t.add_column("sum", justify="right")
    for i, k in enumerate(layer.weights):
        mat = "\n".join(" ".join(f"{v:+.3f}" for v in row) for row in k)
        bias = "" if layer.bias is None else f"{layer.bias[i]:+.3f}"
        label = names[i] if names is not None else str(i)
        t.add_row(label, mat, bias, f"{np.linalg.norm(k):.3f}", f"{k.sum():+.3f}")
    return t


def weights_csv(layer: FirstLayer, path: str | os.PathLike) -> Path:
    """One row per filter: index, bias, then the kernel values row by row (w_r_c)."""
    from vidrec.atomic import write_text

    n, kh, kw = layer.weights.shape
    head = ["filter", "bias"] + [f"w_{r}_{c}" for r in range(kh) for c in range(kw)]
    lines = [",".join(head)]
    for i, k in enumerate(layer.weights):
        b = "" if layer.bias is None else f"{layer.bias[i]:.6g}"
        lines.append(",".join([str(i), b] + [f"{v:.6g}" for v in k.ravel()]))
    return write_text(path, "\n".join(lines) + "\n")


def _import_architectures() -> None:
    """Core modules that register architectures on import (the Greek model's lives in vidrec.transfer)."""
    import importlib

    for name in ("vidrec.transfer",):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise


def first_training_example(mean: float, std: float, dataset: str = "mnist") -> tuple[np.ndarray, int]:
    """The first training image normalised as the model expects (float32 28x28) and its label."""
    from vidrec import datasets

    x, y = datasets.load_arrays(dataset, True)
    return ((x[0].astype(np.float32) / 255.0 - mean) / std).astype(np.float32), int(y[0])


def analyze_filters(model_name: str, out_dir: str | os.PathLike, dataset: str = "mnist") -> dict:
    """Write the filter grid, weights CSV and the filter-effect grid for a stored model.

    Returns a dict with the first layer, the files written and a title, for the
    CLI to print. The example digit is the first training image of ``dataset``
    (MNIST for any model; the point is to see what the filters do to a stroke).
    """
    from vidrec import modelstore

    _import_architectures()
    model, info, card = modelstore.load(model_name)
    layer = first_layer(model)
    out = Path(out_dir)
    stem = Path(str(model_name)).stem
    kind = card.get("first_layer", "learned")
    label = f"{stem} ({info.arch}, first layer {layer.module_name}: {len(layer.weights)} filters "
    label += f"{layer.weights.shape[1]}x{layer.weights.shape[2]}, {kind}"
    label += ", frozen)" if layer.frozen or kind not in ("learned", None) else ")"
    names = None
    if kind in ("gabor", "laplacian", "gaussian"):
        from vidrec import filterbanks

        names = filterbanks.bank_names(kind)
    files = [filters_png(layer.weights, out / f"{stem}_filters.png", f"{label}", names)]
    files.append(weights_csv(layer, out / f"{stem}_filters.csv"))
    image, digit = first_training_example(info.mean, info.std, dataset)
    files.append(effects_png(layer.weights, image, out / f"{stem}_filter_effects.png",
                             f"{stem}: each first-layer filter on the first {dataset} training digit (a {digit}), cv2.filter2D",
                             names))
    return {"layer": layer, "files": files, "title": label, "names": names, "digit": digit}


# ---------------------------------------------------------------- the filter-bank experiment


def conv1_diagnostics(model, x) -> dict:
    """What the first layer hands on: RMS of its pooled+ReLU output, and units that never fire.

    A unit that is zero after max-pool + ReLU on every digit passes no signal
    and no gradient: with a frozen first layer nothing can revive it.
    """
    import torch
    import torch.nn.functional as F

    conv = model.conv1 if hasattr(model, "conv1") else None
    if conv is None:
        from vidrec.filterbanks import first_conv

        conv = first_conv(model)
    with torch.inference_mode():
        a = F.relu(F.max_pool2d(conv(x), 2))
    fires = (a > 1e-6).flatten(2).any(2).float().mean(0)  # share of digits where each unit fires
    return {"conv1_rms": round(float(a.pow(2).mean().sqrt()), 4),
            "dead_units": int((fires == 0).sum()),
            "min_unit_firing": round(float(fires.min()), 4)}


def filterbank_experiment(out_dir: str | os.PathLike, epochs: int | None = None, banks: Sequence[str] | None = None,
                          limit: int = 0, on_epoch=None, on_batch=None, on_start=None, say=lambda s: None) -> list[dict]:
    """Train SeedNet once per first layer, with ``vidrec train mnist``'s own defaults, and compare.

    Each run goes through :func:`vidrec.digits.train_mnist`, the function behind
    ``vidrec train mnist --first-layer NAME``, so "the same training as the
    default model" is literally the same code and configuration (only
    ``epochs`` and ``limit`` can be changed, for quick looks). Writes per bank
    the model, its card and loss plot under ``models/``, a PNG of its first
    layer (for ``learned``: after training), and for all banks
    ``filterbanks.csv`` and ``filterbanks.json``.
    """
    import dataclasses

    import torch

    from vidrec import datasets, digits, filterbanks, modelstore
    from vidrec.atomic import write_json, write_text
    from vidrec.trainconfig import MNIST_DEFAULT

    banks = list(banks or filterbanks.BANKS)
    for b in banks:
        filterbanks.bank_names(b)  # VidrecError for an unknown name, before any training
    cfg = MNIST_DEFAULT if epochs is None else dataclasses.replace(MNIST_DEFAULT, epochs=epochs)
    out = Path(out_dir)
    xt, _ = datasets.load_tensors("mnist", False)
    probe = xt[:2000]
    rows = []
    for b in banks:
        if on_start is not None:
            on_start(b)
        weights = out / "models" / f"{b}.safetensors"
        card = digits.train_mnist(cfg, weights, b, on_epoch=on_epoch, on_batch=on_batch, say=say, limit=limit)
        model, _, _ = modelstore.load(weights)
        w = model.conv1.weight.detach()
        frozen = bool(torch.equal(w, filterbanks.make_bank(b))) if b != "learned" else False
        layer = first_layer(model)
        title = (f"first layer: {b} ({'fixed, frozen' if b != 'learned' else 'after training'}); "
                 f"test accuracy {card['test_accuracy']:.2%}")
        names = filterbanks.bank_names(b) if b != "learned" else None
        png = filters_png(layer.weights, out / f"bank_{b}.png", title, names)
        row = {"bank": b, "test_accuracy": card["test_accuracy"],
               "test_loss": round(card["history"]["test_loss"][-1], 4) if card["history"]["test_loss"] else None,
               "train_seconds": card["train_seconds"], "epochs": cfg.epochs,
               "train_examples": card["train_examples"],
               "first_layer_frozen": frozen, **conv1_diagnostics(model, probe),
               "filters_png": str(png), "model": str(weights)}
        rows.append(row)
        say(f"{b}: test accuracy {row['test_accuracy']:.2%} in {row['train_seconds']} s")
    cols = list(rows[0].keys())
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
    write_text(out / "filterbanks.csv", "\n".join(lines) + "\n")
    write_json(out / "filterbanks.json", {"config": cfg.as_dict(), "limit": limit, "results": rows})
    return rows


def filterbank_table(rows: list[dict], title: str = ""):
    from rich.table import Table

    t = Table(title=title or "First-layer filter banks: same training, MNIST test accuracy")
    for c, j in (("first layer", "left"), ("test accuracy", "right"), ("test loss", "right"),
                 ("train s", "right"), ("frozen", "center"), ("conv1 RMS", "right"), ("dead units", "right")):
        t.add_column(c, justify=j)
    for r in rows:
        t.add_row(r["bank"], f"{r['test_accuracy']:.2%}", f"{r['test_loss']:.4f}" if r["test_loss"] is not None else "",
                  f"{r['train_seconds']:.0f}", "yes" if r["first_layer_frozen"] else "no",
                  f"{r['conv1_rms']:.3f}", str(r["dead_units"]))
    return t
