"""The Fashion-MNIST sweep: grid and model family, running, resuming, sharing a study.

Real training on a small fixed subset of Fashion-MNIST (1 epoch), real worker
processes, real journal files and (when ``VIDREC_TEST_POSTGRES`` is set, see
scripts/ci-postgres.sh) a real PostgreSQL server.
"""

from __future__ import annotations

import collections
import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TINY = """\
lr: [0.01, 0.001]
batch_size: [100]
shuffle: [true]
epochs: [1]
conv_channels: [[6, 12]]
conv_kernel_size: [3]
pool_kernel_size: [2]
pool_stride: [2]
dropout_rate: [0.1]
hidden_layers: [[120, 60]]
activation: [ReLU, Tanh]
"""
QUICK = ["--train-subset", "600", "--test-subset", "500", "--threads", "1"]


@pytest.fixture(scope="module")
def fashion_ready():
    from vidrec import datasets

    datasets.fetch("fashion-mnist", say=lambda s: None)


@pytest.fixture()
def tiny_grid(tmp_path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY)
    return p


def _env():
    env = dict(os.environ, VIDREC_OFFLINE="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    env.setdefault("VIDREC_BLOCK_PLUGINS", "greek,vgg16")
    return env


def _sweep_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "vidrec", "sweep", "fashion", *args]


def _trials(storage: str, study: str):
    import optuna

    from vidrec.sweep.engine import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study, storage=open_storage(storage)).get_trials(deepcopy=False)


def _check_each_once(trials, n_configs: int):
    """Every configuration has exactly one finished trial, and nothing is left RUNNING/WAITING."""
    done = collections.Counter(t.user_attrs["config_key"] for t in trials if t.state.name == "COMPLETE")
    assert len(done) == n_configs, done
    assert set(done.values()) == {1}, f"a configuration was trained to completion twice: {done}"
    assert not [t.number for t in trials if t.state.name in ("RUNNING", "WAITING")]
    for t in trials:
        if t.state.name == "COMPLETE":
            a = t.user_attrs
            assert 0.0 < a["test_accuracy"] <= 1.0 and 0.0 < a["train_accuracy"] <= 1.0
            assert a["seed"] == 2502 and a["config"]["epochs"] == 1
            assert a["train_seconds"] > 0 and a["cpu_seconds"] > 0 and a["parameters"] > 0
            assert sum(map(sum, a["confusion"])) == 500


# -- the grid and the family ------------------------------------------------------------


