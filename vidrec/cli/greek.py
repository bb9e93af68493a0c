"""``vidrec train greek``, ``vidrec eval greek`` and ``vidrec eval greek-writers``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from vidrec.cli.groups import eval_app, train_app


class Head(str, Enum):
    knn = "knn"
    ncm = "ncm"
    linear = "linear"


class Feature(str, Enum):
    conv = "conv"
    fc1 = "fc1"


class Layout(str, Enum):
    auto = "auto"
    folders = "folders"
    files = "files"


def _default_out() -> Path:
    from vidrec.modelstore import models_dir

    return models_dir() / "greek.safetensors"


def _unfreeze(text: str) -> tuple[str, ...]:
    from vidrec.errors import VidrecError

    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [n for n in names if n not in ("conv1", "conv2", "fc1")]
    if bad:
        raise VidrecError(f"--unfreeze takes conv1, conv2 and/or fc1 (comma separated), got {bad[0]!r}")
    return names


def _load(data: Path | None, layout: str, what: str):
    from vidrec import letters
    from vidrec.cli.ui import progress

    with progress() as bar:
        task = bar.add_task(f"reading {what}", total=None, info="")
        ds = letters.load(data, layout, on_image=lambda i, n: bar.update(task, completed=i, total=n))
    return ds


@train_app.command("greek")
def train_greek(
    data: Path = typer.Option(None, "--data", help="Folder with one sub-folder per letter (alpha/, beta/, gamma/, ...); "
                              "or <writer>/<letter>_<n>.png files."),
    out: Path = typer.Option(None, help="Weights file to write (.safetensors); card and loss plot beside it. "
                             "Default: models/greek.safetensors."),
    epochs: int = typer.Option(50, min=1, help="Epochs of the seed's transfer (frozen network, new last layer)."),
    seed: int = typer.Option(2502, help="Random seed; the same seed on the same machine gives the same model."),
    head: Head = typer.Option(Head.knn, help="knn: soft k-nearest examples in the frozen conv features (default, "
                              "measured best); ncm: nearest class mean; linear: the seed's trained last layer."),
    feature: Feature = typer.Option(Feature.conv, help="Features for knn/ncm: 320-d conv output or 50-d fc1 embedding."),
    k: int = typer.Option(5, min=1, help="knn: how many most similar stored examples score a class."),
    copies: int = typer.Option(20, min=0, help="knn/ncm: augmented copies stored per example (affine, stroke width)."),
    unfreeze: str = typer.Option("", help="linear head: also train these layers (comma separated: fc1,conv2,conv1)."),
    augment: bool = typer.Option(False, "--augment/--no-augment", help="linear head: augment the examples while training."),
    reject_quantile: float = typer.Option(0.7, min=0.0, max=1.0, help="knn/ncm: the 'none of these' threshold turns "
                                          "down this share of MNIST digits."),
    base: str = typer.Option("mnist", help="The digit model to transfer from (name in models/ or a file)."),
    ensemble: int = typer.Option(1, min=1, help="knn/ncm: average over this many MNIST networks (the base plus "
                                 "ones trained here, ~20 s each on one core)."),
    layout: Layout = typer.Option(Layout.auto, help="Data layout; auto tells them apart."),
    eval_data: Path = typer.Option(None, "--eval", help="Letters by other writers (either layout): their accuracy "
                                   "goes on the card and the seed transfer's test loss on the plot; not trained on."),
) -> None:
    """Transfer the MNIST network to letters from a few examples (the seed's task 3, then better).

    Runs the seed's transfer (frozen network, new last layer) and reports the epoch at which
    every example is first identified; then builds the chosen head. Writes atomically: the
    weights (safetensors), the training loss plot (PNG) and the model card (JSON).
    """
    import json
    import time

    import torch

    from vidrec import letters, modelstore, plots, transfer
    from vidrec.atomic import check_writable
    from vidrec.cli.ui import console, say
    from vidrec.digits import command_line
    from vidrec.errors import VidrecError

    if data is None:
        raise VidrecError(f"--data DIR is required; {letters.FOLDER_LAYOUT_HELP}")
    out = out or _default_out()
    if out.suffix != ".safetensors":
        raise VidrecError(f"--out must end in .safetensors, got {out}")
    check_writable(out)  # before the training, not after it
    parts = _unfreeze(unfreeze)
    ds = _load(data, layout.value, "examples")
    held = _load(eval_data, "auto", "evaluation images") if eval_data else None
    counts = {c: int((ds.labels == i).sum()) for i, c in enumerate(ds.classes)}
    say(f"{len(ds)} examples of {len(ds.classes)} letters: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    t0 = time.perf_counter()

    def on_epoch(epoch, loss, acc):
        if epoch <= 10 or epoch % 10 == 0:
            console.print(f"seed transfer epoch {epoch}/{epochs}  train loss {loss:.4f}  train accuracy {acc:.2%}")

    from vidrec.cli.ui import progress

    try:
        with progress() as bar:
            task = bar.add_task("extra MNIST networks", total=None, info="", visible=head is not Head.linear and ensemble > 1)

            def on_base(i, n, done, total):
                bar.update(task, completed=done, total=total, info=f"network {i} of {n}")

            model, info, rep = transfer.train_letters(
                ds, base=base, head=head.value, feature=feature.value, k=k, copies=copies, epochs=epochs, seed=seed,
                unfreeze=parts, augment_seed_style=augment, reject_quantile=reject_quantile, ensemble=ensemble,
                on_epoch=on_epoch, on_base=on_base, test=held)
    except KeyboardInterrupt:
        raise VidrecError(f"interrupted; nothing written, {out} left as it was", code=130) from None
    wall = time.perf_counter() - t0
    st = rep["seed_transfer"]
    e2p = st["epoch_to_perfect"]
    say(f"seed transfer: all {len(ds)} examples identified from epoch {e2p}" if e2p else
        f"seed transfer: not every example identified within {epochs} epochs")
    card = {
        "name": out.stem,
        "task": "handwritten letters by transfer from the MNIST network",
        "arch": info.arch,
        "head": head.value,
        "classes": ds.classes,
        "examples_per_class": counts,
        "train_examples": len(ds),
        "train_accuracy": rep["train_accuracy"],
        "epoch_to_perfect": e2p,
        "seed_transfer": st,
        "calibration": rep.get("calibration"),
        "options": {"head": head.value, "feature": feature.value, "k": k, "copies": copies, "epochs": epochs,
                    "ensemble": ensemble if head is not Head.linear else 1,
                    "unfreeze": list(parts), "augment": augment, "reject_quantile": reject_quantile, "base": base},
        "base_model": {"name": base, "card_command": modelstore.load(base)[2].get("command")},
        "held_out": None,
        "seed": seed,
        "train_seconds": round(wall, 1),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "data": {"path": str(data), "layout": ds.layout, "sha256": ds.checksum(), "files": len(ds)},
        "command": command_line(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if held is not None:
        res = transfer.evaluate_letters(model, info, held)
        card["held_out"] = {k: res[k] for k in ("n", "accuracy", "accepted_and_right", "per_class", "min_confidence",
                                                "other_letters", "other_letters_rejected") if k in res}
        card["held_out"]["path"] = str(eval_data)
        card["held_out"]["sha256"] = held.checksum()
        say(f"held-out letters ({eval_data}): accuracy {res['accuracy']:.2%} of {res['n']}")
    tl = st.get("test_loss_per_epoch", [])
    plots.loss_curves(
        out.with_suffix(".loss.png"), rep["curve"],
        [(len(ds) * (e + 1), v) for e, v in enumerate(tl)],
        title=f"{out.stem}: seed transfer (frozen net, new last layer); all {len(ds)} right from epoch {e2p}",
    )
    modelstore.save(model, info, out, card)
    say(f"train accuracy {rep['train_accuracy']:.2%}; {json.dumps(rep.get('calibration') or {})}")
    say(f"wrote {out}, {out.with_suffix('.json')}, {out.with_suffix('.loss.png')}")


@eval_app.command("greek")
def eval_greek(
    data: Path = typer.Option(None, "--data", help="Folder per letter (alpha/, beta/, ...) or <writer>/<letter>_<n> files."),
    model: str = typer.Option("greek", help="Model name in models/ or a .safetensors file."),
    out: Path = typer.Option(Path("out/eval-greek"), help="Folder for the PNG figures."),
    min_confidence: float = typer.Option(0.5, min=0.0, max=1.0, help="Below this a letter counts as turned down."),
    layout: Layout = typer.Option(Layout.auto, help="Data layout; auto tells them apart."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Accuracy on the model's letters, a per-class table, confusion matrix and prediction grid PNGs.

    Images of letters the model does not know (delta, theta, ...) are counted as
    negatives: the share turned down (confidence below --min-confidence) is reported.
    """
    import json

    import numpy as np

    from vidrec import letters, modelstore, plots, transfer
    from vidrec.cli.ui import out as stdout
    from vidrec.cli.ui import per_class_table, say
    from vidrec.errors import VidrecError

    if data is None:
        raise VidrecError(f"--data DIR is required; {letters.FOLDER_LAYOUT_HELP}")
    net, info, _ = modelstore.load(model)
    ds = _load(data, layout.value, "images")
    res = transfer.evaluate_letters(net, info, ds, min_confidence)
    if res["n"] == 0:
        raise VidrecError(f"{data}: none of the images is one of the model's letters ({', '.join(info.classes)})")
    known = [i for i, n in enumerate(ds.label_names) if n in info.classes]
    cm = np.array(res["confusion_matrix"])
    files = [plots.confusion_matrix_png(cm, info.classes, out / "confusion_matrix.png", title=f"{model} on {data.name}")]
    # the seed's figure: each image with its prediction (and confidence); red where wrong
    titles = [f"{res['predicted'][i]} {res['confidence'][i]:.2f}"
              + ("" if res["predicted"][i] == res["truth"][i] else f" (true {res['truth'][i]})") for i in known]
    colors = ["black" if res["predicted"][i] == res["truth"][i] else "red" for i in known]
    files.append(plots.image_grid_png([ds.images[i] for i in known], out / "predictions.png", titles,
                                      ncols=min(12, len(known)), title_colors=colors,
                                      title=f"{model}: predictions on {data.name} ({res['accuracy']:.1%})\n"))
    wrong = [i for i in known if res["predicted"][i] != res["truth"][i]]
    if wrong:
        files.append(plots.prediction_grid_png([ds.images[i] for i in wrong], [res["predicted"][i] for i in wrong],
                                               out / "errors.png", truth=[res["truth"][i] for i in wrong],
                                               ncols=min(6, len(wrong)), title="errors"))
    res["files"] = [str(f) for f in files]
    res["errors"] = [str(ds.paths[i]) for i in wrong]
    if json_out:
        print(json.dumps({k: v for k, v in res.items() if k not in ("predicted", "confidence", "truth")}))
        return
    stdout.print(per_class_table(f"{model} on {data}: accuracy {res['accuracy']:.2%} ({len(wrong)} errors of "
                                 f"{res['n']}); right and confident (>= {min_confidence}): "
                                 f"{res['accepted_and_right']:.2%}", res["per_class"], "letter"))
    if "other_letters" in res:
        stdout.print(f"other letters: {res['other_letters']}, turned down (confidence < {min_confidence}): "
                     f"{res['other_letters_rejected']:.2%}")
    for p in res["errors"]:
        say(f"wrong: {p}")
    for f in files:
        say(f"wrote {f}")


@eval_app.command("greek-writers")
def eval_greek_writers(
    data: Path = typer.Option(None, "--data", help="<writer>/<letter>_<n> files: the writers to hold out in turn."),
    extra: Path = typer.Option(None, help="Examples always in training (e.g. the course's 27, folder per letter)."),
    head: Head = typer.Option(Head.knn, help="As for train greek."),
    epochs: int = typer.Option(5, min=1, help="Epochs of the seed transfer in each fold (its model is not used "
                               "unless --head linear)."),
    unfreeze: str = typer.Option("", help="linear head: also train these layers."),
    augment: bool = typer.Option(False, "--augment/--no-augment", help="linear head: augment while training."),
    base: str = typer.Option("mnist", help="The digit model to transfer from."),
    ensemble: int = typer.Option(1, min=1, help="As for train greek (the extra networks are trained once)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Leave-one-writer-out: train on all writers but one (plus --extra), score the one left out.

    Holds out writers, not images, so the table says how letters from a new writer fare.
    """
    import json

    from rich.table import Table

    from vidrec import letters, transfer
    from vidrec.cli.ui import out as stdout
    from vidrec.cli.ui import progress
    from vidrec.errors import VidrecError

    if data is None:
        raise VidrecError(f"--data DIR is required; {letters.FILES_LAYOUT_HELP}")
    if letters.detect_layout(letters._check_root(data)) != "files":
        raise VidrecError(f"{data}: looks like one folder per letter; holding writers out needs "
                          f"<writer>/<letter>_<n>.<ext> files (one sub-folder per writer)")
    ds = _load(data, "files", "images")
    if len(set(ds.writers)) < 2:
        raise VidrecError(f"{data}: needs at least 2 writer folders to hold writers out")
    ex = _load(extra, "auto", "extra examples") if extra else None
    with progress() as bar:
        task = bar.add_task("writers", total=len(set(ds.writers)), info="")
        res = transfer.writer_cv(ds, ex, base=base, head=head.value, epochs=epochs, unfreeze=_unfreeze(unfreeze),
                                 augment_seed_style=augment,
                                 ensemble=ensemble, on_fold=lambda w: bar.update(task, advance=1, info=w))
    if json_out:
        print(json.dumps({k: v for k, v in res.items() if k not in ("predicted", "truth")}))
        return
    t = Table(title=f"leave-one-writer-out ({len(res['writers'])} writers, head {head.value}): "
                    f"overall {res['overall']:.2%} of {res['n']}")
    t.add_column("letter")
    t.add_column("n", justify="right")
    t.add_column("writers", justify="right")
    t.add_column("accuracy", justify="right")
    for row in res["per_class"]:
        note = "" if row["writers"] > 1 else " (one writer: never seen when held out)"
        t.add_row(row["class"], str(row["n"]), str(row["writers"]), f"{row['accuracy']:.2%}{note}")
    stdout.print(t)
    stdout.print(f"letters written by 2 or more writers: {res['overall_multi_writer']:.2%} of {res['n_multi_writer']}")
