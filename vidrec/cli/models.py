"""``vidrec models list|show|ensemble``."""

from __future__ import annotations

from pathlib import Path

import typer

from vidrec.cli.groups import models_app


@models_app.command("list")
def list_models() -> None:
    """The models in the models folder, with their classes and test accuracy."""
    import json

    from rich.table import Table

    from vidrec.cli.ui import out
    from vidrec.modelstore import SUFFIX, card_path, models_dir

    t = Table(title=f"models in {models_dir()}")
    for col in ("name", "classes", "accuracy", "made by"):
        t.add_column(col)
    for f in sorted(models_dir().glob(f"*{SUFFIX}")):
        card = {}
        if card_path(f).exists():
            card = json.loads(card_path(f).read_text())
        acc = card.get("test_accuracy")
        t.add_row(f.stem, ",".join(card.get("classes", [])), f"{acc:.2%}" if isinstance(acc, float) else "",
                  card.get("command", ""))
    out.print(t)


@models_app.command("show")
def show(name: str = typer.Argument("mnist", help="Model name in models/ or a .safetensors file.")) -> None:
    """The network's layers, output shapes and parameter counts, and its model card."""
    from rich.table import Table

    from vidrec import modelstore, nets
    from vidrec.cli.ui import out

    model, info, card = modelstore.load(name)
    t = Table(title=f"{name}: {info.arch}, classes {', '.join(info.classes)}")
    for col in ("layer", "type", "output shape", "parameters"):
        t.add_column(col, justify="right" if col == "parameters" else "left")
    rows = nets.summary(model)
    for lname, typ, shape, n in rows:
        t.add_row(lname, typ, str(list(shape)), f"{n:,}")
    total = sum(p.numel() for p in model.parameters())
    t.caption = f"{total:,} parameters"
    out.print(t)
    if card:
        keys = ("test_accuracy", "epochs", "seed", "train_seconds", "first_layer", "command", "created")
        for k in keys:
            if k in card:
                out.print(f"{k}: {card[k]}")
        if "config" in card:
            out.print(f"config: {card['config']}")
        for m in card.get("members", []):
            out.print(f"member {m['model']}: test accuracy {m['test_accuracy']}, european {m['european']}, "
                      f"hooked nines {m.get('hooked_nines', 0.0)}, seed {m['seed']}")
        if "reproduce" in card:
            out.print(f"reproduce: {card['reproduce']}")


@models_app.command("ensemble")
def ensemble(
    out: Path = typer.Argument(..., help="The ensemble's weights file to write (.safetensors); its card (JSON) beside it."),
    members: list[str] = typer.Argument(..., help="Two or more digit networks (arch seednet): names in models/ or .safetensors files."),
) -> None:
    """One digit model that averages several networks' probabilities.

    Each network trained on MNIST errs on different real handwriting; their mean is
    steadier than any one of them. The default digit model of multidigit, models/digits,
    is made this way (its card says from what: `vidrec models show digits`).
    """
    from vidrec import digits
    from vidrec.cli.ui import say
    from vidrec.errors import VidrecError

    try:
        card = digits.make_ensemble(members, out, say=say)
    except KeyboardInterrupt:
        raise VidrecError(f"interrupted; nothing written, {out} left as it was", code=130) from None
    each = ", ".join(f"{m['test_accuracy']:.2%}" for m in card["members"])
    say(f"{len(members)} members, MNIST test accuracy {card['test_accuracy']:.2%} (members: {each})")
    say(f"wrote {out}, {out.with_suffix('.json')}")
