"""Train and evaluate the digit model: the plain functions behind `vidrec train|eval mnist`."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

from vidrec import datasets
from vidrec.trainconfig import MNIST_DEFAULT, TrainConfig  # noqa: F401
from vidrec.training import History


def data_sha256(name: str = "mnist") -> dict[str, str]:
    return dict(datasets.spec_for(name).sha256)


def command_line(argv: list[str] | None = None) -> str | None:
    """The command as typed, or None when not run as the `vidrec` program (e.g. under pytest).

    An absolute path inside the current folder is written relative to it, so a card
    made in one checkout names the same files in every other one (not
    ``/home/someone/vidrec/models/digits.safetensors``).
    """
    argv = list(sys.argv if argv is None else argv)
    if not (argv and argv[0].endswith(("vidrec", "__main__.py"))):
        return None
    here = Path.cwd()

    def portable(arg: str) -> str:
        opt, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if os.path.isabs(value):
            try:
                value = str(Path(value).relative_to(here))
            except ValueError:
                pass
        return opt + eq + value

    return " ".join(["vidrec"] + [portable(a) for a in argv[1:]])


def training_record(cfg: TrainConfig, hist: History, wall: float) -> dict:
    """What a model card says of the run that made it: history, config, seed, time, machine,
    torch, the data's checksums, the command line and when."""
    import torch

    return {
        "history": {k: v for k, v in hist.as_dict().items() if k != "train_curve"},
        "config": cfg.as_dict(),
        "seed": cfg.seed,
        "train_seconds": round(wall, 1),
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.system()}",
        "torch": torch.__version__,
        "data": {"name": "mnist", "sha256": data_sha256()},
        "command": command_line(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def reproduce_command(cfg: TrainConfig, first_layer: str = "learned", limit: int = 0, european: float = 0.0,
                      hooked_nines: float = 0.0) -> str:
    """`vidrec train mnist` with every setting spelled out, so a card says how to remake its model."""
    parts = ["vidrec train mnist", f"--epochs {cfg.epochs}", f"--batch-size {cfg.batch_size}", f"--lr {cfg.lr:g}",
             f"--seed {cfg.seed}", f"--optimizer {cfg.optimizer}",
             "--augment" if cfg.augment else "--no-augment"]
    if cfg.augment:
        parts.append(f"--augment-strength {cfg.augment_strength:g}")
    parts.append(f"--first-layer {first_layer}")
    if european:
        parts.append(f"--european {european:g}")
    if hooked_nines:
        parts.append(f"--hooked-nines {hooked_nines:g}")
    if limit:
        parts.append(f"--limit {limit}")
    return " ".join(parts)


def european_styles(x, y, share: float, seed: int):
    """MNIST's training digits with European 1s and 7s drawn into ``share`` of them; a copy.

    MNIST's writers were American: their 1 is one stroke and their 7 has no bar.
    Many writers elsewhere start a 1 with a long flag, stand it on a foot, and cross
    the 7; the network had never seen those and read a flagged 1 as a 4 (0.63), a
    footed 1 as a 2 and a crossed 7 as a 3. Into ``share`` of the 1s a flag is drawn
    (from the top of the stroke down to the left, 0.2-0.42 of the height long, 25-60
    degrees below the horizontal), into two thirds of that share a foot (0.44-0.76 of
    the height wide), and across ``share`` of the 7s a bar (at 0.5-0.62 of the
    height); each stroke is drawn anti-aliased at four times the size, 1.75-2.5 of
    MNIST's pixels thick, and the digit reduced back. The random numbers come from
    ``seed`` + 1 in a fixed order, so a seed remakes the same digits.
    """
    import cv2
    import numpy as np

    x = x.copy()
    rng = np.random.default_rng(seed + 1)

    def line(big, p0, p1, thick):
        cv2.line(big, (int(p0[0] * 64), int(p0[1] * 64)), (int(p1[0] * 64), int(p1[1] * 64)), 255, thick,
                 cv2.LINE_AA, shift=4)

    for i in np.flatnonzero((y == 1) | (y == 7)):
        ys, xs = np.nonzero(x[i] > 128)
        if len(ys) < 10:
            continue
        y0, y1 = ys.min(), ys.max()
        h = y1 - y0 + 1
        big = cv2.resize(x[i], (112, 112), interpolation=cv2.INTER_LINEAR)
        thick = int(rng.integers(7, 11))
        drawn = False
        if y[i] == 1:
            if rng.random() < share:  # a flag
                top = xs[ys <= y0 + 1].mean()
                length, angle = h * rng.uniform(0.2, 0.42), np.radians(rng.uniform(25, 60))
                line(big, (top + 0.5, y0 + 0.5),
                     (top + 0.5 - length * np.cos(angle), y0 + 0.5 + length * np.sin(angle)), thick)
                drawn = True
            if rng.random() < share * 2 / 3:  # a foot
                foot = xs[ys >= y1 - 1].mean()
                half, tilt = h * rng.uniform(0.22, 0.38), rng.uniform(-0.06, 0.06) * h
                line(big, (foot - half, y1 + 0.5 - tilt), (foot + half, y1 + 0.5 + tilt), thick)
                drawn = True
        elif rng.random() < share:  # a bar across the 7
            ym = int(round(y0 + h * rng.uniform(0.5, 0.62)))
            row = xs[np.abs(ys - ym) <= 1]
            if len(row):
                half, tilt = h * rng.uniform(0.2, 0.3), rng.uniform(-0.08, 0.04) * h
                line(big, (row.mean() - half, ym + 0.5 - tilt), (row.mean() + half, ym + 0.5 + tilt), thick)
                drawn = True
        if drawn:
            x[i] = cv2.resize(big, (28, 28), interpolation=cv2.INTER_AREA)
    return x


def _mnist_framing(img):
    """A grey digit on black (any size) -> 28x28 uint8 framed as MNIST frames its digits: the
    ink's box brought to 20 px on its long side when larger, its centre of mass at the centre,
    its ink as bright as MNIST's (the reductions grey a stroke: half of MNIST's ink pixels are
    above 200, a quarter of a redrawn 9's; 1.6 times its brightest pixel at 255 brings that back
    to a half)."""
    import cv2
    import numpy as np

    from vidrec.crop import place_by_mass

    ys, xs = np.nonzero(img > 20)
    if len(ys) == 0:
        return np.zeros((28, 28), np.uint8)
    d = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)
    s = 20.0 / max(d.shape)
    if s < 1:
        d = cv2.resize(d, (max(1, round(d.shape[1] * s)), max(1, round(d.shape[0] * s))), interpolation=cv2.INTER_AREA)
    return np.clip(np.round(place_by_mass(d * (1.6 * 255.0 / d.max()))), 0, 255).astype(np.uint8)


