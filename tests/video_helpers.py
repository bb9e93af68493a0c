"""Shared by the video machinery tests: frames made from real MNIST test digits, a tiny recogniser.

The recogniser here is deliberately dumb (dark blobs on light paper, boxed with
OpenCV): these tests are about the machinery around recognisers, not about
recognising; the digit plugins have their own tests.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vidrec.hookspecs import hookimpl
from vidrec.recognizer import Recognizer
from vidrec.types import Prediction, Region


def mnist_digits(n: int = 12, offset: int = 0):
    """The first n MNIST test digits (uint8 28x28, white on black) and their labels."""
    from vidrec.datasets import load_arrays

    x, y = load_arrays("mnist", False)
    return x[offset:offset + n], y[offset:offset + n]


def sheet_frames(count: int, size=(640, 480), digits: int = 6, seed: int = 0, gray=False) -> list[np.ndarray]:
    """Frames of a sheet of paper with real handwritten digits (dark ink), drifting slowly.

    Each digit is an MNIST test digit scaled 3x and darkened onto light paper with
    noise, so frames look like a camera's view of a sheet, and each frame differs.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    imgs, _ = mnist_digits(digits)
    big = [cv2.resize(d, (84, 84), interpolation=cv2.INTER_LINEAR) for d in imgs]
    frames = []
    for i in range(count):
        paper = np.full((h, w), 215, np.float32) + rng.normal(0, 4, (h, w)).astype(np.float32)
        dx = int(4 * np.sin(i / 5.0))
        for k, d in enumerate(big):
            x0 = 20 + (k % 6) * (w - 40) // 6 + dx
            y0 = 20 + (k // 6) * 110 + (i % 3)
            if x0 + 84 > w or y0 + 84 > h:
                continue
            roi = paper[y0:y0 + 84, x0:x0 + 84]
            np.minimum(roi, 215 - d.astype(np.float32) * 0.8, out=roi)
        g = np.clip(paper, 0, 255).astype(np.uint8)
        frames.append(g if gray else cv2.cvtColor(g, cv2.COLOR_GRAY2BGR))
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0, fourcc: str | None = None) -> Path:
    """Write frames with cv2.VideoWriter (mp4v for .mp4, MJPG for .avi)."""
    path = Path(path)
    code = fourcc or ("MJPG" if path.suffix == ".avi" else "mp4v")
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*code), fps, (w, h), frames[0].ndim == 3)
    assert wr.isOpened(), f"cannot write {path} with {code}"
    for f in frames:
        wr.write(f)
    wr.release()
    return path


def read_video(path: Path) -> tuple[int, float, tuple[int, int], list[np.ndarray]]:
    """Frame count by decoding every frame, fps and size as the container says, and the frames."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    return len(frames), fps, size, frames


class BlobRecognizer(Recognizer):
    """Boxes every dark blob bigger than ``min_area`` pixels; reads them left to right as 'b'."""

    def __init__(self, min_area: int = 60, fail_on: int | None = None, fail_stage: str = "classify",
                 interrupt_on: int | None = None, sleep_s: float = 0.0):
        self.min_area = int(min_area)
        self.fail_on = fail_on
        self.fail_stage = fail_stage
        self.interrupt_on = interrupt_on
        self.sleep_s = float(sleep_s)
        self.closed = False
        self.resets = 0

    def _maybe_fail(self, frame, stage):
        if self.fail_on is not None and frame.index == self.fail_on and stage == self.fail_stage:
            raise ValueError(f"blob trouble on frame {frame.index}")
        if self.interrupt_on is not None and frame.index == self.interrupt_on and stage == "classify":
            raise KeyboardInterrupt

    def preprocess(self, frame):
        self._maybe_fail(frame, "preprocess")
        return cv2.threshold(frame.gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]

    def segment(self, frame, pre):
        self._maybe_fail(frame, "segment")
        n, _, stats, _ = cv2.connectedComponentsWithStats(pre)
        return [Region(tuple(int(v) for v in stats[i, :4])) for i in range(1, n)
                if stats[i, 4] >= self.min_area]

    def classify(self, frame, regions, pre):
        self._maybe_fail(frame, "classify")
        if self.sleep_s:
            import time

            time.sleep(self.sleep_s)
        return [Prediction("b", 1.0, r) for r in regions]

    def render(self, canvas, frame, predictions):
        from vidrec.draw import box_label

        for p in predictions:
            box_label(canvas, p.region.box, p.label, color=(0, 0, 255))

    def text(self, predictions):
        return "b" * len(predictions)

    def reset(self):
        self.resets += 1

    def close(self):
        self.closed = True


class BlobPlugin:
    """A plugin registered in the test itself, as datasette and llm test theirs."""

    made: list[BlobRecognizer] = []

    @hookimpl
    def register_recognizers(self, register):
        def blobs(min_area="60", fail_on=None, fail_stage="classify", interrupt_on=None, sleep_s="0",
                  **_ignored):
            rec = BlobRecognizer(int(min_area), None if fail_on is None else int(fail_on), fail_stage,
                                 None if interrupt_on is None else int(interrupt_on), float(sleep_s))
            BlobPlugin.made.append(rec)
            return rec

        register("blobs", blobs, description="dark blobs, for machinery tests")
