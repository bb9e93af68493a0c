"""Is this frame the scene already analysed, moved at most a little? (analyse keyframes only)

Why: a recogniser that segments and crops every frame of a still or slowly
moving sheet does the same work over and over: at 640x480 with a dozen digits
that is ~5 ms a frame, while reading the frame off the file takes 0.3 ms. Video
recognisers that keep up with their input (trackers in detection pipelines)
analyse a keyframe and carry its results along while the picture has not
changed. :class:`StillGate` is that test, kept cheap (0.1-0.2 ms at 640x480)
so the frames it lets through cost a small fraction of a keyframe:

1. The frame is reduced to a thumbnail about ``thumb_width`` pixels wide
   (repeated 2x pyramid reductions: an average, so sensor noise shrinks too).
2. Its shift against the key's thumbnail is measured by phase correlation
   (``cv2.phaseCorrelate``: whole-picture translation to a fraction of a pixel,
   robust to a change of brightness). A shift beyond ``max_shift`` of the width
   is news by itself: what came in at the picture's edge was never analysed.
3. Both thumbnails are high-passed (the thumbnail minus its local mean, so a
   slow change of light or exposure is no change), the key's is moved by that
   shift, and the pixels that still differ by more than ``pixel_diff`` grey
   levels from every pixel around them in the other picture are counted (a
   thumbnail pixel of slack: a slight turn or tilt is no change until it adds
   up). A symbol written, covered, uncovered or swapped, a hand coming in: each
   leaves a cluster of such pixels, so they are counted per window of about a
   symbol's size, and up to ``max_changed`` in any window is still "the same
   scene" (one stroke of a small digit is already more).

The caller decides what to do with a still frame (carry the key's results
moved by the shift) and when to analyse anyway (a key older than it trusts);
the gate only compares. Nothing here knows about digits.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidrec.crop import SQUARE3


class StillGate:
    """``compare(gray) -> (dx, dy) or None``; ``key()`` makes the last compared frame the key.

    ``(dx, dy)`` is the shift of the current frame against the key in full-frame
    pixels (add it to the key's boxes); None means "changed" (or no key yet).
    """

    def __init__(self, thumb_width: int = 200, pixel_diff: float = 24.0, max_changed: int = 3, window: int = 9,
                 max_shift: float = 0.01, min_response: float = 0.2):
        self.thumb_width = thumb_width
        self.pixel_diff = pixel_diff  # grey levels, in the high-passed thumbnail
        self.max_changed = max_changed  # changed thumbnail pixels in one window that are still noise
        self.window = window  # thumbnail pixels: about a symbol's size (36 px of a 640-px frame)
        self.max_shift = max_shift  # share of the frame's width: beyond it, what came in at the edge is news
        self.min_response = min_response  # phase correlation peak: below it the shift is a guess
        self.reset()

    def reset(self) -> None:
        self._key = None  # (thumbnail, its high-pass, the frame's shape, frame px per thumbnail px) of the key
        self._last = None  # the same for the frame compared last
        self._hann = None
        self._shift = None  # the last still frame's shift against the key (thumbnail pixels)
        self.last_changed = 0  # the most changed pixels in one window, last comparison (for tuning)

    def _thumb(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple, float]:
        t = gray
        scale = 1.0
        while t.shape[1] > self.thumb_width:
            t = cv2.pyrDown(t)
            scale *= 2.0
        # the high-pass in uint8 around 128 (ink and paper edges are well inside +-127, and
        # saturating uint8 arithmetic gives the one-sided differences of _changed for free)
        hp = cv2.addWeighted(t, 1.0, cv2.blur(t, (7, 7)), -1.0, 128.0)
        return t, hp, gray.shape, scale

    def compare(self, gray: np.ndarray) -> tuple[float, float] | None:
        cur = self._thumb(gray)
        self._last = cur
        scale = cur[3]
        key = self._key
        if key is None or key[2] != cur[2] or min(cur[0].shape) < 16:
            self._key = None  # no key, another size (a folder of photos), or too small to compare
            return None
        if self._shift is not None:
            # the last frame's shift, when it still explains this frame (a still sheet moves
            # little from one frame to the next), spares the phase correlation; the boxes
            # carried are then off by at most the comparison's slack, a thumbnail pixel
            # (4 px of a 640-px frame), before the next measurement
            found = self._changed(key[1], cur[1], *self._shift)
            if found <= self.max_changed:
                self.last_changed = found
                return self._shift[0] * scale, self._shift[1] * scale
        h, w = cur[0].shape
        if self._hann is None or self._hann.shape != (h, w):
            self._hann = cv2.createHanningWindow((w, h), cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(np.float32(key[0]), np.float32(cur[0]), self._hann)
        if response < self.min_response or max(abs(dx), abs(dy)) > self.max_shift * w:
            self.last_changed = -1  # no measured shift
            return None
        self.last_changed = self._changed(key[1], cur[1], dx, dy)
        if self.last_changed > self.max_changed:
            return None
        self._shift = (dx, dy)
        return dx * scale, dy * scale

    def _changed(self, key: np.ndarray, c: np.ndarray, dx: float, dy: float) -> int:
        """The most pixels of ``c`` within one window that the key, moved by (dx, dy), does not explain."""
        h, w = c.shape
        moved = cv2.warpAffine(key, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        m = int(np.ceil(max(abs(dx), abs(dy)))) + 3  # the border the shift uncovers: nothing to compare
        # a pixel changed when it lies outside the range of the other picture's pixels
        # around it (both ways: ink that came and ink that went): a misfit of up to a
        # thumbnail pixel (a slight turn or tilt the shift does not model) is no change
        # (uint8 subtraction stops at 0: each term is how far a pixel lies above or below
        # that range)
        k3 = SQUARE3
        diff = cv2.max(cv2.max(cv2.subtract(c, cv2.dilate(moved, k3)), cv2.subtract(cv2.erode(moved, k3), c)),
                       cv2.max(cv2.subtract(moved, cv2.dilate(c, k3)), cv2.subtract(cv2.erode(c, k3), moved)))
        inner = diff[m:h - m, m:w - m]
        if inner.size == 0:  # shifted past a small picture's middle: nothing left to compare
            return self.max_changed + 1
        changed = cv2.threshold(inner, self.pixel_diff, 1, cv2.THRESH_BINARY)[1]
        if not cv2.countNonZero(changed):
            return 0
        # news comes in clusters (a digit is a few thumbnail pixels of stroke in one place):
        # the most changed pixels within any window of about a symbol's size
        return int(cv2.boxFilter(changed, -1, (self.window, self.window), normalize=False,
                                 borderType=cv2.BORDER_CONSTANT).max())

    def key(self) -> None:
        """The frame compared last becomes the key (the caller analysed it in full)."""
        self._key = self._last
        self._shift = None
