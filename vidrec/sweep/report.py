"""Results of a sweep, regenerated from its study at any time (nothing is kept elsewhere).

One row per configuration of the sweep (pending ones included, so a partial
sweep shows what is left), the top 5 with their confusion matrices, the main
effects (mean and best test accuracy per value of each setting) and a verdict
on the seed's prediction. Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from vidrec.atomic import atomic_path, write_json, write_text
from vidrec.errors import VidrecError

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
COLUMNS = [
    "rank", "trial", "state", "test_accuracy", "train_accuracy", "epochs_run", "train_seconds", "cpu_seconds",
    "parameters", "seed", "lr", "batch_size", "shuffle", "epochs", "conv_channels", "conv_kernel_size",
    "pool_kernel_size", "pool_stride", "dropout_rate", "hidden_layers", "activation", "optimizer", "schedule",
    "train_size", "test_size",
]


def load_study(storage, name: str | None):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    if name is None:
        if len(names) != 1:
            raise VidrecError(f"the storage holds {len(names)} studies ({', '.join(names) or 'none'}); pick one with --study")
        name = names[0]
    if name not in names:
        raise VidrecError(f"no study {name!r} in the storage (it holds: {', '.join(names) or 'none'})")
    return optuna.load_study(study_name=name, storage=storage)


def _fmt(v) -> str:
    return json.dumps(v) if isinstance(v, (list, dict)) else str(v)


def rows(study) -> list[dict]:
    """One dict per configuration, best test accuracy first, pending ones last."""
    from vidrec.sweep.engine import trial_key
    from vidrec.sweep.grid import config_key

    configs = study.user_attrs.get("vidrec_configs")
    if configs is None:
        raise VidrecError(f"study {study.study_name!r} was not made by `vidrec sweep`")
    finished = {}
    for t in study.get_trials(deepcopy=False):
        if t.state.name in ("COMPLETE", "PRUNED"):
            finished.setdefault(trial_key(t), t)
    out = []
    for c in configs:
        t = finished.get(config_key(c))
        row = {k: None for k in COLUMNS}
        row.update(c)
        if t is None:
            row["state"] = "PENDING"
        else:
            a = t.user_attrs
            row.update(
                trial=t.number, state=t.state.name, test_accuracy=a.get("test_accuracy"),
                train_accuracy=a.get("train_accuracy"), epochs_run=a.get("epochs_run"),
                train_seconds=a.get("train_seconds"), cpu_seconds=a.get("cpu_seconds"),
                parameters=a.get("parameters"), seed=a.get("seed"),
                optimizer=(a.get("training") or {}).get("optimizer"), schedule=(a.get("training") or {}).get("schedule"),
                train_size=a.get("train_size"), test_size=a.get("test_size"),
                confusion=a.get("confusion"), epoch_test_accuracy=a.get("epoch_test_accuracy"),
            )
        out.append(row)
    order = {"COMPLETE": 0, "PRUNED": 1, "PENDING": 2}
    out.sort(key=lambda r: (order[r["state"]], -(r["test_accuracy"] or 0)))
    for i, r in enumerate(out, 1):
        r["rank"] = i if r["state"] == "COMPLETE" else None
    return out


def main_effects(rs: list[dict], grid: dict) -> list[dict]:
    """Mean and best test accuracy of the completed configurations, per value of each setting."""
    done = [r for r in rs if r["state"] == "COMPLETE"]
    out = []
    for name, values in grid.items():
        if len(values) < 2:
            continue
        for v in values:
            accs = [r["test_accuracy"] for r in done if _fmt(r[name]) == _fmt(v)]
            cpu = [r["cpu_seconds"] for r in done if _fmt(r[name]) == _fmt(v) and r["cpu_seconds"] is not None]
            out.append({
                "setting": name, "value": _fmt(v), "n": len(accs),
                "mean_accuracy": sum(accs) / len(accs) if accs else None,
                "best_accuracy": max(accs) if accs else None,
                "mean_cpu_seconds": sum(cpu) / len(cpu) if cpu else None,
            })
    return out


def verdict(rs: list[dict], effects: list[dict]) -> dict:
    """Does each of the seed's predicted settings have the higher mean, and is it in the best model?"""
    from vidrec.sweep.grid import SEED_PREDICTION

    done = [r for r in rs if r["state"] == "COMPLETE"]
    best = done[0] if done else None
    per = []
    for name, predicted in SEED_PREDICTION.items():
        vals = [e for e in effects if e["setting"] == name and e["mean_accuracy"] is not None]
        if len(vals) < 2:
            continue
        top = max(vals, key=lambda e: e["mean_accuracy"])
        mine = next((e for e in vals if e["value"] == _fmt(predicted)), None)
        per.append({
            "setting": name, "predicted": _fmt(predicted), "best_by_mean": top["value"],
            "mean_of_predicted": mine["mean_accuracy"] if mine else None,
            "mean_of_best": top["mean_accuracy"],
            "in_best_model": best is not None and _fmt(best[name]) == _fmt(predicted),
            "holds": top["value"] == _fmt(predicted),
        })
    held = sum(p["holds"] for p in per)
    text = (
        f"{held} of {len(per)} predicted settings have the higher mean test accuracy; "
        f"the best model ({'%.2f%%' % (100 * best['test_accuracy']) if best else 'none yet'}) matches "
        f"{sum(p['in_best_model'] for p in per)} of {len(per)}."
    )
    return {"settings": per, "summary": text, "completed": len(done)}


