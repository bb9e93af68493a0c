"""``vidrec analyze filters`` and ``vidrec experiment filterbanks`` as a user runs them, on real small models."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from vidrec import filterbanks, modelstore, nets
from vidrec.modelstore import ModelInfo


@pytest.fixture(scope="module")
def small_model(mnist_ready, tmp_path_factory):
    """A SeedNet trained briefly on real MNIST (a fixed Gabor first layer, so its filters are known)."""
    import dataclasses

    from vidrec.datasets import load_tensors
    from vidrec.trainconfig import MNIST_DEFAULT
    from vidrec.training import fit

    x, y = load_tensors("mnist", True)
    model = filterbanks.apply_bank(nets.SeedNet(), "gabor")
    fit(model, (x[:2000], y[:2000]), None, dataclasses.replace(MNIST_DEFAULT, epochs=1))
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    modelstore.save(model, ModelInfo(), path, {"first_layer": "gabor"})
    return path


class OddNet(nn.Module):
    """Not a SeedNet: the first convolution is nested and has 6 3x3 filters."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(6 * 26 * 26, 10), nn.LogSoftmax(1))

    def forward(self, x):
        return self.head(self.stem(x))


def _png(path):
    img = cv2.imread(str(path))
    assert img is not None, f"{path} is not a readable PNG"
    return img


def test_analyze_filters_writes_grid_table_and_effects(small_model, tmp_path, runner, cli):
    r = runner.invoke(cli, ["analyze", "filters", "--model", str(small_model), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    grid = _png(tmp_path / "tiny_filters.png")
    effects = _png(tmp_path / "tiny_filter_effects.png")
    assert grid.shape[0] > 300 and grid.shape[1] > 400
    assert effects.shape[0] > grid.shape[0]  # input row + 5 rows of filter | response pairs
    rows = list(csv.reader((tmp_path / "tiny_filters.csv").open()))
    assert len(rows) == 11 and len(rows[0]) == 2 + 25
    w = np.array([[float(v) for v in row[2:]] for row in rows[1:]]).reshape(10, 5, 5)
    np.testing.assert_allclose(w, filterbanks.make_bank("gabor")[:, 0].numpy(), atol=1e-5)
    assert "gabor even 0°" in r.output  # the table names the bank's filters
    assert "frozen" in r.output


def test_filter_effects_are_opencv_correlation():
    """filter2D of a delta gives the kernel flipped (correlation), as Conv2d computes."""
    from vidrec.analysis import filtered_images

    img = np.zeros((9, 9), np.float32)
    img[4, 4] = 1.0
    k = np.arange(25, dtype=np.float32).reshape(5, 5)
    out = filtered_images(k[None], img)[0]
    np.testing.assert_allclose(out[2:7, 2:7], k[::-1, ::-1])
    conv = torch.nn.functional.conv2d(torch.from_numpy(img)[None, None], torch.from_numpy(k)[None, None], padding=2)
    np.testing.assert_allclose(out, conv[0, 0].numpy(), atol=1e-5)


def test_analyze_filters_works_on_any_first_convolution(mnist_ready, tmp_path, runner, cli):
    nets.register_architecture("test_oddnet", OddNet)
    path = tmp_path / "odd.safetensors"
    modelstore.save(OddNet(), ModelInfo(arch="test_oddnet"), path)
    r = runner.invoke(cli, ["analyze", "filters", "--model", str(path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    rows = list(csv.reader((tmp_path / "o" / "odd_filters.csv").open()))
    assert len(rows) == 7 and len(rows[0]) == 2 + 9
    assert "stem.0" in r.output
    _png(tmp_path / "o" / "odd_filter_effects.png")


def test_analyze_filters_missing_model_is_one_clear_line(tmp_path, runner, cli):
    r = runner.invoke(cli, ["analyze", "filters", "--model", str(tmp_path / "nope.safetensors")])
    assert r.exit_code == 1
    assert "model file not found" in r.output and "Traceback" not in r.output


def test_unknown_bank_in_experiment_is_rejected_before_training(tmp_path, runner, cli):
    r = runner.invoke(cli, ["experiment", "filterbanks", "--bank", "sobel", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "unknown filter bank 'sobel'" in r.output
    assert not (tmp_path / "filterbanks.csv").exists()


@pytest.mark.slow
def test_experiment_filterbanks_trains_each_bank_the_same_way(mnist_ready, tmp_path, runner, cli):
    out = tmp_path / "fb"
    r = runner.invoke(cli, ["experiment", "filterbanks", "--epochs", "1", "--limit", "3000",
                            "--bank", "laplacian", "--bank", "learned", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader((out / "filterbanks.csv").open()))
    assert [row["bank"] for row in rows] == ["laplacian", "learned"]
    by = {row["bank"]: row for row in rows}
    assert by["laplacian"]["first_layer_frozen"] == "True" and by["learned"]["first_layer_frozen"] == "False"
    assert by["laplacian"]["dead_units"] == "0"
    for row in rows:
        assert 0.5 < float(row["test_accuracy"]) <= 1.0  # 3000 digits, one epoch: far above chance
        assert int(row["train_examples"]) == 3000
        _png(row["filters_png"])
    card = json.loads((out / "models" / "laplacian.json").read_text())
    assert card["first_layer"] == "laplacian"
    data = json.loads((out / "filterbanks.json").read_text())
    assert data["config"]["epochs"] == 1 and len(data["results"]) == 2
    assert "laplacian" in r.output and "learned" in r.output


def test_analyze_filters_on_the_committed_greek_model(mnist_ready, tmp_path, runner, cli):
    from vidrec.modelstore import models_dir

    if not (models_dir() / "greek.safetensors").exists():
        pytest.skip("no committed Greek model in models/")
    r = runner.invoke(cli, ["analyze", "filters", "--model", "greek", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rows = list(csv.reader((tmp_path / "greek_filters.csv").open()))
    assert len(rows) == 11
    _png(tmp_path / "greek_filters.png")
