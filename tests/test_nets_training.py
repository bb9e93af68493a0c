"""The seed network's shapes, a short real training run, and repeatability."""

from __future__ import annotations

import torch

from vidrec import datasets, modelstore, nets, training
from vidrec.trainconfig import TrainConfig


def test_seednet_layers_are_the_seeds():
    m = nets.SeedNet()
    assert (m.conv1.in_channels, m.conv1.out_channels, m.conv1.kernel_size) == (1, 10, (5, 5))
    assert (m.conv2.in_channels, m.conv2.out_channels, m.conv2.kernel_size) == (10, 20, (5, 5))
    assert isinstance(m.conv2_drop, torch.nn.Dropout2d) and m.conv2_drop.p == 0.5
    assert (m.fc1.in_features, m.fc1.out_features, m.fc2.out_features) == (320, 50, 10)
    rows = {name: shape for name, _, shape, _ in nets.summary(m)}
    assert rows["conv1"] == (1, 10, 24, 24)
    assert rows["conv2"] == (1, 20, 8, 8)
    assert rows["fc1"] == (1, 50)
    out = m.eval()(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 10)
    assert torch.allclose(out.exp().sum(1), torch.ones(3), atol=1e-5)  # log-softmax


def _subset(n):
    x, y = datasets.load_tensors("mnist", True)
    xt, yt = datasets.load_tensors("mnist", False)
    return (x[:n], y[:n]), (xt[:2000], yt[:2000])


def test_short_real_training_learns(mnist_ready):
    train, test = _subset(6000)
    m = nets.SeedNet()
    h = training.fit(m, train, test, TrainConfig(epochs=2, batch_size=64, lr=0.005))
    assert h.train_loss[-1] < h.train_loss[0]
    assert h.test_accuracy[-1] > 0.85  # chance is 0.10


def test_same_seed_gives_identical_weights_and_another_seed_does_not(runner, cli, tmp_path, mnist_ready):
    """Repeatability as a user gets it: the card's "reproduce" command writes the same weights again."""
    import json
    import shlex

    def train(name, args):
        out = tmp_path / f"{name}.safetensors"
        r = runner.invoke(cli, args + ["--out", str(out)])
        assert r.exit_code == 0, r.output
        return modelstore.load(out)[0].state_dict(), json.loads(out.with_suffix(".json").read_text())

    base = ["train", "mnist", "--epochs", "1", "--limit", "1500", "--augment"]
    a, card = train("a", base + ["--seed", "2502"])
    again = shlex.split(card["reproduce"])
    assert again[:3] == ["vidrec", "train", "mnist"] and "--limit" in again
    b, _ = train("b", again[1:])
    c, _ = train("c", base + ["--seed", "7"])
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_augmentation_keeps_background_and_changes_digits(mnist_ready):
    x, _ = datasets.load_tensors("mnist", False)
    xb = x[:64]
    bg = float(x.min())
    torch.manual_seed(0)
    out = training.augment_batch(xb, bg)
    assert out.shape == xb.shape
    assert not torch.allclose(out, xb)
    # corners stay empty paper
    assert torch.allclose(out[:, :, 0, 0], torch.full_like(out[:, :, 0, 0], bg), atol=1e-4)


def test_save_load_roundtrip_and_hostile_files(tmp_path):
    import pytest

    from vidrec.errors import VidrecError

    m = nets.SeedNet()
    p = modelstore.save(m, modelstore.ModelInfo(), tmp_path / "m.safetensors", {"test_accuracy": 0.5})
    m2, info, card = modelstore.load(p)
    assert card["test_accuracy"] == 0.5 and info.arch == "seednet"
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k])
    pickled = tmp_path / "evil.safetensors"
    torch.save(m.state_dict(), pickled)  # a pickle, not safetensors
    with pytest.raises(VidrecError, match="not a readable safetensors"):
        modelstore.load(pickled)
    with pytest.raises(VidrecError, match="not found"):
        modelstore.load(tmp_path / "missing.safetensors")
    with pytest.raises(VidrecError, match="no model named"):
        modelstore.load("no-such-model")


def test_for_inference_gives_the_same_outputs_and_saves_plain(tmp_path, mnist_ready):
    """The channels-last layout the recognisers run: the committed models' outputs unchanged
    on real digits, and a model saved from it loads with the weights it had."""
    x, _ = datasets.load_tensors("mnist", False)  # normalised as the models' inputs are
    for name in ("mnist", "greek"):
        plain, info, _ = modelstore.load(name)
        fast, _, _ = modelstore.load(name)
        fast = nets.for_inference(fast)
        convs = [p for p in fast.parameters() if p.dim() == 4]
        assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
        assert not fast.training
        with torch.inference_mode():
            assert torch.allclose(fast(x[:64]), plain(x[:64]), atol=1e-5)
    path = modelstore.save(fast, info, tmp_path / "g.safetensors")
    again, _, _ = modelstore.load(path)
    for (k, a), (_, b) in zip(fast.state_dict().items(), again.state_dict().items()):
        assert torch.allclose(a, b, rtol=0, atol=0, equal_nan=True), k  # (an unset threshold is NaN)