def _csv(records: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({k: _fmt(r[k]) if isinstance(r.get(k), (list, dict)) else ("" if r.get(k) is None else r[k]) for k in columns})
    return buf.getvalue()


def _effects_png(effects: list[dict], path: Path, title: str) -> Path:
    from vidrec.plots import pyplot, save_figure

    plt = pyplot()
    names = list(dict.fromkeys(e["setting"] for e in effects))
    ncols = min(5, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 3.2 * nrows), sharey=True, squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        es = [e for e in effects if e["setting"] == name and e["mean_accuracy"] is not None]
        xs = [e["value"].replace(", ", ",") for e in es]
        ax.plot(xs, [100 * e["mean_accuracy"] for e in es], "o-", label="mean")
        ax.plot(xs, [100 * e["best_accuracy"] for e in es], "s--", label="best", alpha=0.7)
        ax.set_title(name, fontsize=8)
        ax.tick_params(axis="x", labelsize=7, rotation=30)
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def write(study, out_dir: str | Path) -> dict[str, Path]:
    import numpy as np

    from vidrec.plots import confusion_matrix_png

    out_dir = Path(out_dir)
    rs = rows(study)
    meta = study.user_attrs.get("vidrec_sweep", {})
    grid = meta.get("grid", {})
    effects = main_effects(rs, grid)
    v = verdict(rs, effects)
    paths: dict[str, Path] = {}
    paths["csv"] = write_text(out_dir / "results.csv", _csv(rs, COLUMNS))
    paths["json"] = write_json(out_dir / "results.json", {"study": study.study_name, "sweep": meta, "results": rs})
    paths["main_effects_csv"] = write_text(
        out_dir / "main_effects.csv",
        _csv(effects, ["setting", "value", "n", "mean_accuracy", "best_accuracy", "mean_cpu_seconds"]),
    )
    paths["summary"] = write_json(out_dir / "summary.json", {
        "study": study.study_name, "verdict": v, "top5": [_short(r) for r in rs[:5] if r["state"] == "COMPLETE"],
        "done": sum(r["state"] != "PENDING" for r in rs), "total": len(rs), "main_effects": effects,
        **compute(rs),
    })
    top5 = [dict(r, configuration=describe(r)) for r in rs if r["state"] == "COMPLETE"][:5]
    paths["top5_csv"] = write_text(out_dir / "top5.csv", _csv(top5, ["rank", "trial", "test_accuracy", "train_accuracy", "configuration", "parameters", "cpu_seconds"]))
    if any(e["mean_accuracy"] is not None for e in effects):
        paths["main_effects_png"] = _effects_png(effects, out_dir / "main_effects.png", f"{study.study_name}: main effects ({v['completed']} configurations)")
    for i, r in enumerate([r for r in rs if r["state"] == "COMPLETE"][:5], 1):
        if r.get("confusion"):
            paths[f"confusion_{i}"] = confusion_matrix_png(
                np.array(r["confusion"]), CLASSES, out_dir / f"top{i}_confusion.png",
                f"#{i}: {describe(r)}",
            )
    return paths


def _short(r: dict) -> dict:
    return {k: r[k] for k in COLUMNS if k in r}


def compute(rs: list[dict]) -> dict:
    """Epochs and CPU seconds spent, and what the configured epochs would have cost (pruning's saving)."""
    fin = [r for r in rs if r["state"] != "PENDING"]
    run = sum(r["epochs_run"] or 0 for r in fin)
    full = sum(int(r["epochs"]) for r in fin)
    cpu = sum(r["cpu_seconds"] or 0 for r in fin)
    wall = sum(r["train_seconds"] or 0 for r in fin)
    return {"finished": len(fin), "epochs_run": run, "epochs_configured": full, "epochs_saved_fraction": (1 - run / full) if full else None,
            "cpu_seconds": cpu, "train_seconds": wall}


def describe(c: dict) -> str:
    """A configuration in one short line."""
    ch, hid = c["conv_channels"], c["hidden_layers"]
    return (f"lr {c['lr']} bs {c['batch_size']} ep {c['epochs']} ch {'-'.join(map(str, ch))} k {c['conv_kernel_size']} "
            f"pool {c['pool_kernel_size']}/{c['pool_stride']} drop {c['dropout_rate']} fc {'-'.join(map(str, hid))} {c['activation']}")


def tables(study):
    from rich.table import Table

    rs = rows(study)
    meta = study.user_attrs.get("vidrec_sweep", {})
    effects = main_effects(rs, meta.get("grid", {}))
    v = verdict(rs, effects)
    top = Table(title=f"{study.study_name}: top 5 of {sum(r['state'] == 'COMPLETE' for r in rs)} completed ({len(rs)} configurations)")
    for c in ("rank", "trial", "test acc", "train acc", "configuration", "params", "CPU s"):
        top.add_column(c, justify="left" if c == "configuration" else "right")
    for r in [r for r in rs if r["state"] == "COMPLETE"][:5]:
        top.add_row(str(r["rank"]), str(r["trial"]), f"{r['test_accuracy']:.4f}", f"{r['train_accuracy']:.4f}",
                    describe(r), str(r["parameters"]), f"{r['cpu_seconds']:.0f}")
    eff = Table(title="main effects (completed configurations)")
    for c in ("setting", "value", "n", "mean acc", "best acc", "mean CPU s"):
        eff.add_column(c, justify="right")
    for e in effects:
        eff.add_row(e["setting"], e["value"], str(e["n"]),
                    *("-" if e[k] is None else f"{e[k]:.4f}" if "acc" in k else f"{e[k]:.0f}" for k in ("mean_accuracy", "best_accuracy", "mean_cpu_seconds")))
    ver = Table(title="the seed's prediction: " + v["summary"])
    for c in ("setting", "predicted", "best value", "mean pred.", "mean best", "in best", "holds"):
        ver.add_column(c, justify="right")
    for p in v["settings"]:
        ver.add_row(p["setting"], p["predicted"], p["best_by_mean"],
                    f"{p['mean_of_predicted']:.4f}" if p["mean_of_predicted"] is not None else "-",
                    f"{p['mean_of_best']:.4f}", "yes" if p["in_best_model"] else "no", "yes" if p["holds"] else "no")
    return [top, eff, ver]
