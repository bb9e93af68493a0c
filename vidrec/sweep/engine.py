"""The sweep engine: one Optuna study per sweep, any number of workers, resumable.

How a configuration is run exactly once to completion, whatever happens:

* ``ConfigSampler`` (a GridSampler restricted to the sweep's configurations)
  hands a new trial a configuration that no trial has finished (COMPLETE or
  PRUNED), none is running and none is queued for retry; only when every
  remaining one is taken by a running trial does it hand out a running one.
  (A plain GridSampler counts a FAILED trial as visited, so a configuration
  interrupted by Ctrl-C would never run again, and it freely repeats running
  configurations near the end of a distributed study.)
* Before training and again after every epoch, the trial looks in the study for
  a trial with the same configuration that is COMPLETE/PRUNED, or RUNNING with a
  smaller number. If there is one it stops at once (``Superseded``: the trial
  is recorded FAIL with ``superseded_by``) so of two workers that picked the same
  configuration at the same moment only the older trial trains on; the check
  after the last epoch comes before the result is stored, so no configuration
  is stored twice.
* Heartbeat: every running trial stamps the time into the study every few
  seconds (Optuna 5's JournalStorage has no heartbeat of its own, so vidrec runs
  one thread per trial for every storage). A RUNNING trial whose stamp is older
  than the grace period belongs to a killed worker: any worker marks it FAIL
  and hands it to Optuna's RetryFailedTrialCallback, which queues the same
  configuration again as a WAITING trial that the next free worker takes.
* A worker leaves when every configuration is finished (or ``--limit`` of them
  are); while the only unfinished ones are running elsewhere it waits, so that
  if their worker dies it picks them up.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vidrec.errors import VidrecError

HEARTBEAT_ATTR = "vidrec_heartbeat"
DONE_STATES = ("COMPLETE", "PRUNED")


@dataclass
class Settings:
    """Everything a worker needs, picklable so spawned worker processes get it whole."""

    storage: str  # an Optuna storage URL, or a path to a journal file
    study: str
    grid: dict
    configs: list  # the configurations to run (the whole grid, or a design's sub-grid)
    training: dict  # objective.Training fields
    prune: bool = False
    limit: int | None = None
    threads: int = 1
    heartbeat: float = 10.0
    grace: float = 60.0
    max_retry: int = 3
    design: str = "full"
    meta: dict = field(default_factory=dict)


class Superseded(Exception):
    """Another trial already finished (or is training) this configuration."""


def open_storage(url: str):
    import optuna

    if "://" in url:
        url = _driver(url)
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        except Exception as e:  # sqlalchemy / psycopg2 errors: no server, bad credentials
            raise VidrecError(f"cannot open storage {url.split('@')[-1]}: {str(e).splitlines()[0]}") from None
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = Path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


def _driver(url: str) -> str:
    """SQLAlchemy 2.1 maps postgresql:// to psycopg 3; use psycopg2 (installed) when psycopg 3 is not."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            try:
                import psycopg  # noqa: F401
            except ImportError:
                return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _sampler(settings: Settings, worker_index: int = 0):
    from vidrec.sweep.grid import config_key, encode, search_space

    import optuna

    class ConfigSampler(optuna.samplers.GridSampler):
        """GridSampler over the sweep's configurations; see the module docstring for the rules."""

        def __init__(self):
            super().__init__(search_space(settings.grid), seed=0)
            self._all_grids = [tuple(encode(c[n]) for n in self._param_names) for c in settings.configs]
            self._n_min_trials = len(self._all_grids)
            self._keys = [config_key(c) for c in settings.configs]
            self._slot = worker_index
            # A fixed shuffle (the same in every worker and every run) so that a sweep
            # stopped part-way has covered a random sample of its configurations, with the
            # values of every setting roughly balanced, rather than a corner of the grid.
            self._order = list(range(len(self._keys)))
            random.Random(0).shuffle(self._order)

        def before_trial(self, study, trial):
            if trial.params or "grid_id" in trial.system_attrs or "fixed_params" in trial.system_attrs:
                return
            st = grid_status(study, settings)
            free = [i for i in self._order if self._keys[i] not in st.done and self._keys[i] not in st.taken]
            if not free:
                free = [i for i in self._order if self._keys[i] not in st.done] or list(self._order)
            # In that order, so that two sweeps of the same configurations (with and
            # without --prune) cover the same ones first; worker i takes the i-th free one,
            # so that workers starting together rarely pick the same configuration.
            gid = free[self._slot % len(free)]
            study._storage.set_trial_system_attr(trial._trial_id, "search_space", self._search_space)
            study._storage.set_trial_system_attr(trial._trial_id, "grid_id", gid)

        def after_trial(self, study, trial, state, values):
            pass  # the worker loop decides when to stop

    return ConfigSampler()


def _pruner(settings: Settings):
    import optuna

    if not settings.prune:
        return optuna.pruners.NopPruner()
    # Successive halving over epochs: rungs at epochs 2 and 6; at each rung a
    # trial goes on only if it is in the top third of those that reached it.
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3)


