"""The network every grid configuration names, with its shapes worked out.

Two blocks of convolution (no padding, like the seed net) + max-pool +
activation, dropout (2-D after the second convolution, as in the seed net,
and after each hidden layer), then the hidden fully connected layers and a
10-way log-softmax. The flattened size depends on kernel, pool size and pool
stride, so it is computed, not guessed: ``feature_shape`` is the arithmetic
and ``check_shapes`` builds every network of a grid and runs a forward pass.
"""

from __future__ import annotations

from torch import nn


def _out(size: int, kernel: int, stride: int = 1) -> int:
    return (size - kernel) // stride + 1


def feature_shape(conv_channels, conv_kernel_size: int, pool_kernel_size: int, pool_stride: int, size: int = 28):
    """(channels, height, width) after the two conv+pool blocks, or ValueError if the image runs out."""
    s = size
    for _ in range(2):
        s = _out(s, conv_kernel_size)
        if s < pool_kernel_size:
            raise ValueError(
                f"a {size}x{size} image is too small for kernel {conv_kernel_size}, pool {pool_kernel_size}/{pool_stride}"
            )
        s = _out(s, pool_kernel_size, pool_stride)
    return (conv_channels[1], s, s)


def activation(name: str) -> nn.Module:
    return getattr(nn, name)()


class GridNet(nn.Module):
    """The grid's CNN; ``config`` is a decoded grid configuration (extra keys ignored)."""

    def __init__(self, conv_channels, conv_kernel_size, pool_kernel_size, pool_stride, dropout_rate,
                 hidden_layers, activation: str = "ReLU", num_classes: int = 10, **_ignored):
        super().__init__()
        c1, c2 = conv_channels
        act = globals()["activation"]
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, conv_kernel_size),
            nn.MaxPool2d(pool_kernel_size, pool_stride),
            act(activation),
            nn.Conv2d(c1, c2, conv_kernel_size),
            nn.Dropout2d(dropout_rate),
            nn.MaxPool2d(pool_kernel_size, pool_stride),
            act(activation),
            nn.Flatten(),
        )
        c, h, w = feature_shape(conv_channels, conv_kernel_size, pool_kernel_size, pool_stride)
        layers: list[nn.Module] = []
        width = c * h * w
        for hidden in hidden_layers:
            layers += [nn.Linear(width, hidden), act(activation), nn.Dropout(dropout_rate)]
            width = hidden
        layers += [nn.Linear(width, num_classes), nn.LogSoftmax(dim=1)]
        self.classifier = nn.Sequential(*layers)

    def forward(self, x):
        return self.classifier(self.features(x))


def build(config: dict) -> GridNet:
    return GridNet(**config)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_shapes(grid: dict[str, list], source: str = "grid") -> dict[str, int]:
    """Build every architecture the grid names and run a forward pass; return its parameter counts.

    Only the architectural settings matter here, so the 1024 configurations of
    the seed's grid are 64 distinct networks. Raises VidrecError naming the first
    combination that does not fit a 28x28 image.
    """
    import itertools

    import torch

    from vidrec.errors import VidrecError
    from vidrec.sweep.grid import encode

    arch = ("conv_channels", "conv_kernel_size", "pool_kernel_size", "pool_stride", "hidden_layers")
    counts: dict[str, int] = {}
    x = torch.zeros(2, 1, 28, 28)
    for combo in itertools.product(*(grid[a] for a in arch)):
        cfg = dict(zip(arch, combo), dropout_rate=0.1, activation=grid["activation"][0])
        try:
            model = build(cfg)
        except ValueError as e:
            raise VidrecError(f"{source}: {', '.join(f'{k}={v}' for k, v in zip(arch, combo))}: {e}") from None
        with torch.no_grad():
            out = model.eval()(x)
        assert out.shape == (2, 10), out.shape
        counts[",".join(str(encode(v)) for v in combo)] = parameter_count(model)
    return counts
