"""Model files: safetensors weights plus a JSON model card, found by name or path.

A model file is input and input can be hostile, so weights are safetensors
(no unpickling at all). The architecture, its arguments, the class names and the
input normalisation travel in the safetensors metadata, so one file is enough to
load a model; the card beside it (``NAME.json``) holds the metrics and how the
model was made.

Named models live in the models folder: ``$VIDREC_MODELS`` or the repository's
``models/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from vidrec.errors import VidrecError

SUFFIX = ".safetensors"


def models_dir() -> Path:
    env = os.environ.get("VIDREC_MODELS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent / "models"


@dataclass
class ModelInfo:
    """What the loader needs besides the weights."""

    arch: str = "seednet"
    arch_kwargs: dict = field(default_factory=dict)
    classes: list[str] = field(default_factory=lambda: [str(i) for i in range(10)])
    mean: float = 0.1307
    std: float = 0.3081
    extra: dict = field(default_factory=dict)  # e.g. a rejection threshold, prototypes

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> "ModelInfo":
        d = json.loads(text)
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A path to an existing file, or a name in the models folder."""
    p = Path(name_or_path)
    if p.suffix == SUFFIX or p.exists() or os.sep in str(name_or_path):
        if not p.exists():
            raise VidrecError(f"model file not found: {p}")
        return p
    candidate = models_dir() / f"{name_or_path}{SUFFIX}"
    if candidate.exists():
        return candidate
    known = sorted(f.stem for f in models_dir().glob(f"*{SUFFIX}"))
    raise VidrecError(
        f"no model named {name_or_path!r} in {models_dir()}; known: {', '.join(known) or 'none'}"
    )


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def save(model, info: ModelInfo, path: str | os.PathLike, card: dict | None = None) -> Path:
    """Write weights (and the card, if given) atomically: Ctrl-C keeps the old model."""
    from safetensors.torch import save_file

    from vidrec.atomic import atomic_path, write_json

    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"vidrec": info.to_json()})
    if card is not None:
        write_json(card_path(path), card)
    return path


def load(name_or_path: str | os.PathLike):
    """Return ``(model in eval mode, ModelInfo, card dict or {})``; clear errors for bad files."""
    from safetensors import SafetensorError, safe_open

    from vidrec import nets

    path = resolve(name_or_path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise VidrecError(f"{path} is not a readable safetensors model file ({str(e)[:120]})") from None
    if "vidrec" not in meta:
        raise VidrecError(f"{path} has no vidrec metadata; it was not written by vidrec")
    info = ModelInfo.from_json(meta["vidrec"])
    try:
        model = nets.build(info.arch, **info.arch_kwargs)
        model.load_state_dict(state)
    except (ValueError, RuntimeError, TypeError) as e:
        raise VidrecError(f"{path}: weights do not fit architecture {info.arch!r} ({str(e)[:160]})") from None
    model.eval()
    card = {}
    cp = card_path(path)
    if cp.exists():
        try:
            card = json.loads(cp.read_text())
        except ValueError:
            card = {}
    return model, info, card