def hooked_nines(x, y, share: float, seed: int):
    """MNIST's training digits with the tail of ``share`` of the 9s curled to the left; a copy.

    Many writers end a 9's stem in a hook that turns left and up, so the 9 looks like
    a "g"; MNIST's writers hardly ever do, and the network read such 9s as 8 (0.59),
    0 or 3. From the lowest point of the stem the stroke goes on down for up to
    0.6 of the hook's radius, then turns left along a circular arc (radius 0.12-0.24 of
    the digit's height, through 150-225 degrees); it is drawn anti-aliased at four
    times the size, 1.75-2.5 of MNIST's pixels thick, on a canvas with room round the
    digit, and the digit is framed as MNIST frames its digits again
    (:func:`_mnist_framing`: the tail makes it taller). The random numbers come from
    ``seed`` + 2 in a fixed order, so a seed remakes the same digits, and
    :func:`european_styles`' digits of a seed are the same with or without these.
    """
    import cv2
    import numpy as np

    x = x.copy()
    rng = np.random.default_rng(seed + 2)
    pad = 7  # MNIST pixels of room for the tail
    for i in np.flatnonzero(y == 9):
        r_share, radius, end, drop, thick = rng.random(), rng.uniform(0.12, 0.24), rng.uniform(0.85, 1.25), \
            rng.uniform(0, 0.6), int(rng.integers(7, 11))
        ys, xs = np.nonzero(x[i] > 128)
        if r_share >= share or len(ys) < 10:
            continue
        h = ys.max() - ys.min() + 1
        xb, yb = xs[ys >= ys.max() - 1].mean() + 0.5 + pad, ys.max() + 0.5 + pad
        big = cv2.resize(cv2.copyMakeBorder(x[i], pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0),
                         (4 * (28 + 2 * pad),) * 2, interpolation=cv2.INTER_LINEAR)
        r = h * radius
        cx, cy = xb - r, yb + r * drop
        t = np.linspace(0, np.pi * end, 12)
        pts = np.concatenate([[[xb, yb]], np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)])
        cv2.polylines(big, [np.int32(np.round(pts * 64))], False, 255, thick, cv2.LINE_AA, shift=4)
        x[i] = _mnist_framing(cv2.resize(big, (28 + 2 * pad,) * 2, interpolation=cv2.INTER_AREA))
    return x


