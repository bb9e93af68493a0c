"""Write files so that a crash or Ctrl-C never leaves a half-written one behind.

Every artefact the tool makes (weights, cards, plots, CSV) is written to a
temporary file in the same folder and renamed over the target only once it is
complete; ``os.replace`` is atomic on POSIX and Windows.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    The temporary name keeps the target's suffix (or ``suffix``) so that libraries
    that pick a format from the extension (matplotlib, OpenCV) still work.
    """
    target = Path(target)
    tmp_path = temporary_beside(target, suffix or target.suffix)
    try:
        yield tmp_path
        if tmp_path.exists():
            usual_permissions(tmp_path)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def temporary_beside(target: Path, suffix: str) -> Path:
    """A fresh empty file in ``target``'s folder (made if missing); one clear error when it cannot be."""
    from vidrec.errors import VidrecError

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    except OSError as e:
        raise VidrecError(f"cannot write {target}: {e.strerror or e}") from None
    os.close(fd)
    return Path(tmp)


def check_writable(*targets: str | os.PathLike) -> None:
    """Fail before long work, not after it, when an output cannot be written."""
    for target in targets:
        temporary_beside(Path(target), "").unlink()


def usual_permissions(path: str | os.PathLike) -> None:
    """mkstemp makes 0600 files; give a file the permissions a plain open() would (0666 less the umask)."""
    os.chmod(path, 0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | os.PathLike, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_json(target: str | os.PathLike, obj, indent: int = 2) -> Path:
    return write_text(target, json.dumps(obj, indent=indent, sort_keys=False) + "\n")
