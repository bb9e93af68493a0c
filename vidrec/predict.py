"""Recognise the handwritten symbol in each of a set of image files: the functions behind `vidrec predict`.

Every picture goes through :func:`vidrec.crop.read_image` and
:func:`vidrec.crop.normalize_crop`, the same normalisation the video path uses,
so what is measured here on photos is what the video recognisers get. Bad
inputs do not stop the run: each becomes an error record (``{"path", "error"}``)
in its place, and the caller decides the exit code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from vidrec.crop import IMAGE_EXTENSIONS
from vidrec.errors import VidrecError

BATCH = 64  # images read and normalised per forward pass


def expand_paths(paths: Iterable[str | os.PathLike]) -> Iterator[tuple[Path, str | None]]:
    """``(path, None)`` for each image to read, ``(path, error)`` for what cannot be.

    Folders are walked recursively in sorted order and only image extensions
    are taken from them; a file named explicitly is always tried, so a text file
    given by mistake gets its own "not an image" line.
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(
                (f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS),
                key=lambda f: f.as_posix(),
            )
            if not files:
                yield p, f"{p}: folder has no image files ({', '.join(e[1:] for e in IMAGE_EXTENSIONS[:3])}, ...)"
            for f in files:
                yield f, None
        elif p.exists():
            yield p, None
        else:
            yield p, f"{p}: no such file or folder"


def label_from_name(path: str | os.PathLike) -> str | None:
    """The true label a file name carries, if any: the part before the first underscore (``7_2.jpg`` -> ``7``)."""
    stem = Path(path).name.split(".")[0]
    if "_" not in stem:
        return None
    return stem.split("_", 1)[0] or None


def _crop_for(path: Path) -> np.ndarray:
    from vidrec.crop import normalize_crop, read_image

    img = read_image(path)
    if img.size == 0 or min(img.shape[:2]) == 0:
        raise VidrecError(f"{path}: empty image (no pixels)")
    crop = normalize_crop(img)
    if not crop.any():
        raise VidrecError(f"{path}: no handwriting found (the image is blank or has no contrast)")
    return crop


def predict_paths(
    paths: Iterable[str | os.PathLike],
    model: str | os.PathLike | tuple = "digits",
    batch_size: int = BATCH,
    with_crops: bool = False,
) -> Iterator[dict]:
    """Yield, in order, one record per image: ``{"path", "label", "confidence", "top3"}``.

    A file that cannot be used yields ``{"path", "error"}`` instead. With
    ``with_crops`` each good record also carries ``"crop"``, the 28x28 float
    array the model saw. The forward pass runs on batches of ``batch_size``.
    ``model`` is a name, a file, or what :func:`vidrec.modelstore.load` returned.
    """
    import torch

    from vidrec import modelstore
    from vidrec.crop import to_model_input
    from vidrec.nets import for_inference

    net, info, _ = model if isinstance(model, tuple) else modelstore.load(model)
    net = for_inference(net)
    classes = list(info.classes)

    def flush(batch: list[tuple[Path, np.ndarray]]) -> Iterator[dict]:
        if not batch:
            return
        with torch.no_grad():
            out = net(to_model_input([c for _, c in batch], info))
            prob = torch.softmax(out.float(), dim=1).numpy()
        k = min(3, prob.shape[1])
        for (path, crop), p in zip(batch, prob):
            top = np.argsort(-p, kind="stable")[:k]
            rec = {
                "path": str(path),
                "label": classes[top[0]],
                "confidence": round(float(p[top[0]]), 4),
                "top3": [[classes[i], round(float(p[i]), 4)] for i in top],
            }
            if with_crops:
                rec["crop"] = crop
            yield rec

    pending: list[dict | tuple[Path, np.ndarray]] = []  # keeps errors in input order

    def drain() -> Iterator[dict]:
        good = [x for x in pending if isinstance(x, tuple)]
        results = iter(list(flush(good)))
        for x in pending:
            yield next(results) if isinstance(x, tuple) else x
        pending.clear()

    n_good = 0
    for path, error in expand_paths(paths):
        if error is None:
            try:
                pending.append((path, _crop_for(path)))
                n_good += 1
            except VidrecError as e:
                pending.append({"path": str(path), "error": str(e)})
        else:
            pending.append({"path": str(path), "error": error})
        if n_good >= batch_size:
            yield from drain()
            n_good = 0
    yield from drain()


def crop_file_names(paths: list[str]) -> list[str]:
    """Unique, readable PNG names for the crops: the path below the inputs' common folder, '/' -> '__'."""
    if not paths:
        return []
    absp = [Path(p).resolve() for p in paths]
    try:
        common = Path(os.path.commonpath([str(p.parent) for p in absp]))
    except ValueError:  # different drives
        common = None
    names, seen = [], set()
    for p in absp:
        rel = p.relative_to(common) if common is not None else Path(p.name)
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(rel.with_suffix("").parts)) or "crop"
        name, k = f"{base}.png", 2
        while name in seen:
            name, k = f"{base}-{k}.png", k + 1
        seen.add(name)
        names.append(name)
    return names


def save_crops(records: list[dict], folder: str | os.PathLike) -> list[Path]:
    """Write each record's ``crop`` as a 28x28 8-bit PNG (white on black, what the model saw)."""
    import cv2

    from vidrec.atomic import atomic_path

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise VidrecError(f"--save-crops: {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    good = [r for r in records if "crop" in r]
    written = []
    for r, name in zip(good, crop_file_names([r["path"] for r in good])):
        img = np.clip(np.asarray(r["crop"]) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        target = folder / name
        with atomic_path(target) as tmp:
            if not cv2.imwrite(str(tmp), img):
                raise VidrecError(f"could not write {target}")
        written.append(target)
    return written


def accuracy(records: list[dict], classes: Iterable[str] | None = None) -> tuple[int, int] | None:
    """(correct, labelled) over the records whose file names carry a label, or None if none do.

    With ``classes``, a name whose label is not one of them (``notes_1.png``) is not counted.
    """
    known = set(classes) if classes is not None else None
    pairs = [(label_from_name(r["path"]), r["label"]) for r in records if "label" in r]
    pairs = [(t, p) for t, p in pairs if t is not None and (known is None or t in known)]
    if not pairs:
        return None
    return sum(t == p for t, p in pairs), len(pairs)