def train_mnist(
    cfg: TrainConfig,
    out: str | os.PathLike,
    first_layer: str = "learned",
    on_epoch: Callable[[int, History], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    export_onnx: bool = False,
    say: Callable[[str], None] = lambda s: None,
    limit: int = 0,
    european: float = 0.0,
    hooked: float = 0.0,
) -> dict:
    """Train the seed network on MNIST and write weights, loss plot and card atomically.

    Nothing is written until training has finished, so Ctrl-C keeps the previous
    model in place. Returns the model card.
    """
    from vidrec import modelstore, nets, plots, training

    from vidrec.atomic import check_writable

    if export_onnx:
        _check_onnx()
    out = Path(out)
    check_writable(out)  # before a minute of training, not after it
    if european or hooked:
        x, y = datasets.load_arrays("mnist", True, say=say)
        if european:
            x = european_styles(x, y, european, cfg.seed)
        if hooked:
            x = hooked_nines(x, y, hooked, cfg.seed)
        train = datasets.to_tensors("mnist", x, y)
    else:
        train = datasets.load_tensors("mnist", True, say=say)
    if limit:
        train = (train[0][:limit], train[1][:limit])
    test = datasets.load_tensors("mnist", False, say=say)
    training.seed_everything(cfg.seed)
    model = nets.SeedNet()
    if first_layer != "learned":
        from vidrec import filterbanks

        filterbanks.apply_bank(model, first_layer)
    t0 = time.perf_counter()
    hist = training.fit(model, train, test, cfg, on_epoch=on_epoch, on_batch=on_batch)
    wall = time.perf_counter() - t0
    _, acc, pred = training.evaluate(model, *test)
    y = test[1]
    per_class = per_class_accuracy(pred, y, [str(c) for c in range(10)])
    mean, std = datasets.NORMALISATION["mnist"]
    info = modelstore.ModelInfo(arch="seednet", arch_kwargs={}, classes=[str(i) for i in range(10)], mean=mean, std=std)
    card = {
        "name": out.stem,
        "task": "handwritten digits (MNIST)",
        "arch": "seednet",
        "first_layer": first_layer,
        "classes": info.classes,
        "test_accuracy": round(acc, 4),
        "per_class_accuracy": per_class,
        "train_examples": len(train[0]),
        **training_record(cfg, hist, wall),
        "european": european,
        "hooked_nines": hooked,
        "reproduce": reproduce_command(cfg, first_layer, limit, european, hooked),
    }
    n_train = len(train[0])
    plots.loss_curves(
        out.with_suffix(".loss.png"),
        hist.train_curve,
        [(n_train * e, tl) for e, tl in zip(hist.epoch, hist.test_loss)],
        title=f"{out.stem}: train and test loss (test accuracy {acc:.2%})",
    )
    modelstore.save(model, info, out, card)
    if export_onnx:
        export_to_onnx(model, out.with_suffix(".onnx"))
    return card


def _check_onnx() -> None:
    from vidrec.errors import VidrecError

    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise VidrecError("--export onnx needs the onnx and onnxscript packages: pip install 'vidrec[onnx]'") from None


def export_to_onnx(model, path: Path) -> Path:
    """An ONNX file for viewing the network in Netron."""
    import torch

    from vidrec.atomic import atomic_path

    _check_onnx()
    with atomic_path(path) as tmp:
        torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), str(tmp), input_names=["image"], output_names=["log_probs"])
    return path


def eval_mnist(model_name: str, out_dir: str | os.PathLike, say: Callable[[str], None] = lambda s: None) -> dict:
    """Test accuracy, per-class table, confusion matrix PNG and the seed's first-9 figure."""
    import numpy as np

    from vidrec import modelstore, plots, training

    model, info, _ = modelstore.load(model_name)
    x, y = datasets.load_tensors("mnist", False, say=say)
    loss, acc, pred = training.evaluate(model, x, y)
    out_dir = Path(out_dir)
    cm = plots.confusion_matrix(y.numpy(), pred.numpy(), 10)
    cm_png = plots.confusion_matrix_png(cm, info.classes, out_dir / "confusion_matrix.png", title=f"{model_name} on MNIST test")
    raw, _ = datasets.load_arrays("mnist", False)
    grid_png = plots.prediction_grid_png(
        [raw[i] for i in range(9)], [info.classes[int(p)] for p in pred[:9]], out_dir / "first9.png",
        truth=[str(int(t)) for t in y[:9]], title="First 9 MNIST test digits",
    )
    per_class = []
    for c in range(10):
        sel = y.numpy() == c
        per_class.append({"class": info.classes[c], "n": int(sel.sum()),
                          "accuracy": float((pred.numpy()[sel] == c).mean())})
    return {"model": str(model_name), "test_accuracy": acc, "test_loss": loss, "per_class": per_class,
            "confusion_matrix": cm.tolist(), "files": [str(cm_png), str(grid_png)],
            "errors": int((pred != y).sum()), "n": int(len(y))}


