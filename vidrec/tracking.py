"""Symbols followed from frame to frame, their labels voted over the recent frames.

Why: a network's answer on one noisy frame flips between similar classes (a
1 and a 7, a 3 and a 5) and a label that flickers is useless to read. What the
live recognisers out there get wrong, and this does not:

- The label is never fixed once. Every frame's class probabilities enter a
  short history (``history`` frames) and the label is the argmax of their
  confidence-weighted sum, so a wrong first look is outvoted and a real change
  (the sheet swapped for another) wins within a few frames.
- A track that is not seen is not drawn, and after ``max_missed`` frames it is
  forgotten: when the sheet leaves, its digits leave with it.
- Matching is by overlap of the box predicted from the track's own velocity,
  with a centre-distance fallback relative to the symbol's height, so a sheet
  moving tens of pixels per frame keeps its tracks.

All of it is a few numpy operations per frame; nothing here knows about digits.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from vidrec.crop import median


@dataclass
class Track:
    id: int
    box: np.ndarray  # float (x, y, w, h)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    probs: deque = field(default_factory=deque)  # recent class probability vectors
    missed: int = 0
    hits: int = 0
    disagree: int = 0  # frames in a row that surely saw another symbol
    label: int = -1
    confidence: float = 0.0
    label_changes: int = 0  # times the voted label changed (a symbol the network wavers on)
    steady: int = 0  # looks since the voted label last changed (or the track began)
    shown_label: int | None = None  # the label a recogniser last showed for it (display hysteresis)
    shown_run: int = 0  # frames in a row it was shown with that label
    memo: object = None  # what a recogniser keeps about the track's last look (its crop, its probabilities)

    def predicted(self) -> np.ndarray:
        b = self.box.copy()
        b[:2] += self.velocity
        return b


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N,4 xywh) with every box in ``b`` (M,4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ax0, ay0 = a[:, 0:1], a[:, 1:2]
    ax1, ay1 = ax0 + a[:, 2:3], ay0 + a[:, 3:4]
    bx0, by0 = b[:, 0], b[:, 1]
    bx1, by1 = bx0 + b[:, 2], by0 + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return inter / np.maximum(union, 1e-6)


class Tracker:
    """``update(boxes, probs) -> tracks`` (one per detection, in the same order)."""

    def __init__(self, history: int = 8, max_missed: int = 3, min_iou: float = 0.25,
                 max_shift: float = 0.9, swap_iou: float = 0.0, decay: float = 0.8):
        self.history = history
        self.max_missed = max_missed
        self.min_iou = min_iou
        self.max_shift = max_shift  # centre distance fallback, in heights
        # one sure frame of another symbol whose box overlaps the old one less than this
        # restarts the vote (a card swapped in a single-symbol box); 0: always wait two frames
        self.swap_iou = swap_iou
        self.decay = decay  # weight of a look one frame older
        self._decay_pows: dict[tuple[float, int], np.ndarray] = {}
        self.tracks: list[Track] = []
        self._next = 1

    def _decay_weights(self, k: int) -> np.ndarray:
        """decay ** (k-1 .. 0): the weights of k looks, oldest first (made once per length)."""
        w = self._decay_pows.get((self.decay, k))
        if w is None:
            w = self._decay_pows[(self.decay, k)] = self.decay ** np.arange(k - 1, -1, -1)
        return w

    def reset(self) -> None:
        self.tracks = []
        self._next = 1

    def match(self, boxes) -> dict[int, int]:
        """Which track each detection would join (detection index -> index into ``tracks``).

        A recogniser asks before naming its detections, to reuse what a track already
        knows; passing the answer to :meth:`update` keeps the two consistent.
        """
        return self._match(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))

    def _match(self, boxes: np.ndarray) -> dict[int, int]:
        """detection index -> track index, greedy on a combined overlap/distance score."""
        if not self.tracks or len(boxes) == 0:
            return {}
        pred = np.array([t.predicted() for t in self.tracks], dtype=np.float64)
        shift = self._common_shift(boxes, np.array([t.box for t in self.tracks], dtype=np.float64))
        if shift is not None:
            # symbols on one sheet move together: the sheet's motion beats each track's own
            pred = np.array([t.box for t in self.tracks], dtype=np.float64)
            pred[:, :2] += shift
        iou = iou_matrix(boxes, pred)
        dc = boxes[:, None, :2] + boxes[:, None, 2:] / 2 - (pred[None, :, :2] + pred[None, :, 2:] / 2)
        dist = np.hypot(dc[..., 0], dc[..., 1])
        h = np.maximum(boxes[:, None, 3], pred[None, :, 3])
        near = dist / np.maximum(h, 1.0)
        score = np.where(iou >= self.min_iou, 2.0 + iou, np.where(near <= self.max_shift, 1.0 - near, -1.0))
        out: dict[int, int] = {}
        used_t: set[int] = set()
        flat = np.argsort(-score, axis=None)
        limit = min(score.shape)
        for k in flat:
            d, t = divmod(int(k), score.shape[1])
            s = score[d, t]
            if s < 0:
                break
            if d in out or t in used_t:
                continue
            out[d] = t
            used_t.add(t)
            if len(out) == limit:
                break  # every detection (or every track) has its match
        return out

    @staticmethod
    def _common_shift(boxes: np.ndarray, last: np.ndarray) -> np.ndarray | None:
        """The displacement most detections share with some track (a vote over pair offsets).

        A sheet moving 20-40 px a frame moves a digit onto where its neighbour
        was; matching each track on its own then swaps labels between neighbours.
        The offset that most detection-track pairs agree on is the sheet's motion.
        """
        if len(boxes) < 2 or len(last) < 2:
            return None
        dc = (boxes[:, None, :2] + boxes[:, None, 2:] / 2) - (last[None, :, :2] + last[None, :, 2:] / 2)
        h = np.maximum(boxes[:, None, 3], last[None, :, 3])
        near = np.hypot(dc[..., 0], dc[..., 1]) < 3.0 * h
        offs = dc[near]
        # (not np.median: its first call imports numpy.ma, 7 ms on a video's first frames)
        tol = 0.3 * median(h[near]) if near.any() else 0
        if len(offs) < 2:
            return None
        # squared distances against tol**2: no square roots over the (pairs x pairs) matrix
        dx = offs[:, None, 0] - offs[None, :, 0]
        dy = offs[:, None, 1] - offs[None, :, 1]
        close = dx * dx + dy * dy < tol * tol
        votes = close.sum(1)
        best = int(np.argmax(votes - 1e-3 * np.hypot(offs[:, 0], offs[:, 1])))
        if votes[best] < max(2, 0.4 * min(len(boxes), len(last))):
            return None
        return offs[close[best]].mean(0)

    def update(self, boxes, probs, match: dict[int, int] | None = None) -> list[Track]:
        """Feed this frame's detections (boxes N,4 and class probabilities N,C).

        ``match``: from :meth:`match` on these boxes (computed here when None).
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        probs = np.asarray(probs, dtype=np.float64).reshape(len(boxes), -1) if len(boxes) else probs
        match = self._match(boxes) if match is None else match
        seen: set[int] = set()
        result: list[Track] = []
        for d in range(len(boxes)):
            if d in match:
                t = self.tracks[match[d]]
                p = probs[d]
                if t.label >= 0 and int(np.argmax(p)) != t.label and p.max() >= 0.9 and p[t.label] < 0.05:
                    # a new shape (the box changed) is evidence enough at once
                    t.disagree += 2 if (self.swap_iou and iou_matrix(boxes[d:d + 1], t.box[None])[0, 0]
                                        < self.swap_iou) else 1
                else:
                    t.disagree = 0
                if t.disagree >= 2:
                    # twice in a row a different symbol, surely, in the same place (a card
                    # swapped for another): the old votes are about what is gone
                    t.probs.clear()
                    t.disagree = 0
                new_c = boxes[d, :2] + boxes[d, 2:] / 2
                old_c = t.box[:2] + t.box[2:] / 2
                t.velocity = 0.5 * t.velocity + 0.5 * (new_c - old_c)
                t.box = boxes[d].copy()
                t.missed = 0
            else:
                t = Track(self._next, boxes[d].copy())
                self._next += 1
                self.tracks.append(t)
            seen.add(id(t))
            t.hits += 1
            p = probs[d]
            t.probs.append(p)
            while len(t.probs) > self.history:
                t.probs.popleft()
            hist = np.asarray(t.probs)
            # confidence-weighted vote: a sure look counts more than a doubtful one, a recent
            # look more than an old one (a digit coming into view sharpens as it settles)
            w = hist.max(axis=1) * self._decay_weights(len(hist))
            label = int(np.argmax(w @ hist))
            if t.label >= 0 and label != t.label:
                t.label_changes += 1
                t.steady = 0
            else:
                t.steady += 1
            t.label = label
            t.confidence = float(w @ hist[:, t.label] / max(w.sum(), 1e-9))
            result.append(t)
        keep = []
        for t in self.tracks:
            if id(t) not in seen:
                t.missed += 1
                t.box = t.predicted()
            if t.missed <= self.max_missed:
                keep.append(t)
        self.tracks = keep
        return result

