"""The fast training loop every model in vidrec uses.

The whole data set lives in memory as one tensor; an epoch is a random
permutation sliced into batches, so there is no DataLoader, no worker process
and no per-sample Python work. Augmentation, when on, is done on the whole batch
at once (one ``affine_grid``/``grid_sample`` call and a max-pool for thicker
strokes). A one-cycle schedule and channels-last convolutions (oneDNN's NHWC
kernels, twice as fast per step on CPU) get the seed network past 99% in well
under a minute on two cores.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from vidrec.trainconfig import TrainConfig  # noqa: F401  (re-exported)


@dataclass
class History:
    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time at the end of each epoch
    eval_seconds: list[float] = field(default_factory=list)  # of which spent evaluating, per epoch
    # (samples seen, loss) every few batches, for the seed's loss-curve plot
    train_curve: list[tuple[int, float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def seed_everything(seed: int) -> None:
    """Seed torch and make its kernels deterministic, so a seed reproduces a model."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def augment_batch(x: torch.Tensor, background: float, strength: float = 1.0) -> torch.Tensor:
    """Small random affine warps and thicker strokes for a whole batch, in one go.

    ``x`` is [B,1,H,W] with ``background`` the value of empty paper; rotation
    +-12 deg, scale 0.85-1.15, shear +-0.15, shift +-2 px, and a quarter of the
    batch gets strokes one pixel thicker (grey dilation).
    """
    b = x.shape[0]
    dev = x.device
    ang = (torch.rand(b, device=dev) * 2 - 1) * math.radians(12) * strength
    scale = 1 + (torch.rand(b, device=dev) * 2 - 1) * 0.15 * strength
    shear = (torch.rand(b, device=dev) * 2 - 1) * 0.15 * strength
    shift = (torch.rand(b, 2, device=dev) * 2 - 1) * (2 / 14) * strength
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin + shear, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x - background, grid, align_corners=False, padding_mode="zeros") + background
    thick = torch.rand(b, device=dev) < 0.25
    if thick.any():
        out[thick] = F.max_pool2d(out[thick], 3, stride=1, padding=1)
    return out


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2000):
    """Return ``(mean NLL, accuracy, predicted labels)`` of a log-softmax model."""
    was = model.training
    model.eval()
    total, preds = 0.0, []
    for i in range(0, len(x), batch_size):
        out = model(x[i : i + batch_size])
        total += F.nll_loss(out, y[i : i + batch_size], reduction="sum").item()
        preds.append(out.argmax(1))
    model.train(was)
    pred = torch.cat(preds) if preds else torch.empty(0, dtype=torch.long)
    acc = (pred == y).float().mean().item() if len(y) else float("nan")
    return total / max(len(x), 1), acc, pred


def make_optimizer(model: nn.Module, cfg: TrainConfig, steps: int):
    params = [p for p in model.parameters() if p.requires_grad]
    # fused: one kernel per step for all parameters instead of a Python loop over them
    fused = bool(params) and all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}")
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1))
    elif cfg.schedule == "constant":
        sched = None
    else:
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    return opt, sched


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor] | None,
    cfg: TrainConfig,
    on_epoch: Callable[[int, History], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    background: float | None = None,
    loss_fn: Callable = F.nll_loss,
) -> History:
    """Train ``model`` in place on in-memory tensors and return its history.

    ``on_epoch(epoch, history)`` runs after each epoch's evaluation (raise from it
    to stop, e.g. for pruning); ``on_batch(done, total)`` after each step.
    ``background`` is the input value of empty paper (needed by augmentation;
    default: the minimum of the training images).
    """
    seed_everything(cfg.seed)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    try:
        x, y = train
        n = len(x)
        steps_per_epoch = math.ceil(n / cfg.batch_size)
        opt, sched = make_optimizer(model, cfg, steps_per_epoch * cfg.epochs)
        if cfg.augment and background is None:
            background = float(x.min())
        hist = History()
        start = time.perf_counter()
        seen = 0
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            order = torch.randperm(n) if cfg.shuffle else torch.arange(n)
            running, count = 0.0, 0
            for step in range(steps_per_epoch):
                idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                xb, yb = x[idx], y[idx]
                if cfg.augment:
                    xb = augment_batch(xb, background, cfg.augment_strength)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                running += loss.item() * len(idx)
                count += len(idx)
                seen += len(idx)
                if step % 10 == 0:
                    hist.train_curve.append((seen, loss.item()))
                if on_batch is not None:
                    on_batch((epoch - 1) * steps_per_epoch + step + 1, cfg.epochs * steps_per_epoch)
            hist.epoch.append(epoch)
            hist.train_loss.append(running / max(count, 1))
            e0 = time.perf_counter()
            if test is not None:
                tl, ta, _ = evaluate(model, test[0], test[1], cfg.eval_batch_size)
                hist.test_loss.append(tl)
                hist.test_accuracy.append(ta)
            hist.eval_seconds.append(time.perf_counter() - e0)
            hist.seconds.append(time.perf_counter() - start)
            if on_epoch is not None:
                on_epoch(epoch, hist)
        model.eval()
        return hist
    finally:
        if cfg.channels_last:  # also when stopped early: safetensors and ONNX want plain layouts
            model.to(memory_format=torch.contiguous_format)
