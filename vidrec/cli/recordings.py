"""``vidrec recordings make`` and ``vidrec eval recordings``: labelled clips and their scores.

Plain functions do the work (:func:`vidrec.recordings.make_recordings`,
:func:`vidrec.evalvideo.evaluate_recordings`); these commands add a progress
bar, a table for people and ``--json`` for machines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from vidrec.cli.groups import eval_app, group
from vidrec.errors import VidrecError

recordings_app = group("recordings", "Make the labelled test clips (digits on a hand-held sheet, with ground truth).")


@recordings_app.command("make")
def make_cmd(
    out: Path = typer.Option(Path("recordings"), "--out", help="Folder for the clips and their sidecars."),
    source: str = typer.Option("mnist", "--source",
                               help="'mnist' (MNIST test digits) or a folder <writer>/<digit>_<n>.<ext> of real handwriting."),
    seed: int = typer.Option(2502, "--seed", help="Seed: the same seed makes the same frames."),
    clip: list[str] = typer.Option([], "--clip", help="Only this clip (repeatable): single_digit, sheet_still, sheet_moving, empty."),
    reader: str = typer.Option("mnist", "--reader",
                               help="Model that picks legible MNIST digits (reads the clean 28x28 at >= 0.99); 'none' keeps all."),
    turn: float = typer.Option(0.0, "--turn", min=-30.0, max=30.0,
                               help="Degrees every sheet and card is turned by (a sheet held at a slant), on top of its own few."),
    paper: str = typer.Option("plain", "--paper", help="plain, ruled (lines under the digits) or squared (a grid through them)."),
    ink: list[str] = typer.Option([], "--ink", help="Write the numbers in these inks (repeatable; each number picks one): "
                                  "black, blue, red, darkblue (the default: all four ballpoints), pencil, green."),
    spacing: str = typer.Option("normal", "--spacing", help="Gap between the digits of a number: normal (0.12-0.35 of "
                                "their height) or tight (-0.06-0.04: touching or nearly, as many people write)."),
) -> None:
    """Write the clips (MP4, 640x480) and a ground-truth JSON beside each."""
    from vidrec.cli.ui import progress, say
    from vidrec.recordings import CLIPS, RULINGS, Stationery, make_recordings

    if source != "mnist" and not Path(source).is_dir():
        raise VidrecError(f"--source must be 'mnist' or a folder of digit images; {source} is neither")
    if paper not in RULINGS:
        raise VidrecError(f"--paper must be one of {', '.join(RULINGS)}, not {paper!r}")
    style = Stationery(paper, tuple(ink) or None, spacing).check()
    names = list(clip) or list(CLIPS)
    with progress() as bar:
        task = bar.add_task("making clips", total=len(names), info="")
        paths = make_recordings(out, source=source, seed=seed, names=list(clip) or None,
                                reader=None if reader.lower() == "none" else reader, turn=turn, style=style,
                                progress=lambda name: bar.update(task, advance=1, info=name))
    for p in paths:
        say(f"wrote {p} ({p.stat().st_size // 1024} KB) and {p.with_suffix('.json').name}")


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _num(v, fmt="{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


@eval_app.command("recordings")
def eval_recordings_cmd(
    paths: list[Path] = typer.Argument(None, help="Clip folders or files (default: recordings/)."),
    plugin: str = typer.Option("multidigit", "--plugin", help="Recogniser to score."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name or file for the recogniser."),
    min_confidence: Optional[float] = typer.Option(None, "--min-confidence", help="The recogniser's confidence cut."),
    option: list[str] = typer.Option([], "--option", help="Recogniser option key=value (repeatable)."),
    iou: float = typer.Option(0.3, "--iou", help="Box overlap that counts as finding a digit."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
) -> None:
    """Score a recogniser on labelled clips: precision, recall, exact text, flicker, false digits, fps."""
    from vidrec.cli.ui import out as stdout
    from vidrec.cli.ui import progress
    from vidrec.cli.video import _options
    from vidrec.evalvideo import evaluate_recordings, find_clips

    paths = list(paths or []) or [Path("recordings")]
    n = len(find_clips(paths))
    with progress() as bar:
        task = bar.add_task(f"scoring {plugin}", total=n, info="")
        res = evaluate_recordings(paths, plugin=plugin, options=_options(model, min_confidence, option), iou=iou,
                                  progress=lambda name: bar.update(task, advance=1, info=name))
    if as_json:
        print(json.dumps(res, indent=2))
        return
    from rich import box
    from rich.table import Table

    t = Table(title=f"{plugin} on {', '.join(map(str, paths))}", box=box.SIMPLE_HEAD, pad_edge=False,
              caption="text: frames read exactly; flick: label changes/s on still digits; "
                      "false: digits per empty frame")
    t.add_column("clip", no_wrap=True)
    # short headings so the table fits 80 columns: text = share of frames read exactly,
    # flick = label changes per second on a still digit, false = digits per empty frame
    for col in ("frames", "digits", "prec%", "rec%", "text%", "flick", "false", "fps"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in res["clips"] + [dict(res["overall"], clip="overall")]:
        t.add_row(r["clip"], str(r["frames"]), str(r["digits"]), _pct(r["precision"]), _pct(r["recall"]),
                  _pct(r["exact_text"]), _num(r["flicker_per_s"]), _num(r["false_per_empty_frame"]),
                  _num(r["fps"], "{:.0f}"), end_section=r["clip"] == res["clips"][-1]["clip"])
    stdout.print(t)
    if res["skipped"]:
        stdout.print(f"skipped (not meant for {plugin}): {', '.join(res['skipped'])}")


@eval_app.command("crops")
def eval_crops_cmd(
    paths: list[Path] = typer.Argument(None, help="Clip folders or files (default: recordings/)."),
    model: list[str] = typer.Option([], "--model", help="Model name or file to score (repeatable; default: digits)."),
    every: int = typer.Option(3, "--every", min=1, help="Take the crops of every Nth frame."),
    option: list[str] = typer.Option([], "--option", help="Segmenter option key=value (repeatable), as for multidigit."),
    errors: Optional[Path] = typer.Option(None, "--errors",
                                          help="Folder for a PNG per model of the misread crops whose box fits."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
) -> None:
    """Score digit models on the crops the segmenter makes of the clips' digits: the network's
    errors apart from the segmenter's.

    Every truth digit of every Nth frame is matched to the region the segmenter finds for it and
    cropped as the recognisers crop; each model reads the very same crops (no tracking, votes or
    confidence cut). An error whose region is much larger or smaller than the digit is put down
    to the segmentation ("merged", "part"); where the box fits, to the network. Sources are the
    sidecar's `src` (the MNIST index or photo each digit was drawn from), so one hard digit drawn
    into many clips shows as one source.
    """
    from vidrec.atomic import check_writable
    from vidrec.cli.ui import out as stdout
    from vidrec.cli.ui import progress, say
    from vidrec.cli.video import _options
    from vidrec.cropeval import changed_sources, collect, errors_png, score
    from vidrec.evalvideo import find_clips
    from vidrec.modelstore import resolve
    from vidrec.segment import Segmenter

    paths = list(paths or []) or [Path("recordings")]
    models = list(model) or ["digits"]
    for m in models:
        resolve(m)  # a missing model: one error line before the cropping, not after it
    opts = _options(None, None, option)
    Segmenter(make_crops=False, **opts)  # a bad option: one error line before the progress bar
    if errors is not None:
        check_writable(errors / "x.png")
    n = len(find_clips(paths))
    with progress() as bar:
        task = bar.add_task("cropping", total=n, info="")
        crops = collect(paths, every=every, options=opts, progress=lambda name: bar.update(task, advance=1, info=name))
    results = [score(crops, m) for m in models]
    pngs = {}
    if errors is not None:
        for k, r in enumerate(results):
            stem = Path(r.model).stem
            name = f"{stem}.png" if [Path(m).stem for m in models].count(stem) == 1 else f"{k + 1}-{stem}.png"
            png = errors_png(r, errors / name)
            if png is not None:
                pngs[r.model] = str(png)
    found, fits = len(crops), crops.fit_counts()
    public = [r.as_json() for r in results]
    for r, j in zip(results[1:], public[1:]):
        j["changed_sources"] = changed_sources(results[0], r)  # against the first model
    if as_json:
        print(json.dumps({"clips": n, "every": every, "truth_digits": crops.truth, "cropped": found,
                          "sources": len(set(crops.source) | set(crops.missed)),
                          "fit": fits,
                          "not_found": [{"source": k, "frames": v} for k, v in crops.missed.most_common(10)],
                          "models": public, "errors_png": pngs}, indent=2))
        return
    from rich import box
    from rich.table import Table

    say(f"{crops.truth} truth digits in {n} clips (one frame in {every}): {found} cropped "
        f"({fits['ok']} boxes fit, {fits['merged']} much larger, {fits['part']} much smaller), "
        f"{crops.truth - found} not found by the segmenter")
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False,
              caption="acc: all crops; box-ok acc: crops whose box fits the digit; wrong: by fit (ok / merged / part)")
    t.add_column("model", no_wrap=True)
    for col in ("acc%", "box-ok acc%", "wrong", "ok/merged/part", "most confused"):
        t.add_column(col, justify="right" if col != "most confused" else "left")
    for r in public:
        f = r["errors_by_fit"]
        t.add_row(Path(r["model"]).name, _pct(r["accuracy"]), _pct(r["accuracy_box_ok"]), str(r["errors"]),
                  f"{f['ok']}/{f['merged']}/{f['part']}", ", ".join(list(r["confusions"])[:4]))
    stdout.print(t)
    for r in public:
        if r["worst_sources"]:
            stdout.print(f"{Path(r['model']).name}, most misread: " + "; ".join(
                f"{w['source']} {w['wrong']}/{w['of']}" for w in r["worst_sources"][:5]))
    for r in public[1:]:
        if r["changed_sources"]:
            stdout.print(f"{Path(r['model']).name} against {Path(public[0]['model']).name}, crops misread: " + "; ".join(
                f"{d['source']} {d['was']} -> {d['wrong']} of {d['of']}" for d in r["changed_sources"][:6]))
    if crops.missed:
        stdout.print("not found by the segmenter, most often: " + "; ".join(
            f"{k} {v}" for k, v in crops.missed.most_common(5)))
    for m, png in pngs.items():
        say(f"wrote {png}")