def per_class_accuracy(pred, y, classes: list[str]) -> dict[str, float]:
    """Each class's test accuracy, to four places, by its name: what a model card records."""
    return {c: round(float((pred[y == k] == k).float().mean()), 4) for k, c in enumerate(classes)}


def make_ensemble(members: list[str], out: str | os.PathLike, say: Callable[[str], None] = lambda s: None) -> dict:
    """One model (:class:`vidrec.nets.SeedEnsemble`) from two or more trained seed networks.

    The members' weights are copied in unchanged; the ensemble is scored on the
    MNIST test set like a trained model, and its card lists each member's card
    (accuracy, recipe, the command that remakes it). Written atomically.
    """
    from vidrec import modelstore, nets, training
    from vidrec.atomic import check_writable
    from vidrec.errors import VidrecError

    if len(members) < 2:
        raise VidrecError("an ensemble needs two or more member models")
    out = Path(out)
    if out.suffix != modelstore.SUFFIX:
        raise VidrecError(f"the ensemble's file must end in {modelstore.SUFFIX}, got {out}")
    check_writable(out)
    loaded = [(m, *modelstore.load(m)) for m in members]
    for name, model, info, _ in loaded:
        if info.arch != "seednet":
            raise VidrecError(f"{name}: an ensemble is made of seed networks (arch seednet), not {info.arch!r}")
    first = loaded[0][2]
    for name, _, info, _ in loaded[1:]:
        if (info.classes, info.mean, info.std) != (first.classes, first.mean, first.std):
            raise VidrecError(f"{name}: classes or input normalisation differ from {loaded[0][0]}'s")
    ens = nets.SeedEnsemble(len(loaded), len(first.classes))
    for slot, (_, model, _, _) in zip(ens.members, loaded):
        slot.load_state_dict(model.state_dict())
    x, y = datasets.load_tensors("mnist", False, say=say)
    _, acc, pred = training.evaluate(ens, x, y)
    info = modelstore.ModelInfo(arch="seedensemble", arch_kwargs={"members": len(loaded), "num_classes": len(first.classes)},
                                classes=first.classes, mean=first.mean, std=first.std)
    card = {
        "name": out.stem,
        "task": "handwritten digits (MNIST): the mean of several seed networks' probabilities",
        "arch": "seedensemble",
        "classes": info.classes,
        "test_accuracy": round(acc, 4),
        "per_class_accuracy": per_class_accuracy(pred, y, info.classes),
        "members": [{"model": name, "test_accuracy": c.get("test_accuracy"), "european": c.get("european", 0.0),
                     "hooked_nines": c.get("hooked_nines", 0.0), "seed": c.get("seed"),
                     "reproduce": c.get("reproduce")} for name, _, _, c in loaded],
        "command": command_line(),
        "reproduce": " && ".join([_remake(name, c) for name, _, _, c in loaded]
                                 + ["vidrec models ensemble " + " ".join([_out_arg(out)] + [_member_arg(n) for n, *_ in loaded])]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    modelstore.save(ens, info, out, card)
    return card


def _member_arg(name: str) -> str:
    """How the ensemble's remake command names a member: a model of the models folder by its
    name, a file by its file name (its remake writes it to the current folder)."""
    from vidrec import modelstore

    p = Path(name)
    if p.suffix != modelstore.SUFFIX and not p.exists():
        return name
    return p.name


def _remake(name: str, card: dict) -> str:
    """The command that remakes member ``name`` where :func:`_member_arg` names it."""
    cmd = card.get("reproduce")
    if not cmd:
        return f"(no command remakes {name})"
    arg = _member_arg(name)
    if arg.endswith(".safetensors"):
        return f"{cmd} --out {arg}"
    return cmd if name == "mnist" else f"{cmd} --out models/{name}.safetensors"


def _out_arg(out: Path) -> str:
    """The ensemble's file as its remake command names it: models/NAME in the models folder."""
    from vidrec import modelstore

    try:
        if out.resolve().parent == modelstore.models_dir().resolve():
            return f"models/{out.name}"
    except OSError:
        pass
    return str(out)
