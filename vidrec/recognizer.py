"""The base class for recognisers: the stage methods the frame loop calls.

A recogniser holds its model and state (trackers) across frames. The loop calls,
per frame and in this order: ``preprocess`` (optional), ``segment``,
``classify`` and, when something is drawn, ``render``; ``text`` says what the
frame reads; ``on_key`` gets window key presses; ``reset`` runs before each new
source; ``close`` runs once at the end. ``nothing_read_hint`` is what the run's
summary says when the recogniser named nothing in a whole input.

Frames are not kept by the loop; a recogniser that keeps something across frames
(a track's last crop) should keep a copy, not a view into ``frame.image``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vidrec.types import Frame, Prediction, Region


class Recognizer:
    name: str = ""
    # Said in the run's summary (after "NAME read nothing in N frames: ") when this recogniser
    # named nothing on any frame of an input: what it looks for, and what to use instead
    # (a folder of photos each cropped to one digit gives a video recogniser nothing to find).
    # Empty: nothing is said (a filter overlay never names anything).
    nothing_read_hint: str = ""

    def preprocess(self, frame: Frame) -> Any:
        """Work shared by segment and classify (e.g. a binarised frame). Default: none."""
        return None

    def segment(self, frame: Frame, pre: Any) -> list[Region]:
        """Find the regions that may hold a symbol. Default: none."""
        return []

    def classify(self, frame: Frame, regions: list[Region], pre: Any) -> list[Prediction]:
        """Name the regions (one batched forward pass); drop what is not a symbol."""
        return []

    def render(self, canvas: np.ndarray, frame: Frame, predictions: list[Prediction]) -> None:
        """Draw on ``canvas`` (a BGR copy of the frame) in place."""

    def text(self, predictions: list[Prediction]) -> str:
        """What the frame reads, for the JSON Lines ``text`` field. Default: empty."""
        return ""

    def reset(self) -> None:
        """A new source starts (next file of ``vidrec run``): forget tracks and votes. Default: nothing."""

    def on_key(self, key: int) -> bool:
        """A key pressed in the window; return True if it was handled."""
        return False

    def close(self) -> None:
        """Release what the recogniser holds."""


def option_number(name: str, value, lo: float | None = None, hi: float | None = None, kind=float):
    """A recogniser option as a number (``--option`` values arrive as strings).

    Raises a one-line VidrecError when it is not a number or lies outside [lo, hi].
    """
    from vidrec.errors import VidrecError

    try:
        v = kind(value)
        if v != v:  # "nan" parses, and passes every bound
            raise ValueError(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise VidrecError(f"option {name}={value!r} must be {what}") from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        where = (f"between {lo} and {hi}" if lo is not None and hi is not None
                 else f"at least {lo}" if lo is not None else f"at most {hi}")
        raise VidrecError(f"option {name}={value!r} must be {where}")
    return v


def option_flag(name: str, value) -> bool:
    """A recogniser option as a boolean: "0/1/true/false/yes/no/on/off" (``bool("False")`` would be True)."""
    from vidrec.errors import VidrecError

    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise VidrecError(f"option {name}={value!r} must be true or false")
