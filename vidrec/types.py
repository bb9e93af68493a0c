"""The few plain types that flow through the frame pipeline.

capture -> preprocess -> segment -> classify -> render: a :class:`Frame` comes
in, a recogniser's ``segment`` turns it into :class:`Region` s, its ``classify``
into :class:`Prediction` s, and the loop records a :class:`FrameResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Frame:
    """One captured frame: BGR image (uint8 HxWx3) and its grayscale (uint8 HxW)."""

    index: int
    timestamp: float  # seconds since the source started
    image: np.ndarray
    gray: np.ndarray
    source: str = ""


@dataclass
class Region:
    """A place in the frame that may hold one symbol.

    ``box`` is (x, y, w, h) in frame pixels; ``crop`` the normalised 28x28 float32
    input made by :func:`vidrec.crop.normalize_crop` (None until made).
    """

    box: tuple[int, int, int, int]
    crop: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction:
    """A named region. ``plugin`` is filled in by the pipeline."""

    label: str
    confidence: float
    region: Region
    plugin: str = ""
    track_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict:
        x, y, w, h = (int(v) for v in self.region.box)
        d = {"label": self.label, "confidence": round(float(self.confidence), 4),
             "box": [x, y, w, h], "plugin": self.plugin}
        if self.track_id is not None:
            d["track"] = self.track_id
        return d


@dataclass
class FrameResult:
    """What the pipeline records for one frame (one JSON Lines row)."""

    frame: int
    t: float
    predictions: list[Prediction] = field(default_factory=list)
    text: str = ""
    ms: dict[str, float] = field(default_factory=dict)  # stage -> milliseconds
    errors: list[dict[str, str]] = field(default_factory=list)  # {"plugin", "stage", "error"}

    def as_json(self) -> dict:
        d = {"frame": self.frame, "t": round(self.t, 4),
             "predictions": [p.as_json() for p in self.predictions], "text": self.text}
        if self.errors:
            d["errors"] = self.errors
        return d
