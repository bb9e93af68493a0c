"""The frame loop: capture -> preprocess -> segment -> classify -> render.

It knows nothing of digits: recognisers (picked by name from plugins) do the
work, the loop calls their stage methods in the order the user gave, times every
stage, and keeps one recogniser's failure on one frame from ending a run (a
plugin bug on one odd frame should cost that frame, not an hour of video), unless
``fail_fast`` asks for the opposite.

Timings are kept per stage as compact float arrays, never frames, so memory stays
flat however long the video is.
"""

from __future__ import annotations

import time
import traceback
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from vidrec.errors import VidrecError
from vidrec.types import Frame, FrameResult

STAGES = ("preprocess", "segment", "classify", "render")


class StopRun(Exception):
    """Raised by a sink or ``on_frame`` to end a run cleanly (the window's q key)."""


class RecognizerFailed(VidrecError):
    """A recogniser raised on a frame and ``fail_fast`` was set."""

    def __init__(self, plugin: str, stage: str, frame: int, error: BaseException):
        tb = traceback.extract_tb(error.__traceback__)
        where = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
        super().__init__(f"plugin {plugin!r} failed in {stage} on frame {frame}: "
                         f"{type(error).__name__}: {error}{where} (--fail-fast)")
        self.plugin, self.stage, self.frame, self.error = plugin, stage, frame, error


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


class Pipeline:
    """Runs recognisers on one frame at a time.

    ``draw``: make an annotated canvas (a copy of the frame the recognisers draw
    on). Without a window or an output video nobody looks at it, so the copy and
    the drawing are skipped.
    """

    def __init__(self, recognizers: list[tuple[str, Any]], fail_fast: bool = False, draw: bool = True):
        self.recognizers = list(recognizers)
        self.fail_fast = fail_fast
        self.draw = draw
        names = [n for n, _ in self.recognizers]
        # Precomputed keys: no string formatting on the frame path.
        self._keys = {n: {s: f"{n}.{s}" for s in STAGES} for n in names}
        self._named = dict.fromkeys(names, 0)  # per recogniser: frames on which it named something

    def process(self, frame: Frame) -> tuple[FrameResult, np.ndarray | None]:
        """One frame through every recogniser; returns its record and the annotated canvas."""
        clock = time.perf_counter
        result = FrameResult(frame=frame.index, t=frame.timestamp)
        ms = result.ms
        for s in STAGES:
            ms[s] = 0.0
        t_start = clock()
        canvas = None
        if self.draw:
            canvas = frame.image.copy()
            ms["render"] += (clock() - t_start) * 1e3
        texts = []
        for name, rec in self.recognizers:
            keys = self._keys[name]
            stage = "preprocess"
            try:
                t0 = clock()
                pre = rec.preprocess(frame)
                t1 = clock()
                stage = "segment"
                regions = rec.segment(frame, pre)
                t2 = clock()
                stage = "classify"
                preds = rec.classify(frame, regions, pre)
                t3 = clock()
                for p in preds:
                    p.plugin = name
                stage = "render"
                if canvas is not None:
                    rec.render(canvas, frame, preds)
                t4 = clock()
                stage = "text"
                text = rec.text(preds)
            except Exception as e:  # noqa: BLE001 - a plugin's bug on one frame is recorded, not fatal
                if self.fail_fast:
                    raise RecognizerFailed(name, stage, frame.index, e) from e
                result.errors.append({"plugin": name, "stage": stage, "error": _describe(e)})
                continue
            for s, a, b in (("preprocess", t0, t1), ("segment", t1, t2),
                            ("classify", t2, t3), ("render", t3, t4)):
                d = (b - a) * 1e3
                ms[keys[s]] = d
                ms[s] += d
            result.predictions.extend(preds)
            if preds:
                self._named[name] += 1
            if text:
                texts.append(text)
        ms["frame"] = (clock() - t_start) * 1e3
        result.text = " | ".join(texts)
        return result, canvas

    def reset(self) -> None:
        """A new source starts: recognisers forget what they tracked in the last one."""
        self._named = dict.fromkeys(self._named, 0)
        for _, rec in self.recognizers:
            reset = getattr(rec, "reset", None)
            if reset is not None:
                reset()

    def notes(self, n: int) -> list[str]:
        """For the summary of an input of ``n`` frames: each recogniser that named nothing
        in it, with its ``nothing_read_hint`` (those without one say nothing)."""
        out = []
        for name, rec in self.recognizers:
            hint = getattr(rec, "nothing_read_hint", "")
            if hint and n and not self._named[name]:
                out.append(f"{name} read nothing in {n} frame{'s' if n != 1 else ''}: {hint}")
        return out

    def on_key(self, key: int) -> bool:
        """Offer a window key press to each recogniser in turn until one takes it."""
        return any(rec.on_key(key) for _, rec in self.recognizers)

    def close(self) -> None:
        for _, rec in self.recognizers:
            rec.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- summary