def open_study(settings: Settings, worker_index: int = 0):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(settings.storage)
    study = optuna.create_study(
        storage=storage,
        study_name=settings.study,
        direction="maximize",
        sampler=_sampler(settings, worker_index),
        pruner=_pruner(settings),
        load_if_exists=True,
    )
    meta = {
        "grid": settings.grid,
        "design": settings.design,
        "configs": len(settings.configs),
        "training": settings.training,
        "prune": settings.prune,
    }
    old = study.user_attrs.get("vidrec_sweep")
    if old is None:
        study.set_user_attr("vidrec_sweep", meta)
        study.set_user_attr("vidrec_configs", settings.configs)
    elif {k: old.get(k) for k in meta} != json.loads(json.dumps(meta)):
        diff = [k for k in meta if old.get(k) != json.loads(json.dumps(meta[k]))]
        raise VidrecError(
            f"study {settings.study!r} was started with different settings ({', '.join(diff)}); "
            "use the same options to resume it, or --study NAME for a new one"
        )
    return study


@dataclass
class Status:
    done: dict  # config key -> finished trial (COMPLETE or PRUNED)
    taken: set  # config keys running (heartbeat alive) or queued
    running: int
    stale: list  # RUNNING trials whose heartbeat stopped
    waiting: int


def _heartbeat_time(t) -> float:
    hb = t.system_attrs.get(HEARTBEAT_ATTR)
    if isinstance(hb, list) and len(hb) == 2 and hb[0] == t.number:
        return float(hb[1])
    return t.datetime_start.timestamp() if t.datetime_start else time.time()


def trial_key(t) -> str | None:
    from vidrec.sweep.grid import config_key, decode_config

    key = t.user_attrs.get("config_key")
    if key is None and t.params:
        key = config_key(decode_config(t.params))
    return key


def grid_status(study, settings: Settings) -> Status:
    from optuna.trial import TrialState

    now = time.time()
    done, taken, stale = {}, set(), []
    running = waiting = 0
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            key = trial_key(t)
            if key is not None and key not in done:
                done[key] = t
        elif t.state == TrialState.RUNNING:
            if now - _heartbeat_time(t) > settings.grace:
                stale.append(t)
                continue
            running += 1
            key = trial_key(t)
            if key is None and "grid_id" in t.system_attrs:
                gid = t.system_attrs["grid_id"]
                if 0 <= gid < len(settings.configs):
                    from vidrec.sweep.grid import config_key

                    key = config_key(settings.configs[gid])
            if key is not None:
                taken.add(key)
        elif t.state == TrialState.WAITING:
            waiting += 1
            key = trial_key(t)
            if key is not None:
                taken.add(key)
    return Status(done, taken, running, stale, waiting)


def fail_stale(study, settings: Settings, status: Status | None = None) -> int:
    """Mark RUNNING trials with a stopped heartbeat FAIL and queue their configuration again."""
    import optuna
    from optuna.trial import TrialState

    status = status or grid_status(study, settings)
    retry = optuna.storages.RetryFailedTrialCallback(max_retry=settings.max_retry)
    n = 0
    for t in status.stale:
        try:
            study._storage.set_trial_user_attr(t._trial_id, "failed_reason", "heartbeat stopped (worker killed?)")
            ok = study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        except Exception:  # it finished after all, or another worker failed it first
            continue
        if ok:
            retry(study, study._storage.get_trial(t._trial_id))
            n += 1
    return n


class _Heartbeat:
    def __init__(self, study, trial, every: float):
        self.study, self.trial, self.every = study, trial, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _beat(self):
        self.study._storage.set_trial_system_attr(self.trial._trial_id, HEARTBEAT_ATTR, [self.trial.number, time.time()])

    def _run(self):
        while not self.stop.wait(self.every):
            try:
                self._beat()
            except Exception:
                pass  # a finished trial or a storage hiccup; the next beat tries again

    def __enter__(self):
        self._beat()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)