def test_european_styles_draw_into_ones_and_sevens_only(mnist_ready):
    """Flags and feet go onto a share of the 1s and bars across a share of the 7s, as ink
    added (nothing taken away), at the top left of a flagged 1; no other digit changes, and
    a seed remakes the same digits."""
    import numpy as np

    from vidrec import digits

    x, y = datasets.load_arrays("mnist", True)
    x, y = x[:6000], y[:6000]
    styled = digits.european_styles(x, y, 0.3, seed=5)
    changed = (styled != x).reshape(len(x), -1).any(1)
    assert not changed[(y != 1) & (y != 7)].any()
    ones, sevens = changed[y == 1].mean(), changed[y == 7].mean()
    assert 0.35 < ones < 0.55, ones  # flag 0.3, foot 0.2: 1 - 0.7 * 0.8 = 0.44
    assert 0.22 < sevens < 0.38, sevens
    gain = styled[changed].astype(int) - x[changed].astype(int)
    assert gain.sum(axis=(1, 2)).min() > 0  # ink drawn in
    assert (styled[changed][x[changed] > 128] >= 100).mean() > 0.99  # the digit's own strokes kept
    assert np.array_equal(styled, digits.european_styles(x, y, 0.3, seed=5))
    assert not np.array_equal(styled, digits.european_styles(x, y, 0.3, seed=6))
    assert np.array_equal(digits.european_styles(x, y, 0.0, seed=5), x)


def test_hooked_nines_curl_a_share_of_the_nines_to_the_left(mnist_ready):
    """A share of the 9s get a tail curled to the left (ink added low and left of the stem,
    the digit framed as MNIST frames it: 20 px at most, centred, as bright); no other digit
    changes, a seed remakes the same digits, and the European styles of a seed are the same
    with or without the hooks (their own random streams)."""
    import numpy as np

    from vidrec import digits

    x, y = datasets.load_arrays("mnist", True)
    x, y = x[:6000], y[:6000]
    hooked = digits.hooked_nines(x, y, 0.3, seed=5)
    changed = (hooked != x).reshape(len(x), -1).any(1)
    assert not changed[y != 9].any()
    assert 0.22 < changed[y == 9].mean() < 0.38, changed[y == 9].mean()
    before, after = x[changed].astype(np.float32), hooked[changed].astype(np.float32)

    def low_left_share(a):  # the ink below the middle row and left of the ink's centre column
        cols = np.arange(28, dtype=np.float32)
        cx = (a.sum(axis=1) @ cols) / a.sum(axis=(1, 2))
        low_left = (cols[None, :] < cx[:, None, None]) & (np.arange(28)[:, None] > 16)
        return (a * low_left).sum(axis=(1, 2)) / a.sum(axis=(1, 2))

    assert (low_left_share(after) > low_left_share(before)).mean() > 0.9
    rows = (after > 20).any(axis=2)
    heights = 28 - rows.argmax(axis=1) - rows[:, ::-1].argmax(axis=1)
    assert heights.max() <= 21 and heights.min() >= 17, (heights.min(), heights.max())  # framed again
    assert abs((after > 200).sum() / (after > 20).sum() - (before > 200).sum() / (before > 20).sum()) < 0.1
    assert np.array_equal(hooked, digits.hooked_nines(x, y, 0.3, seed=5))
    assert not np.array_equal(hooked, digits.hooked_nines(x, y, 0.3, seed=6))
    assert np.array_equal(digits.hooked_nines(x, y, 0.0, seed=5), x)
    both = digits.hooked_nines(digits.european_styles(x, y, 0.3, seed=5), y, 0.3, seed=5)
    assert np.array_equal(both[y != 9], digits.european_styles(x, y, 0.3, seed=5)[y != 9])
    assert np.array_equal(both[y == 9], hooked[y == 9])


def test_seed_ensemble_is_the_mean_of_its_members(tmp_path):
    """Its output is the log of the members' mean probability, in inference mode (the members
    run fused as one network) as outside it (each member on its own), after a save and a
    load, and channels-last as the recognisers run it."""
    torch.manual_seed(0)
    ens = nets.SeedEnsemble(3).eval()
    x = torch.randn(7, 1, 28, 28)
    with torch.no_grad():
        want = torch.stack([m(x).exp() for m in ens.members]).mean(0).log()
        plain = ens(x)
    with torch.inference_mode():
        fused = ens(x)
    assert torch.allclose(plain, want, atol=1e-5) and torch.allclose(fused, want, atol=1e-5)
    assert torch.allclose(fused.exp().sum(1), torch.ones(7), atol=1e-5)
    info = modelstore.ModelInfo(arch="seedensemble", arch_kwargs={"members": 3, "num_classes": 10})
    again, _, _ = modelstore.load(modelstore.save(ens, info, tmp_path / "e.safetensors"))
    fast = nets.for_inference(again)
    with torch.inference_mode():
        assert torch.allclose(fast(x), want, atol=1e-5)
    with torch.no_grad():
        ens.members[1].fc2.bias += 3.0  # weights changed after a fused pass: no stale copy is used
        want = torch.stack([m(x).exp() for m in ens.members]).mean(0).log()
    with torch.inference_mode():
        assert torch.allclose(ens(x), want, atol=1e-5)
    ens.members[2].load_state_dict(ens.members[0].state_dict())
    with torch.no_grad():
        want = torch.stack([m(x).exp() for m in ens.members]).mean(0).log()
    with torch.inference_mode():
        assert torch.allclose(ens(x), want, atol=1e-5)