def _stats(values: array) -> dict[str, float]:
    if not len(values):
        return {"mean": 0.0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    a = np.frombuffer(values, dtype=np.float64)
    p50, p99 = np.percentile(a, [50, 99])
    return {"mean": round(float(a.mean()), 3), "p50": round(float(p50), 3),
            "p99": round(float(p99), 3), "max": round(float(a.max()), 3)}


@dataclass
class Summary:
    """What a run did: counts, rates and timing statistics (milliseconds)."""

    source: str = ""
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    dropped: int = 0
    failures: int = 0  # recogniser errors (one frame can carry several)
    failed_frames: int = 0
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> mean/p50/p99/max
    frame_ms: dict[str, float] = field(default_factory=dict)  # whole pipeline per frame
    interrupted: bool = False
    stopped: bool = False  # q in the window, or a StopRun
    notes: list[str] = field(default_factory=list)  # what the source said (truncated file...)

    def as_json(self) -> dict:
        return dict(self.__dict__)


class _Timings:
    """Per-key float arrays (8 bytes a value): a recogniser that failed on a frame has no entry for it."""

    def __init__(self):
        self.data: dict[str, array] = {}

    def add(self, ms: dict[str, float]) -> None:
        for k, v in ms.items():
            a = self.data.get(k)
            if a is None:
                a = self.data[k] = array("d")
            a.append(v)


def run(source: Iterable[Frame], pipeline: Pipeline, sinks: list[Any] = (),
        on_frame: Callable[[Frame, FrameResult, np.ndarray | None], Any] | None = None) -> Summary:
    """Pull frames from ``source`` through ``pipeline`` into every sink; return the summary.

    Sinks have ``write(frame, result, canvas)``; the caller opens and closes them
    (they are context managers), so this function never leaves one open. A
    ``StopRun`` from a sink or ``on_frame`` ends the run normally (``stopped``).
    Ctrl-C (KeyboardInterrupt) is caught here and ends the run with
    ``interrupted=True``, so the caller can still close its sinks, print the
    summary and decide (the CLI stops and exits 130; an evaluator should stop too).
    Recognisers are reset at the start, so tracking never spans two sources.
    """
    clock = time.perf_counter
    summary = Summary(source=str(getattr(source, "name", "")))
    timings = _Timings()
    capture = timings.data.setdefault("capture", array("d"))
    sink_ms = timings.data.setdefault("sinks", array("d"))
    pipeline.reset()
    it = iter(source)
    t_begin = clock()
    try:
        while True:
            t0 = clock()
            try:
                frame = next(it)
            except StopIteration:
                break
            t1 = clock()
            capture.append((t1 - t0) * 1e3)
            result, canvas = pipeline.process(frame)
            timings.add(result.ms)
            summary.frames += 1
            if result.errors:
                summary.failures += len(result.errors)
                summary.failed_frames += 1
            t2 = clock()
            for sink in sinks:
                sink.write(frame, result, canvas)
            if on_frame is not None:
                on_frame(frame, result, canvas)
            sink_ms.append((clock() - t2) * 1e3)
    except StopRun:
        summary.stopped = True
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    summary.seconds = round(clock() - t_begin, 4)
    summary.fps = round(summary.frames / summary.seconds, 2) if summary.seconds > 0 else 0.0
    summary.dropped = int(getattr(source, "dropped", 0))
    summary.notes = list(getattr(source, "notes", [])) + pipeline.notes(summary.frames)
    frame_ms = timings.data.pop("frame", array("d"))
    summary.frame_ms = _stats(frame_ms)
    summary.stages = {k: _stats(v) for k, v in timings.data.items()}
    return summary
