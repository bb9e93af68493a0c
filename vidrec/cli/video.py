"""``vidrec live``, ``vidrec run``, ``vidrec bench``, ``vidrec plugins``; plugin commands.

Several inputs to ``vidrec run``: each gets its own outputs. With one input,
``--out`` and ``--jsonl`` name files; with several, they name folders and each
input writes ``<folder>/<input stem>.mp4`` / ``.jsonl`` (results of different
videos are different streams; a combined file would need a source column that
every reader then has to split again).

Importing this module loads the plugins (entry points of group ``vidrec``) and
lets each add its commands through the ``register_commands`` hook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from vidrec.cli.groups import app
from vidrec.errors import VidrecError

PLUGIN_HELP = "Recogniser to run (repeatable; they run in the order given)."
OPTION_HELP = "Recogniser option key=value (repeatable); prefix with NAME. to give it to one recogniser only."


def _options(model: Optional[str], min_confidence: Optional[float], option: list[str]) -> dict:
    """Only what the user set: factories keep their own defaults for the rest."""
    opts: dict = {}
    if model is not None:
        opts["model"] = model
    if min_confidence is not None:
        opts["min_confidence"] = min_confidence
    for item in option or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise VidrecError(f"--option {item!r}: expected key=value")
        opts[key.strip()] = value
    return opts


def _summary_tables(summaries: list):
    """Two narrow tables (they must fit 80 columns): per input, then ms per stage per input."""
    from rich.table import Table

    t = Table(title="summary", title_justify="left")
    for col in ("input", "frames", "fps", "ms/frame p50", "p99", "dropped", "failures"):
        t.add_column(col, justify="left" if col == "input" else "right", no_wrap=col != "input")
    for s in summaries:
        t.add_row(Path(s.source).name or s.source, str(s.frames), f"{s.fps:.1f}",
                  f"{s.frame_ms.get('p50', 0):.2f}", f"{s.frame_ms.get('p99', 0):.2f}",
                  str(s.dropped), str(s.failures))
    st = Table(title="ms per stage, mean / p99", title_justify="left")
    st.add_column("stage")
    for s in summaries:
        st.add_column(Path(s.source).name or s.source, justify="right", no_wrap=True)
    base = ["capture", "preprocess", "segment", "classify", "render", "sinks"]
    per_rec = []
    for s in summaries:
        per_rec += [k for k in s.stages if k not in base and k not in per_rec]
    if len({k.rsplit(".", 1)[0] for k in per_rec}) <= 1:
        per_rec = []  # one recogniser: its rows would repeat the totals
    stages = [k for k in base if any(k in s.stages for s in summaries)] + per_rec
    for k in stages:
        st.add_row(k, *(f"{s.stages[k]['mean']:.2f} / {s.stages[k]['p99']:.2f}" if k in s.stages else "-"
                        for s in summaries))
    return t, st


def _report(summaries: list, as_json: bool) -> None:
    from vidrec.cli.ui import out, say

    for s in summaries:
        for note in s.notes:
            say(f"note: {note}")
    if as_json:
        print(json.dumps([s.as_json() for s in summaries], indent=2))
    else:
        for table in _summary_tables(summaries):
            out.print(table)
        out.print("ms/frame: all recognisers on one frame, decoding and writing excluded", markup=False)


def _outputs(specs: list[str], out: Optional[Path], jsonl: Optional[Path]) -> list[tuple[Optional[Path], Optional[Path]]]:
    """Per input: (video path, jsonl path). Several inputs: --out/--jsonl are folders."""
    if len(specs) == 1:
        return [(out, jsonl)]
    for flag, p in (("--out", out), ("--jsonl", jsonl)):
        if p is not None and p.suffix and not p.is_dir():
            raise VidrecError(f"{flag} {p}: with several inputs, {flag} names a folder (one file per input)")
    pairs, seen = [], set()
    for spec in specs:
        stem = Path(spec.rstrip("/")).stem.replace("*", "_") or "input"
        name, k = stem, 1
        while name in seen:
            k += 1
            name = f"{stem}-{k}"
        seen.add(name)
        pairs.append((out / f"{name}.mp4" if out else None, jsonl / f"{name}.jsonl" if jsonl else None))
    return pairs


def _check_writable(path: Path, video: bool = False) -> None:
    from vidrec.sinks import check_video_suffix, prepare_target

    if video:
        check_video_suffix(path)
    prepare_target(path).unlink(missing_ok=True)


def _make(plugin: list[str], options: dict):
    from vidrec.plugins import make_recognizers

    return make_recognizers(list(plugin), options)


@app.command("run")
def run_cmd(
    paths: list[str] = typer.Argument(..., help="Video files, images, folders or globs of images."),
    plugin: list[str] = typer.Option(["multidigit"], "--plugin", "-p", help=PLUGIN_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Annotated video (.mp4/.avi/.mkv); a folder with several inputs."),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help="JSON Lines of per-frame results; a folder with several inputs."),
    show: bool = typer.Option(False, "--show", help="Show a window (keys: q quit, space pause, s snapshot, r record)."),
    realtime: bool = typer.Option(False, "--realtime", help="Play at the file's own frame rate, newest frame only (the live policy)."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first recogniser error instead of recording it."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name or file for the recognisers."),
    min_confidence: Optional[float] = typer.Option(None, "--min-confidence", help="Drop predictions below this confidence."),
    option: list[str] = typer.Option([], "--option", help=OPTION_HELP),
    json_summary: bool = typer.Option(False, "--json", help="Print the summaries as JSON instead of a table."),
) -> None:
    """Run recognisers over recorded video or images: every frame, in order."""
    import contextlib

    from vidrec.cli.ui import progress, say
    from vidrec.pipeline import Pipeline, run
    from vidrec.sinks import JsonlSink, VideoSink, WindowSink
    from vidrec.sources import expand_specs, open_source

    specs = expand_specs(list(paths))
    targets = _outputs(specs, out, jsonl)
    for video, lines in targets:  # every output checked before any frame is processed
        if video is not None:
            _check_writable(video, video=True)
        if lines is not None:
            _check_writable(lines)
    sources = [open_source(s, realtime=realtime) for s in specs]  # missing/corrupt inputs fail here
    recognizers = _make(plugin, _options(model, min_confidence, option))
    summaries = []
    with contextlib.ExitStack() as outer:
        for src in sources:
            outer.callback(src.close)
        pipeline = outer.enter_context(Pipeline(recognizers, fail_fast=fail_fast, draw=bool(out or show)))
        with progress(transient=False) as bar:
            for src, (video, lines) in zip(sources, targets):
                with contextlib.ExitStack() as stack:
                    sinks = []
                    if video is not None:
                        sinks.append(stack.enter_context(VideoSink(video, src.fps, src.size)))
                    if lines is not None:
                        sinks.append(stack.enter_context(JsonlSink(lines)))
                    if show:
                        sinks.append(stack.enter_context(WindowSink(Path(src.name).name, pipeline, src)))
                    task = bar.add_task(Path(src.name).name or src.name, total=src.frame_count, info="")

                    def tick(frame, result, canvas, _task=task):
                        bar.update(_task, advance=1,
                                   info=f"{len(result.errors)} errors" if result.errors else "")

                    summary = run(src, pipeline, sinks, on_frame=tick)
                    if src.frame_count and summary.frames != src.frame_count:
                        bar.update(task, total=summary.frames)
                summaries.append(summary)
                for p in (video, lines):
                    if p is not None and (summary.frames or p == lines):
                        say(f"wrote {p}")
                if summary.interrupted or summary.stopped:
                    break
    _report(summaries, json_summary)
    if summaries and summaries[-1].interrupted:
        say(f"interrupted after {summaries[-1].frames} frames of {summaries[-1].source}; outputs closed")
        raise typer.Exit(130)


@app.command("live")
def live_cmd(
    plugin: list[str] = typer.Option(["multidigit"], "--plugin", "-p", help=PLUGIN_HELP),
    camera: int = typer.Option(0, "--camera", help="Camera index."),
    record: Optional[Path] = typer.Option(None, "--record", help="Also record the raw camera frames to this video file."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Annotated video file."),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help="JSON Lines of per-frame results."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name or file for the recognisers."),
    min_confidence: Optional[float] = typer.Option(None, "--min-confidence", help="Drop predictions below this confidence."),
    option: list[str] = typer.Option([], "--option", help=OPTION_HELP),
) -> None:
    """Recognise symbols in a camera's frames, in a window (q quit, space pause, s snapshot, r record).

    The camera is read by its own thread that keeps only the newest frame, so the
    window never lags behind; frames skipped that way are counted as dropped.
    """
    import contextlib

    from vidrec.pipeline import Pipeline, run
    from vidrec.sinks import JsonlSink, RawVideoSink, VideoSink, WindowSink
    from vidrec.sources import open_source

    for p, is_video in ((record, True), (out, True), (jsonl, False)):
        if p is not None:
            _check_writable(p, video=is_video)
    recognizers = _make(plugin, _options(model, min_confidence, option))
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open_source(camera))
        pipeline = stack.enter_context(Pipeline(recognizers, draw=True))
        sinks = []
        if record is not None:
            sinks.append(stack.enter_context(RawVideoSink(record, src.fps, src.size)))
        if out is not None:
            sinks.append(stack.enter_context(VideoSink(out, src.fps, src.size)))
        if jsonl is not None:
            sinks.append(stack.enter_context(JsonlSink(jsonl)))
        sinks.append(stack.enter_context(WindowSink(f"vidrec: camera {camera}", pipeline, src)))
        summary = run(src, pipeline, sinks)
    _report([summary], False)
    if summary.interrupted:
        raise typer.Exit(130)


@app.command("bench")
def bench_cmd(
    path: str = typer.Argument(..., help="A video file (or images) to measure on."),
    plugin: list[str] = typer.Option(["multidigit"], "--plugin", "-p", help=PLUGIN_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the annotated video; adds decode+encode-only as baseline."),
    as_json: bool = typer.Option(False, "--json", help="Print the measurements as JSON."),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Best of N pipeline runs (decode-only always gets N+1)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name or file for the recognisers."),
    min_confidence: Optional[float] = typer.Option(None, "--min-confidence", help="Drop predictions below this confidence."),
    option: list[str] = typer.Option([], "--option", help=OPTION_HELP),
) -> None:
    """Pipeline fps against decode-only fps on the same file in the same run; latency p50/p99."""
    from vidrec.bench import benchmark
    from vidrec.cli.ui import out as stdout

    if out is not None:
        _check_writable(out, video=True)
    from vidrec.sources import open_source

    open_source(path).close()  # a bad input fails before the models load
    recognizers = _make(plugin, _options(model, min_confidence, option))
    try:
        result = benchmark(path, recognizers, out=out, repeat=repeat)
    finally:
        for _, rec in recognizers:
            rec.close()
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from rich.table import Table

    t = Table(title=f"bench: {path} ({result['size'][0]}x{result['size'][1]}, {result['frames']} frames, "
                    f"{' + '.join(result['plugins'])})", title_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("decode-only fps", f"{result['decode_fps']:.1f}")
    t.add_row("pipeline fps", f"{result['pipeline_fps']:.1f}")
    t.add_row("ratio pipeline / decode-only", f"{result['ratio']:.3f}")
    if "decode_encode_fps" in result:
        t.add_row("decode+encode-only fps", f"{result['decode_encode_fps']:.1f}")
        t.add_row("ratio pipeline+encode / decode+encode-only", f"{result['out_ratio']:.3f}")
    t.add_row("frame latency p50 ms", f"{result['frame_ms']['p50']:.2f}")
    t.add_row("frame latency p99 ms", f"{result['frame_ms']['p99']:.2f}")
    t.add_row("frame latency max ms", f"{result['frame_ms']['max']:.2f}")
    for k, v in result["stages"].items():
        if "." in k and len(result["plugins"]) == 1:
            continue  # one recogniser: its rows would repeat the totals
        t.add_row(f"  {k} ms mean / p99", f"{v['mean']:.2f} / {v['p99']:.2f}")
    t.add_row("failures", str(result["failures"]))
    t.add_row("peak RSS MB", f"{result['peak_rss_mb']:.0f}")
    stdout.print(t)
    if result["frames"] < 100:
        # a percentile of a few dozen values is one of the slowest of them, whatever the run
        stdout.print(f"note: p99 of {result['frames']} frames is in effect the slowest frame or two (a "
                     "scene's first frame, where every symbol is new, is the slowest); measure on 100 frames "
                     "or more for a p99 that says how often a frame is slow")


@app.command("plugins")
def plugins_cmd(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List installed plugins: name, version, hooks, recognisers, where each came from."""
    from vidrec.cli.ui import out as stdout
    from vidrec.plugins import plugin_infos, recognizer_entries

    infos = plugin_infos()
    if as_json:
        rows = [i.as_json() for i in infos]
        descriptions = {n: e.description for n, e in recognizer_entries().items()}
        for r in rows:
            r["recognizer_descriptions"] = {n: descriptions.get(n, "") for n in r["recognizers"]}
        print(json.dumps(rows, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    if not infos:
        stdout.print("no plugins installed (or all excluded by VIDREC_LOAD_PLUGINS / VIDREC_BLOCK_PLUGINS)")
        return
    t = Table(title="vidrec plugins", title_justify="left")
    for col in ("name", "version", "recognisers", "hooks", "from"):
        t.add_column(col, no_wrap=col in ("name", "version"), overflow="fold")
    for i in infos:
        if i.entry_point:
            where = f"entry point -> {i.entry_point.split('=', 1)[1].strip()}"
            if i.distribution:
                where += f" ({i.distribution})"
        else:
            where = "registered in code"
        status = "[red]failed to load[/]" if i.error else (", ".join(i.recognizers) or "-")
        t.add_row(i.name, i.version or "-", status, ", ".join(i.hooks) or "-", where)
    stdout.print(t)
    for i in infos:
        if i.error:
            stdout.print(f"[red]{escape(i.name)}: {escape(i.error)}[/]")
    stdout.print("vidrec plugins --json: files, descriptions and errors in full", markup=False)


def _wire_plugins() -> None:
    """Load plugins once at CLI start and let them add commands.

    A plugin that fails to import is a warning; a misspelt hook stops the CLI with
    one line naming the plugin (silently ignoring it would be worse).
    """
    from vidrec import plugins
    from vidrec.cli.ui import console, err

    def warn(msg: str) -> None:
        from rich.markup import escape

        console.print(f"[yellow]warning:[/] {escape(msg)}", highlight=False, soft_wrap=True)

    try:
        plugins.load_plugins(warn=warn)
        plugins.register_commands(app)
    except VidrecError as e:
        err(str(e))
        raise SystemExit(e.code) from None


_wire_plugins()
