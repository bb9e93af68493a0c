"""Folders of handwritten letters -> normalised 28x28 crops with labels.

Two layouts are read, because the two kinds of data people have come that way:

- folder per class: ``DIR/alpha/*.png``, ``DIR/beta/*.jpg``, ... (the course's
  27 examples; what a user makes to add delta or theta). The classes are the
  folder names, sorted.
- files named by label: ``DIR/<writer>/<letter>_<n>.<ext>`` (or the files
  straight in DIR): the label is the file name before the first underscore, and
  the sub-folder is the writer, so evaluation can hold out whole writers.

Every image goes through :func:`vidrec.crop.read_image` and
:func:`vidrec.crop.normalize_crop`, the one normalisation the video path uses
too, so a model trained here sees at run time what it saw in training.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from vidrec.errors import VidrecError

FOLDER_LAYOUT_HELP = (
    "expected DIR with one sub-folder per letter, each holding that letter's images "
    "(e.g. DIR/alpha/*.png, DIR/beta/*.png, DIR/gamma/*.png; at least 2 letters)"
)
FILES_LAYOUT_HELP = "or files named <letter>_<n>.<ext>, optionally in one sub-folder per writer"


def _image_ext() -> tuple[str, ...]:
    from vidrec.crop import IMAGE_EXTENSIONS

    return IMAGE_EXTENSIONS


@dataclass
class LetterSet:
    """Normalised crops (float32 [N,28,28] in [0,1]) with labels and where each came from."""

    images: np.ndarray
    labels: np.ndarray  # int64 index into classes
    classes: list[str]
    paths: list[Path] = field(default_factory=list)
    writers: list[str] = field(default_factory=list)
    layout: str = "folders"
    root: Path | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def label_names(self) -> list[str]:
        return [self.classes[i] for i in self.labels]

    def subset(self, keep: np.ndarray | Sequence[bool], classes: list[str] | None = None) -> "LetterSet":
        """The images where ``keep`` is true; with ``classes``, relabelled to that class list."""
        keep = np.asarray(keep, bool)
        names = [n for n, k in zip(self.label_names, keep) if k]
        classes = list(classes) if classes is not None else list(self.classes)
        return LetterSet(
            images=self.images[keep],
            labels=np.array([classes.index(n) for n in names], np.int64),
            classes=classes,
            paths=[p for p, k in zip(self.paths, keep) if k],
            writers=[w for w, k in zip(self.writers, keep) if k],
            layout=self.layout,
            root=self.root,
        )

    def only(self, classes: Sequence[str]) -> "LetterSet":
        """The images of these classes, labelled in this order (for a model's class list)."""
        names = self.label_names
        return self.subset([n in classes for n in names], list(classes))

    def tensors(self, mean: float, std: float):
        """(x [N,1,28,28] normalised like the model's input, y int64)."""
        import torch

        from vidrec.crop import to_model_input
        from vidrec.modelstore import ModelInfo

        info = ModelInfo(classes=self.classes, mean=mean, std=std)
        return to_model_input(self.images, info), torch.as_tensor(self.labels)

    def checksum(self) -> str:
        """SHA-256 over the files' relative paths and bytes: what the model card records."""
        return data_checksum(self.paths, self.root)


def data_checksum(paths: Sequence[Path], root: Path | None = None) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        rel = os.path.relpath(p, root) if root else p.name
        h.update(rel.encode())
        h.update(b"\0")
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def _images_in(folder: Path) -> list[Path]:
    ext = _image_ext()
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ext and not p.name.startswith("."))


def label_from_name(path: Path) -> str | None:
    """``beta_3.png`` -> ``beta``; None when the name has no ``<label>_`` part."""
    stem = path.stem
    if "_" not in stem:
        return None
    label = stem.split("_", 1)[0].strip().lower()
    return label or None


def detect_layout(root: Path) -> str:
    """'folders' (DIR/<letter>/...) or 'files' (<letter>_<n> names, per-writer sub-folders).

    A sub-folder whose images are named after the folder (``alpha/alpha_001.png``)
    or not named by label at all is a class folder; a sub-folder whose image names
    carry labels other than its own name is a writer folder.
    """
    subdirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    top_files = _images_in(root)
    if top_files and not subdirs:
        return "files"
    for d in subdirs:
        imgs = _images_in(d)
        if not imgs:
            continue
        labels = {label_from_name(p) for p in imgs}
        if None in labels or labels == {d.name.lower()}:
            return "folders"
        return "files"
    return "folders"


