"""Fixed first-layer banks: shape, normalisation measured on real MNIST, frozen through real training, they learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidrec import filterbanks as fb
from vidrec.errors import VidrecError
from vidrec.nets import SeedNet

FIXED = ("gabor", "laplacian", "gaussian")


@pytest.fixture(scope="module")
def mnist(mnist_ready):
    from vidrec.datasets import load_tensors

    x, y = load_tensors("mnist", True)
    xt, yt = load_tensors("mnist", False)
    return x, y, xt, yt


@pytest.mark.parametrize("name", fb.BANKS)
def test_every_bank_is_ten_5x5_filters(name):
    w = fb.make_bank(name)
    assert tuple(w.shape) == (10, 1, 5, 5)
    assert w.dtype == torch.float32
    assert torch.isfinite(w).all()
    assert len(fb.bank_names(name)) == 10


@pytest.mark.parametrize("name", FIXED)
def test_fixed_banks_hold_ten_different_filters(name):
    w = fb.make_bank(name).flatten(1)
    d = torch.cdist(w, w) + torch.eye(10) * 1e9
    assert d.min() > 1e-3, "two filters of the bank are the same"


def test_detectors_are_zero_mean_and_smoothers_are_not():
    for name in ("gabor", "laplacian"):
        assert fb.make_bank(name).sum(dim=(1, 2, 3)).abs().max() < 1e-5, name
    sums = fb.make_bank("gaussian").sum(dim=(1, 2, 3))
    assert (sums[:2] > 0.1).all()  # the two smoothers
    assert sums[2:].abs().max() < 1e-5  # the derivatives


def test_ink_model_matches_mnist(mnist):
    """The second-moment model the banks are scaled with, re-measured over real 5x5 patches."""
    x = mnist[0][:3000] - fb.MNIST_BACKGROUND
    p = F.unfold(x, 5).transpose(1, 2).reshape(-1, 25).double()
    m = (p.T @ p / len(p)).numpy()
    yy, xx = np.mgrid[0:5, 0:5]
    c = np.stack([yy.ravel(), xx.ravel()], 1)
    dist = np.sqrt(((c[:, None] - c[None]) ** 2).sum(-1))
    for d in (0.0, 1.0, 2.0, 3.0, 4.0, np.sqrt(32)):
        measured = m[np.isclose(dist, d)].mean()
        assert abs(fb.ink_second_moment(np.float64(d)) - measured) / measured < 0.15, (d, measured)


@pytest.mark.parametrize("name", FIXED)
def test_responses_on_mnist_have_the_scale_of_a_trained_first_layer(name, mnist):
    w = fb.make_bank(name)
    r = F.conv2d(mnist[0][:2000], w, fb.background_bias(w))
    rms = r.pow(2).mean(dim=(0, 2, 3)).sqrt()
    assert ((rms > 0.3) & (rms < 0.8)).all(), rms  # target 0.5; a unit-norm Laplacian would be ~0.1


@pytest.mark.parametrize("name", FIXED)
def test_blank_paper_gives_zero_and_strokes_do_not(name):
    model = fb.apply_bank(SeedNet(), name)
    blank = torch.full((1, 1, 28, 28), fb.MNIST_BACKGROUND)
    with torch.no_grad():
        assert model.conv1(blank).abs().max() < 1e-4
        stroke = blank.clone()
        stroke[..., 10:18, 13:15] = (1 - 0.1307) / 0.3081  # a white vertical bar
        out = F.relu(F.max_pool2d(model.conv1(stroke), 2))
    assert (out.amax(dim=(0, 2, 3)) > 0.05).all(), "a filter is blind to a plain stroke"


@pytest.mark.parametrize("name", FIXED)
def test_apply_bank_freezes_weight_and_bias(name):
    model = fb.apply_bank(SeedNet(), name)
    assert torch.equal(model.conv1.weight.detach(), fb.make_bank(name))
    assert not model.conv1.weight.requires_grad and not model.conv1.bias.requires_grad
    assert model.conv2.weight.requires_grad


def test_learned_leaves_the_layer_trainable():
    model = SeedNet()
    before = model.conv1.weight.detach().clone()
    fb.apply_bank(model, "learned")
    assert model.conv1.weight.requires_grad and torch.equal(model.conv1.weight.detach(), before)


def test_unknown_bank_is_a_clear_error():
    with pytest.raises(VidrecError, match="unknown filter bank 'sobel'.*gabor"):
        fb.make_bank("sobel")
    with pytest.raises(VidrecError, match="unknown filter bank"):
        fb.apply_bank(SeedNet(), "sobel")


def _short_training(model, mnist, n=6000):
    from vidrec.trainconfig import MNIST_DEFAULT
    from vidrec.training import evaluate, fit
    import dataclasses

    x, y, xt, yt = mnist
    fit(model, (x[:n], y[:n]), None, dataclasses.replace(MNIST_DEFAULT, epochs=1))
    return evaluate(model, xt[:2000], yt[:2000])[1]


@pytest.mark.parametrize("name", FIXED)
def test_a_fixed_bank_stays_frozen_and_the_network_learns(name, mnist):
    torch.manual_seed(0)
    model = fb.apply_bank(SeedNet(), name)
    w0, b0 = model.conv1.weight.detach().clone(), model.conv1.bias.detach().clone()
    fc0 = model.fc2.weight.detach().clone()
    acc = _short_training(model, mnist)
    assert torch.equal(model.conv1.weight.detach(), w0) and torch.equal(model.conv1.bias.detach(), b0)
    assert not torch.equal(model.fc2.weight.detach(), fc0)  # the rest did train
    assert acc > 0.8, f"{name}: {acc:.2%} after a short training (chance is 10%)"


def test_a_dead_first_layer_learns_nothing(mnist):
    """The seed's 11%: a frozen layer whose units never fire passes no signal, so the rest cannot learn."""
    torch.manual_seed(0)
    model = fb.apply_bank(SeedNet(), "gabor")
    with torch.no_grad():
        model.conv1.bias.fill_(-5.0)  # below every response: ReLU(max-pool) is 0 everywhere
    acc = _short_training(model, mnist, n=3000)
    assert acc < 0.2


