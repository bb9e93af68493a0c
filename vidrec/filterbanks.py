"""Fixed, hand-made banks of 10 5x5 filters for SeedNet's first convolution.

The seed froze Gabor, Laplacian and Gaussian banks in conv1 and got 11%, 93%
and 96% on MNIST. A frozen first layer fails for reasons the rest of the
network cannot undo, because it cannot rescale or re-bias what it never sees.
"11%" is the signature of a network that learned nothing: it answers one class
and 11.35% of the MNIST test digits are "1"s. Three ways to get exactly that,
each reproduced here (one epoch on 20,000 digits, a frozen Gabor bank):

* **Dead units.** A frozen bias below every response: max-pool + ReLU outputs
  0 everywhere, no signal and no gradient reach conv2, and nothing downstream
  can revive the layer: 11.35% with the default AdamW and with SGD alike.
* **Scale, with plain SGD** (the seed's lr 0.01, momentum 0.5). Responses 300x
  too large (RMS ~160, easy with unnormalised ``cv2.getGaborKernel`` or raw
  LoG values on 0-255 input) blow up the first steps: 11.2%. 100x too small
  (RMS 0.005) starve conv2 of gradient: 11.35%. AdamW normalises its steps and
  tolerates scale far better (86% at RMS 160), but still learns best near the
  scale a trained first layer has (96.5% at RMS 0.5 in the same epoch).
* **Polarity after ReLU.** SeedNet applies max-pool then ReLU to conv1, so a
  frozen filter passes only the *positive* half of its response. A zero-mean
  filter with bias 0 is silent on blank paper (good) but one that exists in one
  sign only (an odd Gabor at 0 degrees, one LoG) throws away every stroke edge
  of the other polarity. So each bank carries the filters it needs in both
  signs (edge detectors every 60 degrees over the full circle; LoG and
  derivative filters as +/- pairs).
* **Bias.** A frozen bias that is wrong for the input's background either
  kills a unit (above) or makes it a constant. The bias here is
  chosen so that blank paper gives exactly zero: ``b = -background * sum(w)``,
  where ``background`` is the normalised value of an empty pixel. For the
  zero-mean filters that is 0; for the Gaussian smoothers it turns them into
  "how much ink is here" detectors instead of "how bright is the paper".
* **Scale within the bank.** Unit L2 norm is not enough: MNIST ink is smooth
  (neighbouring pixels are strongly correlated), so a unit-norm smoother
  answers ten times louder than a unit-norm 3x3 Laplacian, and the quiet
  filters are nearly invisible to conv2. Every kernel is therefore made
  zero-mean where it is a detector (Gabor, LoG, derivatives), then scaled so
  that its RMS response on MNIST-like ink is :data:`RESPONSE_RMS` (0.5, about
  what a trained SeedNet conv1 gives). The RMS comes from a model of the ink's
  second moment as a function of pixel distance (:func:`ink_second_moment`,
  fitted once on MNIST training digits), so making a bank needs no data.

Measured with the default training of ``vidrec train mnist`` (see
``vidrec experiment filterbanks``), every bank here reaches >= 98%.
"""

from __future__ import annotations

import math

import numpy as np

BANKS = ("gabor", "laplacian", "gaussian", "learned")
SIZE = 5
N_FILTERS = 10
# The normalised value of an empty (black) MNIST pixel: (0 - mean) / std.
MNIST_BACKGROUND = (0.0 - 0.1307) / 0.3081
# The RMS response every fixed filter is scaled to on MNIST-like ink: a trained
# SeedNet conv1 answers with a spread of about 0.5 on the training digits.
RESPONSE_RMS = 0.5