@pytest.mark.slow
def test_seed_grid_is_kept_exactly_and_every_configuration_builds():
    import torch

    from vidrec.sweep import family, grid

    g = grid.load_grid(None)
    assert g == grid.SEED_GRID
    configs = grid.configurations(g)
    assert len(configs) == 1024 and len({grid.config_key(c) for c in configs}) == 1024
    # The shapes of a network depend only on these five settings: build and run each of the
    # 32 distinct stacks (alternating activation and dropout so both values of each are
    # built too), and check the arithmetic for every one of the 1024.
    arch = ("conv_channels", "conv_kernel_size", "pool_kernel_size", "pool_stride", "hidden_layers")
    distinct = {}
    for c in configs:
        distinct.setdefault(json.dumps([c[a] for a in arch]), []).append(c)
        assert family.feature_shape(c["conv_channels"], c["conv_kernel_size"], c["pool_kernel_size"], c["pool_stride"])[1] >= 1
    assert len(distinct) == 32
    x = torch.randn(3, 1, 28, 28)
    for i, cs in enumerate(distinct.values()):
        c = cs[i % len(cs)]
        c = dict(c, activation=["ReLU", "Tanh"][i % 2], dropout_rate=[0.1, 0.5][(i // 2) % 2])
        with torch.no_grad():
            out = family.build(c).eval()(x)
        assert out.shape == (3, 10)
        assert torch.allclose(out.exp().sum(1), torch.ones(3), atol=1e-5)


def test_shapes_and_parameter_count_worked_out_by_hand():
    from vidrec.sweep import family

    # 28 -conv5-> 24 -pool2/2-> 12 -conv5-> 8 -pool2/2-> 4
    assert family.feature_shape([6, 12], 5, 2, 2) == (12, 4, 4)
    # 28 -conv3-> 26 -pool3/1-> 24 -conv3-> 22 -pool3/1-> 20
    assert family.feature_shape([8, 16], 3, 3, 1) == (16, 20, 20)
    # 28 -conv5-> 24 -pool3/2-> 11 -conv5-> 7 -pool3/2-> 3
    assert family.feature_shape([8, 16], 5, 3, 2) == (16, 3, 3)
    cfg = dict(conv_channels=[6, 12], conv_kernel_size=3, pool_kernel_size=2, pool_stride=2,
               dropout_rate=0.1, hidden_layers=[120, 60], activation="ReLU")
    # conv 1*6*9+6 + conv 6*12*9+12 + fc (12*5*5)*120+120 + 120*60+60 + 60*10+10
    assert family.parameter_count(family.build(cfg)) == 60 + 660 + 36120 + 7260 + 610
    with pytest.raises(ValueError):
        family.feature_shape([6, 12], 13, 3, 1)


def test_fractional_design_is_balanced_and_orthogonal():
    from vidrec.sweep import grid

    g = grid.SEED_GRID
    design = grid.fractional_design(g, 64)
    assert len({grid.config_key(c) for c in design}) == 64
    keys = set(grid.config_key(c) for c in grid.configurations(g))
    assert all(grid.config_key(c) in keys for c in design)
    two = [k for k, v in g.items() if len(v) == 2]
    for a, b in itertools.combinations(two, 2):  # every pair of values of every two settings: 16 runs
        pairs = collections.Counter((json.dumps(c[a]), json.dumps(c[b])) for c in design)
        assert sorted(pairs.values()) == [16, 16, 16, 16], (a, b, pairs)


def test_bad_grid_files_give_one_line(tmp_path, runner, cli):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace("activation: [ReLU, Tanh]", "activation: [Swish]"))
    r = runner.invoke(cli, ["sweep", "fashion", "--grid", str(bad), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 1 and "bad value 'Swish' for activation" in r.output
    small = tmp_path / "small.yaml"
    small.write_text(TINY.replace("conv_kernel_size: [3]", "conv_kernel_size: [13]"))
    r = runner.invoke(cli, ["sweep", "fashion", "--grid", str(small), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 1 and "too small" in r.output
    r = runner.invoke(cli, ["sweep", "fashion", "--grid", str(tmp_path / "nope.yaml")])
    assert r.exit_code == 1 and "grid file not found" in r.output
    r = runner.invoke(cli, ["sweep", "report", "--run-dir", str(tmp_path / "empty")])
    assert r.exit_code == 1 and "no sweep journal" in r.output


# -- running ----------------------------------------------------------------------------


@pytest.mark.slow
def test_tiny_sweep_runs_to_completion_and_report_regenerates(fashion_ready, tiny_grid, tmp_path, runner, cli):
    run = tmp_path / "run"
    r = runner.invoke(cli, ["sweep", "fashion", "--grid", str(tiny_grid), "--run-dir", str(run), *QUICK])
    assert r.exit_code == 0, r.output
    _check_each_once(_trials(str(run / "study.journal"), "fashion"), 4)
    with open(run / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {r["state"] for r in rows} == {"COMPLETE"}
    accs = [float(r["test_accuracy"]) for r in rows]
    assert accs == sorted(accs, reverse=True)
    assert {(r["lr"], r["activation"]) for r in rows} == {("0.01", "ReLU"), ("0.01", "Tanh"), ("0.001", "ReLU"), ("0.001", "Tanh")}
    assert all(r["parameters"] == "44710" for r in rows)
    for i in range(1, 5):
        assert (run / f"top{i}_confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    effects = list(csv.DictReader(open(run / "main_effects.csv")))
    assert {(e["setting"], e["value"]) for e in effects} == {("lr", "0.01"), ("lr", "0.001"), ("activation", "ReLU"), ("activation", "Tanh")}
    lr01 = [float(r["test_accuracy"]) for r in rows if r["lr"] == "0.01"]
    assert float(next(e for e in effects if e["value"] == "0.01")["mean_accuracy"]) == pytest.approx(sum(lr01) / 2)
    # The report is made from the study alone: delete it, regenerate it, get the same table.
    before = (run / "results.csv").read_text()
    (run / "results.csv").unlink()
    r = runner.invoke(cli, ["sweep", "report", "--run-dir", str(run)])
    assert r.exit_code == 0, r.output
    assert (run / "results.csv").read_text() == before
    # Running it again trains nothing.
    r = runner.invoke(cli, ["sweep", "fashion", "--grid", str(tiny_grid), "--run-dir", str(run), *QUICK])
    assert r.exit_code == 0 and len(_trials(str(run / "study.journal"), "fashion")) == 4


def _wait_for(pred, timeout: float, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.3)
    return False


def _running_after_one_done(journal: Path, study: str):
    def pred():
        if not journal.exists():
            return False
        try:
            ts = _trials(str(journal), study)
        except Exception:
            return False
        return any(t.state.name == "COMPLETE" for t in ts) and any(
            t.state.name == "RUNNING" and "config_key" in t.user_attrs for t in ts)
    return pred


@pytest.mark.slow
def test_killed_and_interrupted_sweeps_resume_without_duplicates_or_losses(fashion_ready, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text(TINY.replace("epochs: [1]", "epochs: [1]").replace("batch_size: [100]", "batch_size: [20]"))
    run = tmp_path / "run"
    journal = run / "study.journal"
    cmd = _sweep_cmd("--grid", str(grid), "--run-dir", str(run), "--heartbeat", "0.5", "--grace", "2",
                     "--train-subset", "3000", "--test-subset", "500", "--threads", "1")
    # 1. a crash: SIGKILL mid-trial leaves that trial RUNNING with a heartbeat that stops.
    p = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert _wait_for(_running_after_one_done(journal, "fashion"), 120, p), p.stderr.read().decode()[-2000:]
    p.kill()
    p.wait()
    killed = [t.number for t in _trials(str(journal), "fashion") if t.state.name == "RUNNING"]
    assert len(killed) == 1
    # 2. Ctrl-C mid-trial: exits 130, its trial is FAIL, not left RUNNING.
    p = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def new_running():
        ts = _trials(str(journal), "fashion")
        return any(t.state.name == "RUNNING" and t.number not in killed and "config_key" in t.user_attrs for t in ts)

    assert _wait_for(new_running, 120, p), p.stderr.read().decode()[-2000:]
    p.send_signal(signal.SIGINT)
    assert p.wait(60) == 130
    # 3. the same command finishes the rest.
    r = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    trials = _trials(str(journal), "fashion")
    _check_each_once(trials, 4)
    by_number = {t.number: t for t in trials}
    assert by_number[killed[0]].state.name == "FAIL"
    assert any(t.system_attrs.get("failed_trial") == killed[0] for t in trials), "the killed trial was not retried"


def _two_workers(storage: str, study: str, run: Path, grid: Path):
    cmd = _sweep_cmd("--grid", str(grid), "--run-dir", str(run), "--storage", storage, "--study", study,
                     "--workers", "2", *QUICK)
    r = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    trials = _trials(storage, study)
    _check_each_once(trials, 4)
    workers = {t.user_attrs["worker"] for t in trials if t.state.name == "COMPLETE"}
    assert len(workers) == 2, f"both worker processes should have trained: {workers}"
    assert len(list(csv.DictReader(open(run / "results.csv")))) == 4


@pytest.mark.slow
def test_two_worker_processes_share_one_journal_study(fashion_ready, tiny_grid, tmp_path):
    _two_workers(str(tmp_path / "shared" / "study.journal"), "shared", tmp_path / "run", tiny_grid)


@pytest.mark.slow
def test_two_worker_processes_share_one_postgres_study(fashion_ready, tiny_grid, tmp_path):
    url = os.environ.get("VIDREC_TEST_POSTGRES")
    if not url:
        pytest.skip("VIDREC_TEST_POSTGRES is not set: start a server with `eval \"$(scripts/ci-postgres.sh)\"`")
    import optuna

    from vidrec.sweep.engine import open_storage

    study = f"test-{uuid.uuid4().hex[:8]}"
    try:
        _two_workers(url, study, tmp_path / "run", tiny_grid)
    finally:
        try:
            optuna.delete_study(study_name=study, storage=open_storage(url))
        except KeyError:
            pass