def test_the_seeds_sgd_learns_nothing_when_the_bank_scale_is_far_off(mnist):
    """The seed's other 11%: with plain SGD (lr 0.01, momentum 0.5) a bank 300x too loud or 100x too quiet fails."""
    from vidrec.training import TrainConfig, evaluate, fit

    x, y, xt, yt = mnist
    sgd = TrainConfig(optimizer="sgd", lr=0.01, momentum=0.5, schedule="constant", batch_size=64, epochs=1)
    acc = {}
    for gain in (300.0, 0.01, 1.0):
        torch.manual_seed(0)
        model = fb.apply_bank(SeedNet(), "gabor")
        with torch.no_grad():
            model.conv1.weight.mul_(gain)
            model.conv1.bias.mul_(gain)
        fit(model, (x[:6000], y[:6000]), None, sgd)
        acc[gain] = evaluate(model, xt[:2000], yt[:2000])[1]
    assert acc[300.0] < 0.2 and acc[0.01] < 0.2, acc
    assert acc[1.0] > 0.45, acc  # the normalised bank learns under the very same SGD


def test_derivative_names_say_what_the_correlation_computes():
    """Conv2d correlates: the filter named d/dx must answer positively where the image brightens to the right."""
    w = fb.make_bank("gaussian")
    names = fb.bank_names("gaussian")
    ramp = torch.zeros(1, 1, 9, 9)
    ramp[..., 5:] = 1.0
    for name, img in (("d/dx", ramp), ("d/dy", ramp.transpose(2, 3))):
        k = w[names.index(name)][None]
        assert F.conv2d(img, k)[0, 0, 2, 2] > 0.1, name
        assert F.conv2d(img, -k)[0, 0, 2, 2] < -0.1