def _grid(size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    r = (size - 1) / 2
    ax = np.arange(size, dtype=np.float64) - r
    return np.meshgrid(ax, ax)  # x (columns), y (rows)


def ink_second_moment(d: np.ndarray) -> np.ndarray:
    """E[ink(p) * ink(p + d)] for MNIST, ink = normalised pixel minus blank paper, d in pixels.

    Fitted on the first 5000 MNIST training digits (measured 1.59, 1.33, 0.96,
    0.69, 0.54, 0.40 at d = 0, 1, 2, 3, 4, 5.7; the model gives 1.58, 1.35,
    1.00, 0.75, 0.59, 0.45): 0.33 is the squared mean ink level, the rest a
    correlation that halves every ~2 px, the width of a stroke.
    ``tests/test_filterbanks.py`` re-measures it.
    """
    return 0.33 + 1.25 * np.exp(-(np.sqrt(d * d + 1.0) - 1.0) / 2.0)


def response_rms(k: np.ndarray) -> float:
    """The RMS response of kernel ``k`` (with the blank-paper bias) on MNIST-like ink: sqrt(w' A w)."""
    x, y = _grid(k.shape[0])
    c = np.stack([x.ravel(), y.ravel()], 1)
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    w = k.ravel()
    return float(np.sqrt(max(w @ ink_second_moment(d) @ w, 0.0)))


def _zero_mean(k: np.ndarray) -> np.ndarray:
    return k - k.mean()


def gabor_kernel(theta_deg: float, phase: str, wavelength: float = 4.0, sigma: float = 1.4,
                 gamma: float = 0.7) -> np.ndarray:
    """A 5x5 Gabor: ``even`` (cosine, a bright-line detector) or ``odd`` (sine, an edge detector).

    ``theta_deg`` is the direction across the stripes. A wavelength of 4 px
    gives an even filter a central lobe about 2 px wide, the width of an MNIST
    stroke; sigma 1.4 fits the envelope into 5x5 without truncating it hard;
    gamma < 1 stretches it along the stroke.
    """
    x, y = _grid()
    t = math.radians(theta_deg)
    xr = x * math.cos(t) + y * math.sin(t)
    yr = -x * math.sin(t) + y * math.cos(t)
    env = np.exp(-(xr**2 + (gamma * yr) ** 2) / (2 * sigma**2))
    arg = 2 * math.pi * xr / wavelength
    carrier = np.cos(arg) if phase == "even" else np.sin(arg)
    return env * carrier


def gaussian_kernel(sigma: float) -> np.ndarray:
    x, y = _grid()
    return np.exp(-(x**2 + y**2) / (2 * sigma**2))


def log_kernel(sigma: float) -> np.ndarray:
    """Negative Laplacian of Gaussian: positive centre, negative surround (a bright blob/line)."""
    x, y = _grid()
    r2 = (x**2 + y**2) / (2 * sigma**2)
    return (1 - r2) * np.exp(-r2)


def gaussian_derivative(sigma: float, order: tuple[int, int]) -> np.ndarray:
    """Derivative of a Gaussian, ``order = (d/dx, d/dy)`` with each 0, 1 or 2."""
    x, y = _grid()
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    s2 = sigma**2

    def d(v, n):
        return {0: np.ones_like(v), 1: -v / s2, 2: (v**2 - s2) / s2**2}[n]

    return d(x, order[0]) * d(y, order[1]) * g


def _gabor_bank() -> list[tuple[str, np.ndarray]]:
    # 4 even (line) filters at 0/45/90/135 deg: a line looks the same from both
    # sides, so one sign per orientation is enough. 6 odd (edge) filters every
    # 60 deg over the whole circle: each edge polarity survives the ReLU.
    out = [(f"gabor even {a}°", _zero_mean(gabor_kernel(a, "even"))) for a in (0, 45, 90, 135)]
    out += [(f"gabor odd {a}°", _zero_mean(gabor_kernel(a, "odd"))) for a in (0, 60, 120, 180, 240, 300)]
    return out


def _laplacian_bank() -> list[tuple[str, np.ndarray]]:
    # Laplacian of Gaussian at five scales, sigma 0.6 (about the discrete 3x3
    # Laplacian) to 2.2 (centre-surround over the whole 5x5), each as an
    # on-centre and an off-centre filter: ReLU keeps one sign only, and both the
    # strokes (on-centre) and the gaps and insides of loops (off-centre) carry
    # the digit's shape. Truncation to 5x5 leaves a DC component; it is
    # removed, as a Laplacian must not answer to flat paper.
    out = []
    for s in (0.6, 0.9, 1.2, 1.6, 2.2):
        k = _zero_mean(log_kernel(s))
        out.append((f"LoG σ={s} on", k))
        out.append((f"LoG σ={s} off", -k))
    return out


def _gaussian_bank() -> list[tuple[str, np.ndarray]]:
    # Two smoothers (ink density at two scales; not zero-mean, their bias makes
    # blank paper 0), first derivatives in both signs along x and y (edges of
    # each polarity), and second derivatives (ridge/line detectors, saddle).
    s = 1.0
    out = [("gaussian σ=0.8", gaussian_kernel(0.8)), ("gaussian σ=1.5", gaussian_kernel(1.5))]
    gx, gy = gaussian_derivative(s, (1, 0)), gaussian_derivative(s, (0, 1))
    # Conv2d correlates: the kernel dG/dx (positive on the left) computes -dI/dx
    # of the smoothed image, so that is its name; the sign pair covers both.
    out += [("-d/dx", gx), ("d/dx", -gx), ("-d/dy", gy), ("d/dy", -gy)]
    gxx, gyy, gxy = (gaussian_derivative(s, o) for o in ((2, 0), (0, 2), (1, 1)))
    out += [("-d²/dx²", -_zero_mean(gxx)), ("-d²/dy²", -_zero_mean(gyy)), ("d²/dxdy", gxy), ("-d²/dxdy", -gxy)]
    return out


_BUILDERS = {"gabor": _gabor_bank, "laplacian": _laplacian_bank, "gaussian": _gaussian_bank}


def _check(name: str) -> None:
    if name not in BANKS:
        from vidrec.errors import VidrecError

        raise VidrecError(f"unknown filter bank {name!r}; choose one of: {', '.join(BANKS)}")


def bank_names(name: str) -> list[str]:
    """A short label for each filter of a fixed bank (for plots and tables)."""
    _check(name)
    if name == "learned":
        return [f"learned {i}" for i in range(N_FILTERS)]
    return [n for n, _ in _BUILDERS[name]()]


def make_bank(name: str, rms: float = RESPONSE_RMS):
    """The fixed bank ``name`` as a float32 tensor [10, 1, 5, 5], each filter answering MNIST ink with RMS ``rms``.

    ``learned`` has no fixed bank: it returns a fresh default-initialised
    conv1 weight (what training would start from).
    """
    import torch

    _check(name)
    if name == "learned":
        from torch import nn

        torch.manual_seed(0)
        return nn.Conv2d(1, N_FILTERS, SIZE).weight.detach().clone()
    ks = np.stack([k * (rms / response_rms(k)) for _, k in _BUILDERS[name]()])
    assert ks.shape == (N_FILTERS, SIZE, SIZE)
    return torch.from_numpy(ks.astype(np.float32)).unsqueeze(1)


def background_bias(weight, background: float = MNIST_BACKGROUND):
    """The bias that makes blank paper respond exactly 0: ``-background * sum(w)`` per filter."""
    return -background * weight.sum(dim=(1, 2, 3))


def first_conv(model):
    """The model's first ``nn.Conv2d`` (SeedNet's ``conv1``; any net with a conv works)."""
    from torch import nn

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    from vidrec.errors import VidrecError

    raise VidrecError(f"{type(model).__name__} has no convolution layer")


def apply_bank(model, name: str, background: float = MNIST_BACKGROUND):
    """Put the fixed bank ``name`` into the model's first convolution and freeze it.

    Weight and bias both stop learning (``requires_grad = False``): a fixed bank
    whose bias still trains is no longer a fixed bank. The bias is set so that
    blank paper responds 0 (see :func:`background_bias`); ``learned`` leaves
    the layer as it is and trainable. Returns the model.
    """
    import torch

    _check(name)
    if name == "learned":
        return model
    conv = first_conv(model)
    w = make_bank(name)
    if tuple(conv.weight.shape) != tuple(w.shape):
        from vidrec.errors import VidrecError

        raise VidrecError(
            f"the first convolution has weights {tuple(conv.weight.shape)}; a fixed bank needs {tuple(w.shape)}"
        )
    with torch.no_grad():
        conv.weight.copy_(w)
        if conv.bias is not None:
            conv.bias.copy_(background_bias(w, background))
    conv.weight.requires_grad_(False)
    if conv.bias is not None:
        conv.bias.requires_grad_(False)
    return model
