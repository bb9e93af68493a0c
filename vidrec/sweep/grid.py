"""The search space: the seed's grid kept exactly, other grids from YAML/JSON, sub-grid designs.

Optuna's GridSampler stores only scalars, so list-valued settings (channels,
hidden layers) travel through the study as compact JSON strings ("[6, 12]") and
are decoded again before a network is built.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from vidrec.errors import VidrecError

# The seed's task 4 grid, kept exactly (2^10 = 1024 configurations; shuffle has one value).
SEED_GRID: dict[str, list] = {
    "lr": [0.01, 0.001],
    "batch_size": [100, 1000],
    "shuffle": [True],
    "epochs": [5, 10],
    "conv_channels": [[6, 12], [8, 16]],
    "conv_kernel_size": [3, 5],
    "pool_kernel_size": [2, 3],
    "pool_stride": [1, 2],
    "dropout_rate": [0.1, 0.5],
    "hidden_layers": [[120, 60], [512, 256]],
    "activation": ["ReLU", "Tanh"],
}

# The seed's prediction of the winner, which the report checks.
SEED_PREDICTION: dict = {
    "lr": 0.001,
    "epochs": 10,
    "batch_size": 100,
    "hidden_layers": [120, 60],
    "activation": "ReLU",
}

REQUIRED = tuple(SEED_GRID)
ACTIVATIONS = ("ReLU", "Tanh", "GELU", "ELU", "LeakyReLU", "Sigmoid", "SiLU")


def encode(value):
    """A grid value as Optuna can store it: lists become their JSON text."""
    return json.dumps(value) if isinstance(value, (list, tuple)) else value


def decode(value):
    if isinstance(value, str) and value.startswith("["):
        return json.loads(value)
    return value


def decode_config(params: dict) -> dict:
    return {k: decode(v) for k, v in params.items()}


def config_key(config: dict) -> str:
    """One canonical string per configuration, so equal settings compare equal across workers."""
    return json.dumps({k: encode(config[k]) for k in sorted(config)}, separators=(",", ":"))


def search_space(grid: dict[str, list]) -> dict[str, list]:
    return {k: [encode(v) for v in vals] for k, vals in grid.items()}


def configurations(grid: dict[str, list]) -> list[dict]:
    """Every configuration of the grid, in a fixed order (the first value of each setting first)."""
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def _check(grid: dict, source: str) -> dict[str, list]:
    if not isinstance(grid, dict):
        raise VidrecError(f"{source}: a grid is a mapping of setting name to a list of values")
    missing = [k for k in REQUIRED if k not in grid]
    unknown = [k for k in grid if k not in REQUIRED]
    if missing or unknown:
        raise VidrecError(
            f"{source}: "
            + "; ".join(
                s
                for s in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unknown {', '.join(unknown)}" if unknown else "",
                )
                if s
            )
            + f" (a grid names exactly: {', '.join(REQUIRED)})"
        )
    out: dict[str, list] = {}
    for name in REQUIRED:
        vals = grid[name]
        if not isinstance(vals, list) or not vals:
            raise VidrecError(f"{source}: {name} must be a non-empty list of values")
        for v in vals:
            ok = {
                "lr": isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
                "batch_size": isinstance(v, int) and not isinstance(v, bool) and v > 0,
                "shuffle": isinstance(v, bool),
                "epochs": isinstance(v, int) and not isinstance(v, bool) and v > 0,
                "conv_channels": isinstance(v, list) and len(v) == 2 and all(isinstance(c, int) and c > 0 for c in v),
                "conv_kernel_size": isinstance(v, int) and v > 0,
                "pool_kernel_size": isinstance(v, int) and v > 0,
                "pool_stride": isinstance(v, int) and v > 0,
                "dropout_rate": isinstance(v, (int, float)) and 0 <= v < 1,
                "hidden_layers": isinstance(v, list) and all(isinstance(h, int) and h > 0 for h in v),
                "activation": v in ACTIVATIONS,
            }[name]
            if not ok:
                hint = f" (one of {', '.join(ACTIVATIONS)})" if name == "activation" else ""
                raise VidrecError(f"{source}: bad value {v!r} for {name}{hint}")
        if len({encode(v) for v in vals}) != len(vals):
            raise VidrecError(f"{source}: {name} lists a value twice")
        out[name] = [float(v) if name in ("lr", "dropout_rate") else v for v in vals]
    return out


def load_grid(path: str | Path | None) -> dict[str, list]:
    """The seed's grid, or the one in ``path`` (YAML or JSON), checked value by value."""
    if path is None:
        return {k: list(v) for k, v in SEED_GRID.items()}
    p = Path(path)
    if not p.is_file():
        raise VidrecError(f"grid file not found: {p}")
    text = p.read_text()
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # yaml.YAMLError, json.JSONDecodeError
        raise VidrecError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {str(e).splitlines()[0]}") from None
    grid = _check(data, str(p))
    from vidrec.sweep.family import check_shapes

    check_shapes(grid, source=str(p))
    return grid


# Generators of the 2^(10-4) resolution IV design (Montgomery, Design and Analysis of
# Experiments, table of 2^(k-p) fractional factorials): with base factors A..F,
# G=BCDF, H=ACDF, J=ABDE, K=ABCE. Main effects are aliased only with 3-factor
# and higher interactions, and every value of every setting appears 32 times.
_GENERATORS = {(10, 6): ["BCDF", "ACDF", "ABDE", "ABCE"]}


def fractional_design(grid: dict[str, list], runs: int = 64) -> list[dict]:
    """A two-level fractional factorial sub-grid of ``runs`` configurations.

    Balanced: each value of each two-level setting appears in exactly half the
    runs, and the columns are orthogonal, so mean accuracy per value (the main
    effects) is estimated as well as from the full grid, for 1/16 of the cost
    on the seed's grid.
    """
    fixed = {k: v[0] for k, v in grid.items() if len(v) == 1}
    factors = [k for k, v in grid.items() if len(v) == 2]
    if any(len(v) > 2 for v in grid.values()):
        raise VidrecError("a fractional design needs every setting to have one or two values")
    m = runs.bit_length() - 1
    if runs < 2 or 2**m != runs:
        raise VidrecError(f"--fraction must be a power of two, got {runs}")
    k = len(factors)
    if m >= k:
        return configurations(grid)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:m]
    gens = _GENERATORS.get((k, m))
    if gens is None:  # interaction words of the base factors, highest order first
        words = [
            "".join(c)
            for r in range(m, 2, -1)
            for c in itertools.combinations(letters, r)
        ]
        if len(words) < k - m:
            raise VidrecError(f"no resolution-III-or-better design of {runs} runs for {k} two-level settings")
        gens = words[: k - m]
    out = []
    for base in itertools.product((-1, 1), repeat=m):
        signs = list(base)
        for w in gens:
            s = 1
            for ch in w:
                s *= base[letters.index(ch)]
            signs.append(s)
        cfg = dict(fixed)
        for name, s in zip(factors, signs):
            cfg[name] = grid[name][0 if s < 0 else 1]
        out.append({n: cfg[n] for n in grid})
    return out
