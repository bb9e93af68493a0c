"""The networks. ``SeedNet`` is the classic small MNIST CNN, kept exactly.

conv 1->10 5x5, max-pool 2, ReLU; conv 10->20 5x5, Dropout2d(0.5), max-pool 2,
ReLU; flatten 320; fc 320->50, ReLU, dropout; fc 50->N; log-softmax. It is
trained with negative log likelihood. ``embed`` exposes the 50-d features that
transfer learning (the Greek letters) builds on.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


class SeedNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 50-d features before the last layer (after ReLU and dropout)."""
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        return F.dropout(x, training=self.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.fc2(self.embed(x)), dim=1)


class SeedEnsemble(nn.Module):
    """Several seed networks as one model: the mean of their class probabilities (log).

    Why: one network trained on MNIST moves many labels of real handwriting at once
    when it is retrained (another seed, another recipe), and each errs on different
    crops; averaging takes the luck of one network out. Members trained with European
    1s and 7s drawn in (:func:`vidrec.digits.european_styles`) bring the flagged and
    footed 1s and crossed 7s that MNIST lacks, while a plain member keeps the rest as
    it was. Made from trained seed networks by ``vidrec models ensemble``.

    In inference mode (``torch.inference_mode``) the members run as ONE network: their first convolutions stacked,
    the second as a grouped convolution, the linear layers as batched products (the
    same outputs to float rounding; 14 crops through three members cost 1.1 ms
    instead of 1.8, one crop what one member costs).
    """

    def __init__(self, members: int = 3, num_classes: int = 10):
        super().__init__()
        self.members = nn.ModuleList([SeedNet(num_classes) for _ in range(members)])
        self._fused = None  # (the weights' identity and versions, the fused weights)

    def _fused_weights(self):
        # made again whenever a weight is another tensor (.to(), a memory format) or was
        # changed in place (load_state_dict, an optimiser step: each bumps its version)
        key = tuple((p.data_ptr(), p._version) for p in self.parameters())
        if self._fused is None or self._fused[0] != key:
            with torch.no_grad():
                self._fused = (key, self._fuse())
        return self._fused[1]

    def _fuse(self):
        ms = list(self.members)
        cl = torch.channels_last
        w1 = torch.cat([m.conv1.weight for m in ms]).contiguous(memory_format=cl)
        w2 = torch.cat([m.conv2.weight for m in ms]).contiguous(memory_format=cl)
        return (w1, torch.cat([m.conv1.bias for m in ms]), w2, torch.cat([m.conv2.bias for m in ms]),
                torch.stack([m.fc1.weight.t() for m in ms]), torch.stack([m.fc1.bias for m in ms])[:, None],
                torch.stack([m.fc2.weight.t() for m in ms]), torch.stack([m.fc2.bias for m in ms])[:, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = len(self.members)
        if self.training or not torch.is_inference_mode_enabled():
            logp = torch.stack([m(x) for m in self.members])
        else:
            w1, b1, w2, b2, f1w, f1b, f2w, f2b = self._fused_weights()
            n = x.shape[0]
            h = F.relu(F.max_pool2d(F.conv2d(x.contiguous(memory_format=torch.channels_last), w1, b1), 2))
            h = F.relu(F.max_pool2d(F.conv2d(h, w2, b2, groups=k), 2))
            # each member's 20 channels of 4x4, flattened channel by channel as SeedNet does
            h = h.reshape(n, k, -1).transpose(0, 1)
            h = F.relu(torch.baddbmm(f1b, h, f1w))
            logp = F.log_softmax(torch.baddbmm(f2b, h, f2w), dim=2)
        return torch.logsumexp(logp, dim=0) - math.log(k)


# name -> constructor taking keyword arguments; a model file names its arch here.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {"seednet": SeedNet, "seedensemble": SeedEnsemble}


def for_inference(model: nn.Module) -> nn.Module:
    """``model`` in eval mode with its weights laid out channels-last, for forward passes on crops.

    Why: with the default (NCHW) layout the max-pool after the first convolution
    takes PyTorch's generic, unvectorised path, and it was half of a 14-crop
    forward pass on the CPU (0.63 ms); channels-last the whole pass takes 0.31 ms
    (one thread) and gives the same outputs (equal to the last bit on the committed
    digit and Greek models). Saving is unaffected: :func:`vidrec.modelstore.save`
    writes contiguous copies.
    """
    return model.eval().to(memory_format=torch.channels_last)


def register_architecture(name: str, factory: Callable[..., nn.Module]) -> None:
    ARCHITECTURES[name] = factory


# Architectures defined in other core modules, imported on first use so that
# loading a model file never depends on what the caller happened to import.
LAZY_ARCHITECTURES = {"greeknet": "vidrec.transfer", "greekensemble": "vidrec.transfer", "pairnet": "vidrec.pairs"}


def build(arch: str, **kwargs) -> nn.Module:
    if arch not in ARCHITECTURES and arch in LAZY_ARCHITECTURES:
        import importlib

        importlib.import_module(LAZY_ARCHITECTURES[arch])
    try:
        factory = ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}") from None
    return factory(**kwargs)


def summary(model: nn.Module, input_shape=None) -> list[tuple[str, str, tuple, int]]:
    """(name, type, output shape, parameter count) for each leaf module, by a real forward pass."""
    rows: list[tuple[str, str, tuple, int]] = []
    hooks = []
    for name, mod in model.named_modules():
        if len(list(mod.children())) == 0:
            def hook(m, inp, out, name=name):
                rows.append((name, type(m).__name__, tuple(out.shape), sum(p.numel() for p in m.parameters())))
            hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(input_shape or (1, 1) + tuple(getattr(model, "input_size", (28, 28)))))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return rows
