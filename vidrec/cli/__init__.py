"""The ``vidrec`` command line: a thin Typer layer over plain Python functions.

Each command module registers its commands on the groups in
:mod:`vidrec.cli.groups` and imports torch, OpenCV and friends only inside the
command, so ``vidrec --help`` answers at once. Every :class:`VidrecError` becomes
one red line on stderr and a non-zero exit, whichever command raised it.
"""

from __future__ import annotations

import importlib

from vidrec.cli.groups import app

# Command modules, imported for their registrations. Each one owns its file.
COMMAND_MODULES = (
    "vidrec.cli.data",
    "vidrec.cli.models",
    "vidrec.cli.mnist",
    "vidrec.cli.pairs",
    "vidrec.cli.predict",
    "vidrec.cli.video",
    "vidrec.cli.recordings",
    "vidrec.cli.greek",
    "vidrec.cli.analyze",
    "vidrec.cli.sweep",
)
for _name in COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _e:  # a module not written yet
        if _e.name != _name:
            raise


def main() -> None:
    app()