def _check_root(root: str | os.PathLike | None) -> Path:
    if root is None or str(root) == "":
        raise VidrecError(f"no data folder given; {FOLDER_LAYOUT_HELP}")
    root = Path(root).expanduser()
    if not root.exists():
        raise VidrecError(f"{root}: no such folder; {FOLDER_LAYOUT_HELP}")
    if not root.is_dir():
        raise VidrecError(f"{root}: is a file, not a folder; {FOLDER_LAYOUT_HELP}")
    return root


def _normalise_all(paths: list[Path], on_image: Callable[[int, int], None] | None) -> np.ndarray:
    from vidrec.crop import normalize_crop, read_image

    out = np.zeros((len(paths), 28, 28), np.float32)
    for i, p in enumerate(paths):
        out[i] = normalize_crop(read_image(p))
        if on_image is not None:
            on_image(i + 1, len(paths))
    return out


def load_folders(root: str | os.PathLike | None, min_classes: int = 2,
                 on_image: Callable[[int, int], None] | None = None) -> LetterSet:
    """DIR/<letter>/<images>: classes are the folder names, sorted."""
    root = _check_root(root)
    subdirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    if len(subdirs) < min_classes:
        found = ", ".join(d.name for d in subdirs) or "none"
        raise VidrecError(f"{root}: found {len(subdirs)} letter folder(s) ({found}); {FOLDER_LAYOUT_HELP}")
    paths, labels, classes = [], [], []
    for d in subdirs:
        imgs = _images_in(d)
        if not imgs:
            raise VidrecError(f"{root}: letter folder {d.name}/ has no images; {FOLDER_LAYOUT_HELP}")
        classes.append(d.name)
        paths += imgs
        labels += [len(classes) - 1] * len(imgs)
    images = _normalise_all(paths, on_image)
    return LetterSet(images, np.array(labels, np.int64), classes, paths,
                     writers=[root.name] * len(paths), layout="folders", root=root)


def load_files(root: str | os.PathLike | None, min_classes: int = 2,
               on_image: Callable[[int, int], None] | None = None) -> LetterSet:
    """DIR/<writer>/<letter>_<n>.<ext> (or DIR/<letter>_<n>.<ext>): labels from the names."""
    root = _check_root(root)
    paths, names, writers = [], [], []
    folders = [root] + [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    for d in folders:
        for p in _images_in(d):
            label = label_from_name(p)
            if label is None:
                raise VidrecError(f"{p}: cannot tell the letter from the file name; {FILES_LAYOUT_HELP}")
            paths.append(p)
            names.append(label)
            writers.append(d.name if d != root else "")
    classes = sorted(set(names))
    if len(classes) < min_classes:
        raise VidrecError(f"{root}: found {len(classes)} letter(s) ({', '.join(classes) or 'none'}); "
                          f"{FOLDER_LAYOUT_HELP}, {FILES_LAYOUT_HELP}")
    images = _normalise_all(paths, on_image)
    return LetterSet(images, np.array([classes.index(n) for n in names], np.int64), classes, paths,
                     writers=writers, layout="files", root=root)


def load(root: str | os.PathLike | None, layout: str = "auto", min_classes: int = 2,
         on_image: Callable[[int, int], None] | None = None) -> LetterSet:
    """Either layout; ``layout`` is 'auto', 'folders' or 'files'."""
    root = _check_root(root)
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "folders":
        return load_folders(root, min_classes, on_image)
    if layout == "files":
        return load_files(root, min_classes, on_image)
    raise VidrecError(f"unknown layout {layout!r}; use auto, folders or files")


def count_images(root: str | os.PathLike) -> int:
    """How many images a load will read (for a progress bar's total)."""
    root = Path(root)
    n = len(_images_in(root)) if root.is_dir() else 0
    if root.is_dir():
        for d in root.iterdir():
            if d.is_dir() and not d.name.startswith("."):
                n += len(_images_in(d))
    return n
