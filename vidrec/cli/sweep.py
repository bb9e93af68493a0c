"""``vidrec sweep fashion`` and ``vidrec sweep report``: the 1024-model Fashion-MNIST grid."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vidrec.cli.groups import sweep_app

DEFAULT_RUN_DIR = Path("runs/fashion-sweep")


def _study_name(study: Optional[str], prune: bool, fraction: Optional[int]) -> str:
    if study:
        return study
    name = "fashion" + (f"-frac{fraction}" if fraction else "") + ("-prune" if prune else "")
    return name


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    return f"{h}h{rem // 60:02d}m" if h else f"{rem // 60}m{rem % 60:02d}s"


@sweep_app.command("fashion")
def fashion(
    grid: Optional[Path] = typer.Option(None, "--grid", help="A grid as YAML or JSON (default: the seed's 1024-configuration grid)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local worker processes; the cores are shared out between them."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL, e.g. postgresql://user:pw@host/db to share one study across machines (default: a journal file in the run folder)."),
    study: Optional[str] = typer.Option(None, "--study", help="Study name (default: fashion, fashion-frac64, fashion-prune...)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Stop once this many configurations of the sweep are done (counting earlier runs)."),
    prune: bool = typer.Option(False, "--prune", help="Successive halving over epochs: stop clearly bad configurations early."),
    run_dir: Path = typer.Option(DEFAULT_RUN_DIR, "--run-dir", help="Folder for the journal file and the results."),
    fraction: Optional[int] = typer.Option(None, "--fraction", help="Run a balanced two-level fractional factorial sub-grid of this many configurations (e.g. 64) instead of the whole grid."),
    train_subset: Optional[int] = typer.Option(None, "--train-subset", min=100, help="Train on a fixed random sample of this many images (quick runs, tests)."),
    test_subset: Optional[int] = typer.Option(None, "--test-subset", min=100, help="Test on a fixed random sample of this many images."),
    optimizer: str = typer.Option("adamw", "--optimizer", help="adamw | adam | sgd (the grid's lr is its peak or constant rate)."),
    schedule: str = typer.Option("onecycle", "--schedule", help="onecycle (lr is the peak) | constant."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Torch threads per worker (default: the machine's cores divided by --workers)."),
    heartbeat: float = typer.Option(10.0, "--heartbeat", min=0.2, help="Seconds between a running trial's heartbeats."),
    grace: float = typer.Option(60.0, "--grace", min=0.5, help="A running trial silent this long is taken to be dead and retried."),
) -> None:
    """Train every configuration of the grid on Fashion-MNIST; run it again to resume.

    Each configuration is trained once to completion, whatever crashes, Ctrl-C or
    extra workers happen meanwhile; results.csv/results.json, the top-5 confusion
    matrices and the main effects are written to the run folder at the end (and
    at any time by `vidrec sweep report`).
    """
    import os
    import signal

    from vidrec.errors import VidrecError
    from vidrec.sweep import engine, grid as gridmod

    # A sweep started in the background (cmd &) inherits an ignored SIGINT; restore
    # Ctrl-C/kill -INT so it always stops cleanly (trial marked FAIL, retried on resume).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    if optimizer not in ("adamw", "adam", "sgd"):
        raise VidrecError(f"--optimizer must be adamw, adam or sgd, not {optimizer!r}")
    if schedule not in ("onecycle", "constant"):
        raise VidrecError(f"--schedule must be onecycle or constant, not {schedule!r}")
    g = gridmod.load_grid(grid)
    configs = gridmod.fractional_design(g, fraction) if fraction else gridmod.configurations(g)
    cores = os.cpu_count() or 1
    settings = engine.Settings(
        storage=storage or str(run_dir / "study.journal"),
        study=_study_name(study, prune, fraction),
        grid=g,
        configs=configs,
        training=dict(optimizer=optimizer, schedule=schedule, weight_decay=0.0, seed=2502,
                      train_subset=train_subset, test_subset=test_subset),
        prune=prune,
        limit=limit,
        threads=threads or max(1, cores // workers),
        heartbeat=heartbeat,
        grace=max(grace, 2 * heartbeat),
        design=f"fractional-{fraction}" if fraction else "full",
    )
    run_sweep(settings, workers, run_dir)


def run_sweep(settings, workers: int, run_dir: Path) -> None:
    import multiprocessing as mp
    import time

    from vidrec.cli.ui import console, progress, say
    from vidrec.sweep import engine, report

    study = engine.open_study(settings)  # fails early, in the parent, on a bad storage or mismatched study
    where = settings.storage if "://" not in settings.storage else settings.storage.split("@")[-1]
    say(f"study {settings.study} ({len(settings.configs)} configurations, {settings.design}) in {where}; "
        f"{workers} worker(s) x {settings.threads} thread(s)")

    def info(s: dict, extra: str = "") -> str:
        best = f"best {s['best'][0]:.4f} (#{s['best'][1]})" if s["best"] else "best -"
        eta = None
        if s["seconds_per_epoch"] is not None:
            eta = s["seconds_per_epoch"] * s["remaining_epochs"] / max(workers, 1)
        return f"{best}  left ~{_fmt_time(eta)}{extra}"

    interrupted = False
    with progress() as bar:
        s = engine.summary(study, settings)
        task = bar.add_task("trials", total=s["total"], completed=s["done"], info=info(s))
        if workers == 1:
            def on_epoch(trial, config, epoch, acc):
                acc_text = f" acc {acc:.4f}" if acc is not None else ""
                bar.update(task, info=info(engine.summary(study, settings), f"  #{trial.number} epoch {epoch}/{config['epochs']}{acc_text}"))

            def on_trial(st):
                s = engine.summary(st, settings)
                bar.update(task, completed=s["done"], info=info(s))
                if not console.is_terminal:  # a log file: one line per trial instead of a live bar
                    say(f"{s['done']}/{s['total']} done  {info(s)}")

            try:
                engine.work(settings, on_epoch=on_epoch, on_trial=on_trial)
            except KeyboardInterrupt:
                interrupted = True
        else:
            ctx = mp.get_context("spawn")
            procs = [ctx.Process(target=engine._worker_main, args=(settings, i), daemon=False) for i in range(workers)]
            for p in procs:
                p.start()
            try:
                while any(p.is_alive() for p in procs):
                    time.sleep(2.0)
                    s = engine.summary(study, settings)
                    if not console.is_terminal and s["done"] != bar.tasks[0].completed:
                        say(f"{s['done']}/{s['total']} done  {info(s)}")
                    bar.update(task, completed=s["done"], info=info(s, f"  {s['running']} running"))
            except KeyboardInterrupt:
                interrupted = True
                for p in procs:
                    p.join(timeout=30)
            for p in procs:
                p.join()
        s = engine.summary(study, settings)
        bar.update(task, completed=s["done"], info=info(s))
    paths = report.write(study, run_dir)
    if settings.prune:
        c = report.compute(report.rows(study))
        if c["epochs_configured"]:
            say(f"pruning: {c['epochs_run']} of {c['epochs_configured']} configured epochs trained "
                f"({100 * c['epochs_saved_fraction']:.0f}% saved) over {c['finished']} finished configurations")
    if interrupted or s["done"] < s["total"]:
        say(f"stopped with {s['done']}/{s['total']} configurations done; run the same command to resume")
        if interrupted:
            raise SystemExit(130)
    say(f"results in {paths['csv'].parent}")


@sweep_app.command("report")
def report_cmd(
    run_dir: Path = typer.Option(DEFAULT_RUN_DIR, "--run-dir", help="The sweep's run folder (results are written here)."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (default: the journal file in the run folder)."),
    study: Optional[str] = typer.Option(None, "--study", help="Study name (default: the only study in the storage)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the results (default: the run folder)."),
) -> None:
    """Regenerate results.csv/json, the top-5 table and confusion matrices and the main effects from a study."""
    from vidrec.cli.ui import out as stdout
    from vidrec.errors import VidrecError
    from vidrec.sweep import engine, report

    url = storage or str(run_dir / "study.journal")
    if "://" not in url and not Path(url).is_file():
        raise VidrecError(f"no sweep journal at {url}; run `vidrec sweep fashion --run-dir {run_dir}` first or pass --storage")
    st = report.load_study(engine.open_storage(url), study)
    paths = report.write(st, out or run_dir)
    for table in report.tables(st):
        stdout.print(table)
    for name, p in paths.items():
        print(f"{name}: {p}")