def superseded_by(study, trial, key: str) -> int | None:
    """The number of a trial that makes this one redundant, if any (see the module docstring)."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)):
        if t.number == trial.number or trial_key(t) != key:
            continue
        if t.state != TrialState.RUNNING or t.number < trial.number:
            return t.number
    return None


def make_objective(settings: Settings, data, on_epoch=None, on_batch=None):
    import optuna

    from vidrec.sweep import objective as obj
    from vidrec.sweep.grid import config_key, decode_config

    training = obj.Training(**settings.training)
    names = list(settings.grid)

    def objective(trial: optuna.Trial) -> float:
        with _Heartbeat(trial.study, trial, settings.heartbeat):
            params = {}
            for n in names:
                values = [v for v in _sampler_values(settings.grid, n)]
                params[n] = trial.suggest_categorical(n, values)
            config = decode_config(params)
            key = config_key(config)
            trial.set_user_attr("config_key", key)
            trial.set_user_attr("config", config)
            trial.set_user_attr("training", training.as_dict())
            trial.set_user_attr("seed", training.seed)
            trial.set_user_attr("worker", f"{os.uname().nodename}:{os.getpid()}")
            if "failed_reason" in trial.user_attrs:  # copied from the failed trial this one retries
                trial.set_user_attr("failed_reason", None)
            other = superseded_by(trial.study, trial, key)
            if other is not None:
                trial.set_user_attr("superseded_by", other)
                raise Superseded(f"configuration already taken by trial {other}")

            def _epoch(epoch: int, acc: float):
                other = superseded_by(trial.study, trial, key)
                if other is not None:
                    trial.set_user_attr("superseded_by", other)
                    raise Superseded(f"configuration finished by trial {other}")
                if settings.prune:
                    trial.report(acc, epoch)
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned after epoch {epoch}")
                if on_epoch is not None:
                    on_epoch(trial, config, epoch, acc)

            try:
                metrics, _ = obj.run(config, data, training, on_epoch=_epoch, on_batch=on_batch,
                                     per_epoch_test=settings.prune)
            except optuna.TrialPruned as e:
                for k, v in getattr(e, "metrics", {}).items():
                    trial.set_user_attr(k, v)
                trial.set_user_attr("pruned_at_epoch", getattr(e, "metrics", {}).get("epochs_run"))
                raise
            for k, v in metrics.items():
                trial.set_user_attr(k, v)
            return metrics["test_accuracy"]

    return objective


def _sampler_values(grid: dict, name: str) -> list:
    from vidrec.sweep.grid import encode

    return [encode(v) for v in grid[name]]


def finished_enough(status: Status, settings: Settings) -> bool:
    keys_needed = {k for k in (_keys(settings))}
    done = len(keys_needed & set(status.done))
    if settings.limit is not None and done >= min(settings.limit, len(keys_needed)):
        return True
    return done >= len(keys_needed)


def _keys(settings: Settings) -> list[str]:
    from vidrec.sweep.grid import config_key

    return [config_key(c) for c in settings.configs]


def work(settings: Settings, data=None, on_epoch=None, on_batch=None, on_trial=None, worker_index: int = 0) -> int:
    """Run trials until the sweep is finished; return how many trials this worker trained to the end."""
    import torch

    from vidrec.sweep import objective as obj

    torch.set_num_threads(max(1, settings.threads))
    study = open_study(settings, worker_index=worker_index)
    if data is None:
        data = obj.load_data(obj.Training(**settings.training))
    objective = make_objective(settings, data, on_epoch=on_epoch, on_batch=on_batch)
    trained = 0
    while True:
        status = grid_status(study, settings)
        if status.stale:
            fail_stale(study, settings, status)
            status = grid_status(study, settings)
        if finished_enough(status, settings):
            return trained
        keys = _keys(settings)
        free = [k for k in keys if k not in status.done and k not in status.taken]
        if not free and status.waiting == 0:
            time.sleep(min(settings.heartbeat, 5.0))  # the rest run elsewhere; take over if they die
            continue
        before = len(study.get_trials(deepcopy=False))
        study.optimize(objective, n_trials=1, catch=(Superseded,), gc_after_trial=False)
        last = study.get_trials(deepcopy=False)[before:] if before else study.get_trials(deepcopy=False)
        mine = [t for t in last if t.user_attrs.get("worker") == f"{os.uname().nodename}:{os.getpid()}"]
        for t in mine:
            if t.state.name in DONE_STATES:
                trained += 1
            elif t.user_attrs.get("superseded_by") is not None:
                time.sleep(min(settings.heartbeat, 2.0))
        if on_trial is not None:
            on_trial(study)


def _worker_main(settings: Settings, index: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        work(settings, worker_index=index)
    except KeyboardInterrupt:
        pass


def summary(study, settings: Settings) -> dict:
    """Counts, best so far and a time estimate from the trials finished so far."""
    st = grid_status(study, settings)
    keys = set(_keys(settings))
    done = [t for k, t in st.done.items() if k in keys]
    best = max(done, key=lambda t: t.value if t.value is not None else -1, default=None)
    completed = [t for t in done if t.state.name == "COMPLETE" and t.user_attrs.get("train_seconds")]
    per_epoch = None
    if completed:
        per_epoch = sum(t.user_attrs["train_seconds"] for t in completed) / sum(t.user_attrs["epochs_run"] for t in completed)
    remaining_epochs = sum(int(c["epochs"]) for c in settings.configs if _key(c) not in st.done)
    target = len(keys) if settings.limit is None else min(settings.limit, len(keys))
    return {
        "done": len(done),
        "total": target,
        "running": st.running,
        "best": None if best is None else (best.value, best.number),
        "seconds_per_epoch": per_epoch,
        "remaining_epochs": remaining_epochs,
    }


def _key(c):
    from vidrec.sweep.grid import config_key

    return config_key(c)


def settings_json(settings: Settings) -> str:
    return json.dumps(asdict(settings))
