"""Find the handwritten symbols in a video frame: one shared, symbol-agnostic segmenter.

Why it is built this way (each point is a failure of the common live recognisers):

- Ink is found as *darker than its own local background* (a grey-level closing
  estimates the paper under the strokes; the black-hat ``closing - gray`` is the
  ink), never by a global Otsu threshold with outer contours. A white sheet held
  inside a darker scene therefore does not become one big region with the digits
  as holes: the dark surroundings are flat relative to themselves, a straight
  sheet edge survives the closing, and only thin dark marks *on* something
  brighter come out.
- The threshold is relative to the local background (``contrast_rel``) as well
  as absolute, so a shadow across the sheet or a dim corner does not change
  which strokes are found.
- Binarisation runs on a frame reduced to ``work_width`` pixels (a few ms for the
  whole frame); the crop handed to the network is cut from the full-resolution
  grey frame with a full-resolution stroke mask.
- The strokes of one symbol are kept together (a 4 or a 5 written in two
  strokes, a stroke broken by glare): components that overlap horizontally and
  are vertically close relative to their height are merged.
- Touching symbols are split where a box is much wider than a symbol can be, at
  the minima of the column projection.
- Shape tests (size, aspect, ink density, stroke width, clean surroundings,
  not cut by the frame border) drop most paper edges, fingers and clothing folds
  before any network sees them; in a colour picture, so does a surface too
  coloured to be paper (skin, a shirt, a painted box: ``max_paper_chroma``).
  What survives carries its measurements in ``Region.extra`` so a recogniser
  can apply its own tests.

Every region's 28x28 crop is made by :func:`vidrec.crop.normalize_crop`, the one
crop normalisation the models were trained with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple

import cv2
import numpy as np

from vidrec.crop import SQUARE3
from vidrec.crop import median as _median
from vidrec.types import Frame, Region


def _option_value(name: str, value, default):
    """An option value (``--option`` values arrive as strings) in the type of its default.

    Booleans read "0/1/true/false/yes/no/on/off" (``bool("False")`` would be True);
    numbers go through :func:`vidrec.recognizer.option_number` for a one-line error.
    """
    from vidrec.recognizer import option_flag, option_number

    if isinstance(default, bool):
        return option_flag(name, value)
    if isinstance(default, (int, float)):
        return option_number(name, value, *_BOUNDS.get(name, (None, None)), kind=type(default))
    return type(default)(value)


_BOUNDS = {"max_paper_chroma": (0.0, 1.0)}  # (lo, hi) of the options that have them


def check_options(recognizer, options: dict) -> None:
    """Options a recogniser hands on to its Segmenter must be the segmenter's.

    An unknown one is a one-line error that lists everything the recogniser takes:
    its own keyword arguments (read from its ``__init__``, so the list cannot drift)
    and the segmenter's.
    """
    import inspect

    from vidrec.errors import VidrecError

    known = SegmenterConfig().as_dict()
    bad = [k for k in options if k not in known]
    if bad:
        own = [n for n, p in inspect.signature(type(recognizer).__init__).parameters.items()
               if n != "self" and p.kind is not p.VAR_KEYWORD]
        raise VidrecError(f"{recognizer.name} has no option {bad[0]!r}; options: {', '.join(own)}, "
                          f"{', '.join(sorted(known))}")


@dataclass
class SegmenterConfig:
    """The segmenter's knobs; lengths are in full-frame pixels unless named ``_frac``."""

    work_width: int = 480  # binarise on a frame reduced to at most this width
    polarity: str = "dark"  # "dark": dark ink on light paper; "light": light strokes on dark
    kernel_frac: float = 0.045  # closing kernel, as a share of the frame's width (> stroke width)
    contrast_abs: float = 20.0  # ink is at least this many grey levels darker than its background
    contrast_rel: float = 0.15  # ... and at least this share of the background's brightness
    hysteresis: float = 0.6  # fainter ink (down to this share of the threshold) is kept where it
    # touches ink above the threshold; 1 turns it off
    min_height: int = 20  # smallest symbol height, px (smaller is not legible at 640x480)
    max_height_frac: float = 0.7  # largest symbol height, share of the frame height
    min_aspect: float = 0.06  # w/h
    max_aspect: float = 1.3  # w/h; wider boxes are split into touching symbols
    max_wide_aspect: float = 2.0  # ... unless the cut-off parts are only a stroke's tail or bar
    # (a 2's long foot, a 5's or 7's long bar): then it is one symbol up to this wide
    max_whole_aspect: float = 1.45  # a cut run with a piece that fails is tried whole up to this
    split_aspect: float = 0.7  # width of one symbol relative to its height, when splitting
    valley_aspect: float = 1.3  # wider than this (and not over max_aspect): split only at a deep
    # ink valley. Off by default (= max_aspect): a 4 or a 7 has a bar as thin as a touch point
    max_density: float = 0.8  # ink / box area (blobs, faces, fingers are dense)
    min_density: float = 0.05
    max_stroke_frac: float = 0.32  # stroke width / height (thick blobs are not handwriting)
    merge_gap: float = 0.35  # merge strokes vertically closer than this share of the height
    merge_overlap: float = 0.45  # ... that overlap horizontally by this share of the narrower
    max_ring_ink: float = 0.16  # ink share in the ring around a symbol (clutter, texture)
    max_dark_ring: float = 0.12  # dark non-ink share around it (fingertips, dark surroundings)
    min_paper: float = 0.55  # the paper under a symbol is at least this share of the brightest
    # background in view (97th percentile): handwriting is on the sheet, not on the room's
    # darker surfaces; 0 turns the test off
    min_paper_level: float = 110.0  # and at least this grey level (a camera exposes for the sheet;
    # a thread on a blue shirt at 80-100 and a stick on a teal box at ~110 were read as 1s) ...
    min_shadow_level: float = 80.0  # ... unless it is the sheet in a shadow (below), down to this
    max_ramp_resid: float = 0.05  # paper round a symbol that a plane fits this closely (RMS share
    # of the paper's level) is one surface under uneven light: its darkness and its dark ring are
    # judged against that ramp (a hand's shadow on the sheet); 0 turns it off
    ramp_grad: float = 0.03  # ... and a shadowed symbol passes min_paper where its paper reaches
    # bright paper through background changing by at most this share per work pixel (no edge)
    min_peak_contrast: float = 0.2  # the darkest ink is at least this share darker than its paper
    min_peak_depth: float = 30.0  # ... and at least this many grey levels: on a dark surface (a
    # shirt) a share is a few levels, and a thread or crease just past contrast_abs is no pen line
    min_edge: float = 0.12  # the sharpest tenth of the ink's edges rises by at least this share
    # of its depth per work pixel (a focused pen line; a weave's knots and shading are soft
    # all round); 0 turns the test off. (0.14 before Dec 7's tenth session: a faint grey 3 on
    # a moving sheet, blurred by motion, fell under it for five frames; no empty clip of 240
    # gains a false digit at 0.1, three do at 0.07)
    max_paper_chroma: float = 0.3  # the paper under a symbol is near grey: its chroma ((max -
    # min) / max of its colour, see :func:`paper_chroma`) is at most this. White paper in the
    # shared photos, some under warm lamps, is 0.14 at most (digits) and 0.19 (Greek); skin, a
    # coloured shirt or box 0.4-0.7 (strokes on them were read as sure 1s and a fold as a 4).
    # 1 turns it off (digits on a yellow sticky note, about 0.5, or under strongly coloured
    # light); a grey picture is not tested
    border: int = 4  # symbols within this many px of the frame border (cut off) are dropped
    max_components: int = 400  # clutter guard: keep the largest this many
    max_regions: int = 64
    max_touching: int = 3  # a wider run of touching marks is text or texture: dropped whole

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Binarised:
    """The reduced-resolution ink mask and what is needed to map back to the frame."""

    mask: np.ndarray | None  # uint8 0/1 at work resolution (see :meth:`ink_mask`; None until asked)
    background: np.ndarray  # closed grey at work resolution (paper under the ink)
    small: np.ndarray  # the (smoothed) grey frame at work resolution
    bright: float  # the brightest background in view (97th percentile), the paper's reference
    scale: float  # frame px per work px
    labels: np.ndarray | None = None  # connected components of the (hysteresis) ink mask
    stats: np.ndarray | None = None  # their cv2 stats, row 0 the background (those of the kept
    # components at least: see :meth:`Segmenter.binarise`; other rows may be 0)
    keep: np.ndarray | None = None  # bool per component: holds ink above the threshold
    sheet: np.ndarray | None = None  # bool per work pixel: smooth paper that reaches bright paper
    # (see :meth:`Segmenter._sheet`; made on first use)

    def ink_mask(self) -> np.ndarray:
        """The ink mask (uint8 0/1) at work resolution, made on first use (a full-frame pass)."""
        if self.mask is None:
            self.mask = self.keep.view(np.uint8)[self.labels]
        return self.mask


# at most this many kept components are measured by flood fills (see ``binarise``); a frame
# with more (clutter, texture) takes OpenCV's statistics pass over the whole frame
_FILL_MAX = 80


class _FrameContext(NamedTuple):
    """What :meth:`Segmenter._piece` reads of the frame being segmented."""

    b: Binarised
    gray: np.ndarray
    labels: np.ndarray  # component labels at work resolution
    inked_lut: np.ndarray  # bool per label: a component that counts as ink
    group_boxes: list  # (x0, y0, x1, y1) of every group, work pixels: a symbol's neighbours
    fbox: Callable  # a work-pixel box as a full-frame box
    ids: np.ndarray  # the label of each kept component


class Segmenter:
    """``segment(frame) -> list[Region]`` with the crop made; see the module docstring.

    After each call ``rejected`` holds the boxes of symbol-sized marks that failed
    a shape test (too wide, too dense, in clutter, a run of touching letters). A
    recogniser uses them as context: a "digit" whose neighbours in the same
    word are such marks is most likely a letter of printed text.
    """

    def __init__(self, config: SegmenterConfig | None = None, make_crops: bool = True, **overrides):
        cfg = config or SegmenterConfig()
        for k, v in overrides.items():
            if not hasattr(cfg, k):
                from vidrec.errors import VidrecError

                raise VidrecError(f"unknown segmenter option {k!r}; known: {', '.join(cfg.as_dict())}")
            setattr(cfg, k, _option_value(k, v, getattr(cfg, k)))
        self.cfg = cfg
        self.make_crops = make_crops
        self._kernels: dict[int, np.ndarray] = {}
        self.rejected: list[tuple[int, int, int, int]] = []
        self._last = None
        self._luts = None

    def _kernel(self, k: int, rect_only: bool = True) -> np.ndarray:
        kern = self._kernels.get(k)
        if kern is None:
            kern = self._kernels[k] = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
        return kern

    # -- binarisation -------------------------------------------------------------
    def _threshold_luts(self) -> tuple[np.ndarray, np.ndarray]:
        """Sure-ink and faint-ink thresholds (uint8) for every paper level 0-255."""
        cfg = self.cfg
        key = (cfg.contrast_abs, cfg.contrast_rel, cfg.hysteresis)
        if self._luts is None or self._luts[0] != key:
            level = np.arange(256, dtype=np.uint8).reshape(1, 256)
            rel = cv2.multiply(level, np.array([cfg.contrast_rel], dtype=np.float64), dtype=cv2.CV_8U)
            thr = cv2.max(rel, float(int(cfg.contrast_abs)))
            weak = cv2.multiply(thr, np.array([cfg.hysteresis], dtype=np.float64), dtype=cv2.CV_8U)
            self._luts = (key, thr, weak)
        return self._luts[1], self._luts[2]

    def binarise(self, gray: np.ndarray) -> Binarised:
        cfg = self.cfg
        h, w = gray.shape[:2]
        scale = max(1.0, w / float(cfg.work_width))
        src = 255 - gray if cfg.polarity == "light" else gray
        if scale > 1.0:
            # Below 1.5x every source pixel still weighs in a bilinear sample (a 1-px line
            # keeps over half its contrast, and the blur below evens it out), at a sixth of
            # INTER_AREA's cost for a non-integer ratio; beyond that only averaging keeps
            # thin lines.
            interp = cv2.INTER_LINEAR if scale < 1.5 else cv2.INTER_AREA
            small = cv2.resize(src, (round(w / scale), round(h / scale)), interpolation=interp)
        else:
            small = src
        kern = self._kernel(max(3, int(round(cfg.kernel_frac * w / scale)) | 1))
        # Light smoothing first: sensor noise and JPEG ringing would otherwise speckle the mask.
        small = cv2.GaussianBlur(small, (3, 3), 0)
        background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kern)
        ink = cv2.subtract(background, small)  # black-hat: how much darker than the paper
        # threshold = max(abs, rel * background): a function of the paper's level alone,
        # so one table lookup per pixel (the tables come from the same uint8 arithmetic)
        thr_lut, weak_lut = self._threshold_luts()
        thr = cv2.LUT(background, thr_lut)
        strong = cv2.compare(ink, thr, cv2.CMP_GT)
        # Hysteresis: a pen stroke is not equally dark along its length (a light bar on a 7,
        # the thin end of a stroke, motion blur across a horizontal line); the faint parts
        # that touch a surely-ink part belong to it, isolated faint marks (paper texture,
        # shading) do not. A faint pixel must also hold half its neighbourhood's peak ink, so
        # the blurred flanks of a dark stroke do not fatten it (nor join it to a neighbour).
        weak = cv2.compare(ink, cv2.LUT(background, weak_lut), cv2.CMP_GT)
        half_peak = cv2.dilate(ink, self._kernel(5)) >> 1
        weak = cv2.bitwise_and(weak, cv2.bitwise_or(cv2.compare(ink, half_peak, cv2.CMP_GE), strong))
        n, labels = cv2.connectedComponents(weak, connectivity=8, ltype=cv2.CV_16U)
        # the components that hold sure ink, and one sure pixel of each (label 0 is no component)
        sure = np.flatnonzero(cv2.bitwise_and(strong, 1).view(bool))
        sure_lab = labels.ravel()[sure]
        keep = np.zeros(n, bool)
        keep[sure_lab] = True
        keep[0] = False
        kept = np.flatnonzero(keep)
        if len(kept) <= _FILL_MAX:
            # Statistics for the kept components only (the rest are never looked at): OpenCV's
            # statistics pass visits every work pixel and costs three times the labelling, while
            # a flood fill of one component from one of its pixels returns its exact bounding box
            # and pixel count (the same 8-connected, equal-value pixels the labelling joined).
            # The fills mark a mask only (``weak`` stays as it is); components are never
            # 8-adjacent, so one fill's marks never stop another. Other components' rows stay 0.
            stats = np.zeros((n, 5), np.int32)
            seed = np.zeros(n, np.intp)
            seed[sure_lab] = sure  # (any one of its sure pixels)
            filled = np.zeros((weak.shape[0] + 2, weak.shape[1] + 2), np.uint8)
            ws = weak.shape[1]
            flags = 8 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
            for k, p in zip(kept.tolist(), seed[kept].tolist()):
                area, _, _, rect = cv2.floodFill(weak, filled, (p % ws, p // ws), 0, flags=flags)
                stats[k] = (*rect, area)
        else:  # clutter: one statistics pass over the frame is cheaper than this many fills
            # (the same labelling algorithm: the same labels)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8, ltype=cv2.CV_16U)
        bright = _percentile_u8(np.ascontiguousarray(background[::4, ::4]), 0.97)
        return Binarised(mask=None, background=background, small=small, bright=bright, scale=scale,
                         labels=labels, stats=stats, keep=keep)

    # -- grouping -----------------------------------------------------------------
    def _groups(self, stats: np.ndarray, labels: np.ndarray | None = None,
                ids: np.ndarray | None = None, min_h: float = 0.0) -> list[list[int]]:
        """Union of components that belong to one symbol (overlap in x, close in y)."""
        n = len(stats)
        if n == 0:
            return []
        x0 = stats[:, 0].astype(np.float32)
        y0 = stats[:, 1].astype(np.float32)
        x1 = x0 + stats[:, 2]
        y1 = y0 + stats[:, 3]
        hh = stats[:, 3].astype(np.float32)
        ww = stats[:, 2].astype(np.float32)
        ox = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
        gy = np.maximum(y0[:, None], y0[None, :]) - np.minimum(y1[:, None], y1[None, :])
        gx = -ox
        hmax = np.maximum(hh[:, None], hh[None, :])
        hmin = np.minimum(hh[:, None], hh[None, :])
        wmin = np.minimum(ww[:, None], ww[None, :])
        # strokes stacked or crossing: overlap horizontally, vertically close
        # ... but two tall marks one above the other with clear paper between them are two
        # rows of writing (lines written close), not one symbol: a 5's bar, a dot or a
        # broken-off stroke end is short, and an 8's two loops touch
        # (pen strokes, not solid blobs: the dark knots of a weave stacked in columns still
        # group, and the tall result is turned down as before; a filled ellipse is 0.79 of
        # its box. A narrow upright bar fills its box too, and is a pen stroke: a 1 above a
        # digit of the next row was glued to it, held-out real seed 7's moving sheet)
        stroke_like = (stats[:, 4] < 0.65 * ww * hh) | (ww <= 0.35 * hh)
        tall_pair = (hmin >= 0.6 * hmax) & stroke_like[:, None] & stroke_like[None, :]
        # a symbol-sized mark stacked with a far bigger one (big[a, c]: a is) made of thin lines
        # (a sheet's edges, a cable) is measured by its own height, as strokes of one symbol
        # are: a 46-px gap is no stroke's, however tall the lines across it (new real-digit
        # layouts: a number 46 work px above the sheet's edge lines, 185 px tall, was glued to
        # them for 14 frames). (A solid mark, a weave's knot, still takes in a sliver near it.)
        big = ((hh[:, None] > 1.3 * hh[None, :]) & (stats[:, 4][:, None] > 2 * stats[:, 4][None, :])
               & (hh[None, :] >= min_h))
        thin_big = big & (stats[:, 4] < 0.15 * ww * hh)[:, None]
        gap_ok = gy <= np.where(tall_pair, 0.12, self.cfg.merge_gap) * np.where(thin_big | thin_big.T, hmin, hmax)
        oy = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
        # ... and two strokes of one height (within a fifth), side by side over half of it, whose
        # boxes overlap in x by less than most of the narrower are neighbours on a turned line,
        # not strokes stacked or crossing (on a sheet turned 20 degrees the slanted 1 of "13"
        # reached 5 of its 8 px into the box of the 3, lower on the line, and the two were one
        # mark; a 9's loop beside its stem is shorter: held-out real seed 47's faint 9 was one)
        beside_turned = tall_pair & (hmin >= 0.8 * hmax) & (oy >= 0.5 * hmin) & (ox < 0.8 * wmin)
        stacked = (ox >= self.cfg.merge_overlap * wmin) & gap_ok & ~beside_turned
        # a small fragment touching/inside a bigger stroke's box (a broken stroke, a dot):
        # at most half as tall, the same bound under which a piece cut off a wide group is
        # no symbol of its own (a faint loop of an 8 that broke off is just half its height)
        small = hmin <= 0.5 * hmax
        frag = small & (gx <= 0.08 * hmax) & (gy <= 0.08 * hmax)
        # a narrow upright stroke just beside another (a 4 whose bar stops short of it)
        narrow = wmin <= 0.35 * hmax
        mw = np.maximum(x1[:, None], x1[None, :]) - np.minimum(x0[:, None], x0[None, :])
        mh = np.maximum(y1[:, None], y1[None, :]) - np.minimum(y0[:, None], y0[None, :])
        beside = narrow & (gx <= 0.06 * hmax) & (gx > -0.2 * wmin) & (oy >= 0.5 * hmin) & (mw <= 0.9 * mh)
        # ... but a symbol beside a 1 is not the rest of a 4: the rest of a 4 is no upright stroke
        # of about its height itself (the other 1 of "11") and encloses no loop (the 0 of "01",
        # the 8 of "18"), nor a blob of its height (a marker 8 whose loops the binarisation
        # closed: "81" on a fresh real-digit layout read as one "0" and was dropped, 14 frames).
        # Over the held-out and README clips this rule had joined two digits 28 times, and two
        # strokes of one digit once. (A dot beside a stroke still joins it: a nose and its
        # nostrils are one mark, turned down as such.)
        for a, c in zip(*np.nonzero(np.triu(beside, 1))):
            o = a if ww[a] >= ww[c] else c  # the wider mark
            level = hmin[a, c] >= 0.6 * hmax[a, c]
            if ((ww[o] <= 0.35 * hmax[a, c] and level)
                    or (labels is not None and (_encloses_paper(labels, stats[o], ids[o])
                                                or (level and _solid(labels, stats[o], ids[o]))))):
                beside[a, c] = beside[c, a] = False
        # never merge into something that encloses it and is far taller: a frame, a box
        # drawn round the digits, the edge of the sheet or of the view
        inside = ((x0[:, None] >= x0[None, :]) & (x1[:, None] <= x1[None, :]) & (y0[:, None] >= y0[None, :])
                  & (y1[:, None] <= y1[None, :]) & (hh[None, :] > 2.0 * hh[:, None]))
        # a long sparse line (a sheet's edge, a ruled line, a cable seen at a slant) is no
        # stroke of a symbol: it would glue every digit along it into one group
        line = (ww >= 2.0 * hh) & (stats[:, 4] < 0.15 * ww * hh)
        if labels is not None:
            # a fragment lying inside a bigger mark's box must also come near its strokes: a
            # digit near the sheet's corner sits inside the box of the dark wedge of the room
            # there (which the closing turns into "ink") without touching it.
            # The same for a symbol-sized stroke stacked with a far bigger mark, their boxes
            # overlapping: it must come as close to it as strokes of one symbol do (``merge_gap``
            # of its height); a digit near the sheet's corner overlapped the box of the room's
            # wedge there, a symbol's height from it (held-out real seed 47: its moving sheet's 3
            # was missing in 10 frames)
            # (only a symbol-sized mark beside one far bigger, ``big``: strokes stacked in a weave
            # or clutter are many, and are turned down together anyway)
            # (a fragment within a share of the bigger mark's height; a symbol-sized stroke
            # within a share of its own, as strokes of one symbol are)
            for rule, only, share, of_bigger in ((frag, ~stacked & ~beside, 0.08, True),
                                                 (stacked, big | big.T, self.cfg.merge_gap, False)):
                for a, c in zip(*np.nonzero(np.triu(rule & only & (gx < 0) & (gy < 0), 1))):
                    lo, hi = (a, c) if hh[a] <= hh[c] else (c, a)
                    d = max(1, int(np.ceil(share * hh[hi if of_bigger else lo])))
                    qx0, qy0 = max(0, int(x0[lo]) - d), max(0, int(y0[lo]) - d)
                    qx1, qy1 = int(x1[lo]) + d, int(y1[lo]) + d
                    win = labels[qy0:qy1, qx0:qx1]
                    near = cv2.dilate((win == ids[lo]).view(np.uint8), self._kernel(2 * d + 1))
                    if not np.any(near.view(bool) & (win == ids[hi])):
                        rule[a, c] = rule[c, a] = False
        adj = (stacked | frag | beside) & ~inside & ~inside.T & ~line[:, None] & ~line[None, :]
        np.fill_diagonal(adj, False)
        parent = list(range(n))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for a, b in zip(*np.nonzero(np.triu(adj))):
            ra, rb = find(int(a)), find(int(b))
            if ra != rb:
                parent[rb] = ra
        groups: dict[int, list[int]] = {}
        for i in range(n):
            groups.setdefault(find(i), []).append(i)
        out = list(groups.values())
        # A merge that made something far too wide joined two symbols: undo it.
        fixed = []
        boxes = stats[:, :4].tolist()  # (exact integers: plain Python is faster on a few)
        for g in out:
            if len(g) > 1:
                gx0, gx1 = min(boxes[i][0] for i in g), max(boxes[i][0] + boxes[i][2] for i in g)
                gy0, gy1 = min(boxes[i][1] for i in g), max(boxes[i][1] + boxes[i][3] for i in g)
                if (gx1 - gx0) > self.cfg.max_aspect * 1.6 * (gy1 - gy0):
                    fixed.extend([i] for i in g)
                    continue
            fixed.append(g)
        return fixed

    @staticmethod
    def _same_pen(g: list[int], stats: np.ndarray, ids: np.ndarray, labels: np.ndarray,
                  b: "Binarised") -> list[int]:
        """Drop strokes of a group that are far fainter than its darkest one.

        One pen leaves one darkness: a shadow or shading (a nose beside nostrils,
        a fold beside a button) grouped with a dark mark is not part of a symbol.
        """
        peaks = []
        for i in g:
            x, y, w, h = stats[i, :4].tolist()
            paper = cv2.mean(b.background[y:y + h, x:x + w])[0]
            own = labels[y:y + h, x:x + w] == ids[i]
            # the stroke's typical darkness (its median), not its darkest pixel, which
            # a shadow can borrow from the dark mark it runs into
            peaks.append((paper - float(_median(b.small[y:y + h, x:x + w][own]))) / max(1.0, paper))
        top = max(peaks)
        return [i for i, pk in zip(g, peaks) if pk >= 0.65 * top]

    def _valley_split(self, sub: np.ndarray) -> list[tuple[int, int]]:
        """A box wide for one symbol but not for two: cut only at a deep, central valley.

        Two digits that touch at a point leave a column with almost no ink between
        them; a wide single digit (a sprawling 2 or 7) has none, and stays whole.
        """
        h, w = sub.shape
        proj = sub.sum(axis=0).astype(np.float32)
        lo, hi = int(0.3 * w), int(0.7 * w)
        if hi - lo < 2:
            return [(0, w)]
        c = lo + int(np.argmin(proj[lo:hi]))
        side = min(proj[:c].max(), proj[c + 1:].max()) if 0 < c < w - 1 else 0
        if proj[c] > 0.3 * side or proj[c] > 0.13 * h:
            return [(0, w)]
        return [(0, c), (c, w)]

    @staticmethod
    def _rejoin_short(sub: np.ndarray, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Give a cut-off piece too short to be a symbol back to the piece its ink runs into.

        A 2 with a long foot, a 5 or a 7 with a long bar is one stroke wider than a
        symbol usually is; cutting it at a projection minimum leaves the digit's body
        and a flat tail no symbol is shaped like, and the whole run was then dropped.
        A piece under half the group's height that shares ink with a neighbour across
        the cut is that neighbour's stroke. A short piece that touches nothing (a dash
        beside a digit) stays a piece, and fails the shape tests as before.
        """
        gh = sub.shape[0]
        out = list(pieces)
        while len(out) > 1:
            hs = []
            for a, b in out:
                hs.append(cv2.boundingRect(sub[:, a:b])[3])  # its ink's height (0 for none)
            short = [k for k in range(len(out)) if hs[k] < 0.5 * gh]
            joined = False
            for k in sorted(short, key=lambda k: hs[k]):
                a, b = out[k]
                # ink meeting across each cut (8-connected: a row apart counts)
                left = int(np.count_nonzero(cv2.dilate(sub[:, a - 1:a], np.ones((3, 1), np.uint8)) & sub[:, a:a + 1])) if k > 0 else 0
                right = int(np.count_nonzero(cv2.dilate(sub[:, b:b + 1], np.ones((3, 1), np.uint8)) & sub[:, b - 1:b])) if k < len(out) - 1 else 0
                if left == 0 and right == 0:
                    continue
                if left >= right:
                    out[k - 1:k + 1] = [(out[k - 1][0], b)]
                else:
                    out[k:k + 2] = [(a, out[k + 1][1])]
                joined = True
                break
            if not joined:
                break
        return out

    @staticmethod
    def _sprawling(sub: np.ndarray, pieces: list[tuple[int, int]]) -> bool:
        """Whether two pieces cut from a wide mark are one symbol drawn wide and slanted: neither
        spans three quarters of the mark's height (a sprawling 4 whose bar runs far left of its
        stem, cut into its diagonal-and-bar and its stem, was read "41"). Two symbols of a line
        stand side by side, each about the line's height."""
        gh = sub.shape[0]
        return all(cv2.boundingRect(sub[:, a:b])[3] < 0.75 * gh for a, b in pieces)

    def _valleys(self, sub: np.ndarray, centred_loop: bool = False) -> tuple[np.ndarray, list[int]] | None:
        """The mask's column projection and its valleys deepest first (local minima at most
        half the median inked column, a third of the height from either end), or None for a
        loop across most of the width (one symbol: see below); with ``centred_loop``, only a
        loop centred in the width counts so (see :meth:`cut_in_two`)."""
        h, w = sub.shape
        proj = cv2.reduce(sub, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F).ravel()  # (exact counts)
        sm = np.convolve(proj, np.ones(3, np.float32) / 3, mode="same")
        inner = sm[1:-1]
        is_min = (inner <= sm[:-2]) & (inner <= sm[2:])
        inked = proj[proj > 0]
        level = 0.5 * float(_median(inked)) if inked.size else 0
        cand = [i + 1 for i in np.flatnonzero(is_min & (inner <= level))]
        # a loop across most of the width is one symbol: a flat 0, whose two thin strokes in
        # the middle look like the touch point of two symbols in the column projection.
        # Symbols that touch (two 0s, an S and an O) each have a narrower hole, if any
        if _hole_columns(sub) >= 0.5 * w and any(
                b - a >= 0.5 * w and (not centred_loop or 0.42 * w <= (a + b) / 2 <= 0.58 * w)
                for a, b in self._holes(sub)):
            return None
        gap = max(2, int(0.3 * h))
        sm_at = sm.tolist()
        return proj, [c for c in sorted(cand, key=sm_at.__getitem__) if gap <= c <= w - gap]

    def _even_cuts(self, proj: np.ndarray, h: int, n: int | None = None) -> list[int]:
        """Cuts dividing the width evenly (into ``n`` or symbol-wide parts), each moved to the
        lowest column near it."""
        w = len(proj)
        n = n or max(2, int(round(w / (self.cfg.split_aspect * h))))
        step = w / n
        cuts = []
        for i in range(1, n):
            c = int(i * step)
            lo, hi = max(1, int(c - 0.35 * step)), min(w - 1, int(c + 0.35 * step))
            if hi > lo:
                cuts.append(lo + int(np.argmin(proj[lo:hi])))
        return cuts

    def _split(self, sub: np.ndarray) -> list[tuple[int, int]]:
        """Column ranges of the symbols in a too-wide mask, cut at projection minima.

        Cuts go at the deepest valleys of the column projection (where touching
        symbols meet only by a stroke end), at least a third of the height apart;
        without clear valleys the width is divided evenly, each cut moved to the
        lowest column near it.
        """
        h, w = sub.shape
        found = self._valleys(sub)
        if found is None:
            return [(0, w)]
        proj, cand = found
        gap = max(2, int(0.3 * h))
        cuts: list[int] = []
        for c in cand:
            if any(abs(c - k) < gap for k in cuts):
                continue
            cuts.append(c)
        if not cuts:
            cuts = self._even_cuts(proj, h)
        bounds = [0] + sorted(cuts) + [w]
        return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= 2]

    def cut_in_two(self, region: Region, min_height: float = 0.7) -> tuple[Region, Region] | None:
        """The two symbols ``region`` would be if it were two touching ones, or None.

        A region of the last frame segmented with ``make_crops=False``, passed whole:
        two digits written touching, with a 1 or a narrow 7 among them, are often no
        wider than ``max_aspect`` and are never cut by :meth:`segment` (a "41" 0.96
        heights wide), and a wide single digit is as wide (a 0 at 1.17), so the shape
        alone cannot tell them apart; a recogniser can, by reading both. The cut is at
        the deepest valley of the column projection (as :meth:`_split` cuts; a loop across
        the width stays whole) that leaves two pieces each spanning ``min_height`` of the
        mark's height (two digits side by side each stand about the line's height; a 7's
        bar or a 4's flag cut off does not), else near the middle: the deepest valley alone
        moved with codec noise between two of a "41" (one inside its 4), and the cut came
        and went from frame to frame. A loop as wide as half the mark makes it one symbol
        only where it is centred: a wide 0's hole is centred at 0.46-0.50 of its width,
        the 0 of a touching "50" or "05" at 0.38-0.41 or 0.61-0.62 of the pair's (seeds
        3101-3108, one frame in 3). The pieces keep the whole's measurements of its paper
        and surroundings, with ``split`` set and the whole's ``group``.
        """
        mask, work = region.extra.get("_mask"), region.extra.get("_work")
        if mask is None or work is None:
            return None
        h, w = mask.shape
        found = self._valleys(mask, centred_loop=True)
        if found is None:
            return None
        proj, cand = found
        for c in cand + self._even_cuts(proj, h, 2):
            pieces = self._rejoin_short(mask, [(0, c), (c, w)])
            if len(pieces) != 2 or self._sprawling(mask, pieces):
                continue
            boxes = [cv2.boundingRect(mask[:, a:b]) for a, b in pieces]
            if all(ph >= min_height * h and pw >= self.cfg.min_aspect * ph for _, _, pw, ph in boxes):
                return self._pieces_of(region, mask, pieces, boxes)
        return None

    def _pieces_of(self, region: Region, mask: np.ndarray, pieces, boxes) -> tuple[Region, Region]:
        """The regions of ``pieces`` (column ranges of ``region``'s mask; ``boxes``: each one's
        ink box within its range, work px)."""
        s = self._last[1].scale
        bx0, by0 = region.extra["_work"][:2]
        out = []
        for (a, _), (px, py, pw, ph) in zip(pieces, boxes):
            wx, wy = bx0 + a + px, by0 + py
            extra = {k: v for k, v in region.extra.items() if not k.startswith("_")}
            extra.update(split=True, aspect=round(pw / ph, 3),
                         _mask=mask[py:py + ph, a + px:a + px + pw], _work=(wx, wy, pw, ph))
            out.append(Region(box=_frame_box(s, wx, wy, pw, ph), extra=extra))
        return out[0], out[1]

    @staticmethod
    def _holes(sub: np.ndarray) -> list[tuple[int, int]]:
        """Column spans of the mask's holes (background it encloses) at least a quarter of its height wide."""
        h = sub.shape[0]
        return [(int(x) - 1, int(x) - 1 + int(bw)) for x, _, bw, _, _ in _enclosed_paper(sub) if bw >= 0.25 * h]

    # -- main entry ---------------------------------------------------------------
    def segment(self, frame: Frame | np.ndarray, binarised: Binarised | None = None) -> list[Region]:
        """Regions that may each hold one symbol, in no particular order."""
        gray = _gray_of(frame)
        cfg = self.cfg
        H, W = gray.shape[:2]
        if H < cfg.min_height or W < 2:
            # no symbol fits in a frame this small (and OpenCV takes a 1x1 picture for a scalar)
            self.rejected = []
            return []
        b = binarised or self.binarise(gray)
        s = b.scale
        if b.labels is None:
            n, labels, stats, _ = cv2.connectedComponentsWithStats(b.mask, connectivity=8, ltype=cv2.CV_16U)
            inked = np.ones(n - 1, bool)
        else:
            labels, stats = b.labels, b.stats
            n = len(stats)
            inked = b.keep[1:]
        stats = stats[1:]
        ids = np.arange(1, n)
        min_h_work = cfg.min_height / s
        # Tiny specks cannot be a symbol nor a useful part of one: drop them before grouping.
        keep = inked & (stats[:, 4] >= max(3, 0.02 * min_h_work * min_h_work)) & (stats[:, 3] >= 0.2 * min_h_work)
        stats, ids = stats[keep], ids[keep]
        if len(ids) > cfg.max_components:
            order = np.argsort(-stats[:, 4])[: cfg.max_components]
            stats, ids = stats[order], ids[order]
        regions: list[Region] = []
        rejected: list[tuple[int, int, int, int]] = []
        self.rejected = rejected  # symbol-sized things that failed a shape test (see docstring)

        def fbox(x, y, w, h):
            return _frame_box(s, x, y, w, h)

        inked_lut = np.zeros(n, bool)
        inked_lut[1:] = inked
        groups = self._groups(stats, labels, ids, min_h_work)
        # each group's box (work px): the neighbours a symbol may have in its ring
        # (x0, y0, x1, y1) of each component, then of each group; plain Python: most groups
        # are one component, and numpy's per-call overhead outweighs the work
        cb = [(x, y, x + w, y + h) for x, y, w, h in stats[:, :4].tolist()]
        gb_list = [cb[g[0]] if len(g) == 1 else (min(cb[i][0] for i in g), min(cb[i][1] for i in g),
                                                  max(cb[i][2] for i in g), max(cb[i][3] for i in g))
                   for g in groups]
        fc = _FrameContext(b, gray, labels, inked_lut, gb_list, fbox, ids)
        for gi, g in enumerate(groups):
            if len(g) > 1:
                g = self._same_pen(g, stats, ids, labels, b)
            if len(g) > 1:
                st = stats[g]
                x0, y0 = int(st[:, 0].min()), int(st[:, 1].min())
                x1 = int((st[:, 0] + st[:, 2]).max())
                y1 = int((st[:, 1] + st[:, 3]).max())
            else:  # most groups are one stroke: its own box, without array reductions
                x0, y0, x1, y1 = cb[g[0]]
            gh = y1 - y0
            if gh * s < cfg.min_height or gh * s > cfg.max_height_frac * H:
                if 0.6 * cfg.min_height <= gh * s < cfg.min_height and (x1 - x0) <= 3 * gh:
                    rejected.append(fbox(x0, y0, x1 - x0, gh))  # small letters are context too
                continue
            if len(g) > 1 and st[:, 3].max() < 0.5 * gh:
                continue  # only dots and dashes (nostrils, a weave), no stroke spans the symbol
            lab_box = labels[y0:y1, x0:x1]
            sub = lab_box == ids[g[0]]
            for i in g[1:]:  # (a few ids: np.isin's sort costs more than these passes)
                sub |= lab_box == ids[i]
            sub = sub.view(np.uint8)
            pieces = [(0, x1 - x0)]
            wide = False  # one symbol wider than max_aspect (see :meth:`_rejoin_short`)
            if (x1 - x0) > cfg.max_aspect * gh:
                pieces = self._rejoin_short(sub, self._split(sub))
                if len(pieces) == 2 and self._sprawling(sub, pieces):
                    pieces = [(0, x1 - x0)]
                wide = len(pieces) == 1 and (x1 - x0) <= cfg.max_wide_aspect * gh
            elif (x1 - x0) > cfg.valley_aspect * gh:
                pieces = self._valley_split(sub)
            if len(pieces) > cfg.max_touching:
                # a long run of touching marks is printed text or texture, not digits
                rejected.append(fbox(x0, y0, x1 - x0, gh))
                continue
            # A run wider than max_aspect is cut into symbols; when a piece fails a shape test,
            # the run is tried whole, as one wide symbol, up to max_whole_aspect: a 5 or a flat
            # 7 written wide (1.34 heights), cut in two on a moving sheet, left two turned-down
            # pieces beside its number, and the word test took the number, and its line, for
            # print. Two touching digits are wider than that and stay turned down.
            attempts = [(pieces, wide)]
            if len(pieces) > 1 and (x1 - x0) <= cfg.max_whole_aspect * gh:
                attempts.append(([(0, x1 - x0)], True))
            outcome = None
            for pieces, wide in attempts:
                found: list[Region] = []
                turned: list[tuple[int, int, int, int]] = []
                bad_piece = False
                for a, bcol in pieces:
                    region, turned_box, bad = self._piece(fc, gi, g, sub, x0, y0, a, bcol, wide, len(pieces) > 1)
                    if turned_box is not None:
                        turned.append(turned_box)
                    bad_piece = bad_piece or bad
                    if region is not None:
                        found.append(region)
                if outcome is None or found:
                    outcome = (pieces, found, turned, bad_piece)  # (the whole, only when it passes)
                if not (len(pieces) > 1 and bad_piece):
                    break
            pieces, found, turned, bad_piece = outcome
            rejected.extend(turned)
            if len(pieces) > 1 and bad_piece:
                # a touching run is split only when every piece looks like a symbol; one
                # that does not (a letter, a smudge) makes the rest doubtful too
                rejected.extend(r.box for r in found)
            else:
                regions.extend(found)
            if len(regions) >= cfg.max_regions:
                break
        colour = frame.image if isinstance(frame, Frame) else np.asarray(frame)
        if regions and cfg.max_paper_chroma < 1.0 and colour.ndim == 3 and colour.shape[2] >= 3:
            on_paper = []
            for r in regions:
                # (the paper's grey level under it, as the shape tests measured it)
                if paper_chroma(colour, r.box, gray, r.extra.get("paper")) > cfg.max_paper_chroma:
                    rejected.append(r.box)  # written on no paper: a mark on skin, a shirt, a box
                else:
                    on_paper.append(r)
            regions = on_paper
        if self.make_crops:
            for r in regions:
                r.crop = self.crop(gray, r, b)
            for r in regions:
                r.extra.pop("_mask", None)
                r.extra.pop("_work", None)
        else:
            # crops on demand (:meth:`crop_of`): a recogniser that still knows a symbol
            # from the last frames need not pay for its crop again
            self._last = (gray, b)
        return regions

    def _piece(self, fc: _FrameContext, gi: int, g: list[int], sub: np.ndarray, x0: int, y0: int,
               a: int, bcol: int, wide: bool, split: bool) -> tuple[Region | None, tuple | None, bool]:
        """The shape tests of one piece of group ``gi`` (columns ``a:bcol`` of its mask ``sub``,
        whose box starts at work pixel ``(x0, y0)``; ``split``: cut from a touching run;
        ``wide``: it may be as wide as ``max_wide_aspect``).

        Returns ``(region, turned, bad)``. ``region``: the piece passed every test.
        ``turned``: the full-frame box of a symbol-sized piece that failed a shape test
        (context for the printed-text and number tests, see :attr:`rejected`). ``bad``:
        the piece does not look like a symbol (too small, too wide or thin, too dense or
        sparse, too thick a stroke, ink in its ring), which makes the touching run it was
        cut from doubtful; a piece that only fails where it lies (at the frame's border,
        off the paper, too faint, soft, in a dark ring) is dropped without that.
        """
        cfg = self.cfg
        b, gray, labels, inked_lut, gb_list, fbox, ids = fc
        s = b.scale
        H, W = gray.shape[:2]
        piece = sub[:, a:bcol]
        if (a, bcol) == (0, sub.shape[1]):
            # unsplit: the group's box is its components' boxes, tight by construction
            py0, py1, px0, px1 = 0, piece.shape[0], 0, piece.shape[1]
        else:
            px0, py0, pw, ph = cv2.boundingRect(piece)
            if pw == 0:
                return None, None, False
            py1, px1 = py0 + ph, px0 + pw
            piece = piece[py0:py1, px0:px1]
        bx0, by0 = x0 + a + px0, y0 + py0
        bw, bh = px1 - px0, py1 - py0
        if bh * s < cfg.min_height:
            # (one nearly tall enough is a small letter cut from a word: context)
            return None, (fbox(bx0, by0, bw, bh) if bh * s >= 0.6 * cfg.min_height else None), True
        aspect = bw / bh
        if aspect < cfg.min_aspect or aspect > (cfg.max_wide_aspect if wide else cfg.max_aspect):
            return None, fbox(bx0, by0, bw, bh), True
        area = cv2.countNonZero(piece)  # (a 0/1 mask: its sum)
        density = area / float(bw * bh)
        if aspect > 0.35 and not (cfg.min_density <= density <= cfg.max_density):
            return None, fbox(bx0, by0, bw, bh), True
        # stroke width ~ area / length; length ~ half the perimeter of thin strokes
        # boundary length: changes along rows and columns, the picture's edge counting
        # (on the piece framed by one empty pixel, the picture's edge counts by itself)
        # (flattened, the frame's empty columns end every row: a row's last pixel and the
        # next row's first never differ, and neighbours along columns are a row apart)
        fr = cv2.copyMakeBorder(piece, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0).ravel()
        fw_ = bw + 2
        edges = int(np.count_nonzero(fr[1:] != fr[:-1])) + int(np.count_nonzero(fr[fw_:] != fr[:-fw_]))
        stroke = 2.0 * area / max(1, edges)
        if stroke / bh > cfg.max_stroke_frac:
            return None, fbox(bx0, by0, bw, bh), True
        fx, fy = bx0 * s, by0 * s
        fw, fh = bw * s, bh * s
        if (fx <= cfg.border or fy <= cfg.border or fx + fw >= W - cfg.border
                or fy + fh >= H - cfg.border):
            return None, None, False
        # clean surroundings: ink in a ring around the symbol that is not its own
        m = max(2, int(0.3 * bh))
        rx0, ry0 = max(0, bx0 - m), max(0, by0 - m)
        rx1, ry1 = min(labels.shape[1], bx0 + bw + m), min(labels.shape[0], by0 + bh + m)
        # the ink mask of this window only (a full-frame mask would cost a frame pass)
        win = inked_lut[labels[ry0:ry1, rx0:rx1]]

        def box_ink(ax0, ay0, ax1, ay1) -> int:
            if ax1 <= ax0 or ay1 <= ay0:
                return 0
            return int(np.count_nonzero(win[ay0 - ry0:ay1 - ry0, ax0 - rx0:ax1 - rx0]))

        tot = int(np.count_nonzero(win))
        own_box = box_ink(bx0, by0, bx0 + bw, by0 + bh)
        ring_area = (ry1 - ry0) * (rx1 - rx0) - bw * bh
        # symbol-sized neighbours (the next digit of a number written tightly) are not
        # clutter: their ink in the ring does not count against this symbol
        # (beside it in its row only: marks stacked above and below, as in a weave or
        # a texture, stay clutter)
        # (a few dozen groups: plain Python beats a dozen numpy calls on tiny arrays)
        by1 = by0 + bh
        neighbour = 0
        for j, (qx0, qy0, qx1, qy1) in enumerate(gb_list):
            if qx0 >= rx1 or qx1 <= rx0 or j == gi:
                continue
            qh = qy1 - qy0
            if not (0.6 * bh <= qh <= 1.6 * bh and min(qy1, by1) - max(qy0, by0) >= 0.5 * min(qh, bh)):
                continue
            neighbour += box_ink(max(qx0, rx0), max(qy0, ry0), min(qx1, rx1), min(qy1, ry1)) - box_ink(
                max(qx0, bx0), max(qy0, by0), min(qx1, bx0 + bw), min(qy1, by0 + bh))
        ring_ink = max(0, tot - own_box - neighbour) / max(1, ring_area)
        if ring_ink > cfg.max_ring_ink:
            return None, fbox(bx0, by0, bw, bh), True
        # clean paper around it: a symbol is written on something brighter than itself
        # that continues past it. A fingertip, the narrow end of a dark object or a
        # cable crossing a dark room have dark, non-stroke pixels right beside them.
        paper = cv2.mean(b.background[by0:by0 + bh, bx0:bx0 + bw])[0]  # (numpy's mean: 3x slower)
        ramp = None  # (plane fit of the paper round it, its RMS share), made when needed
        if paper < cfg.min_paper * b.bright or paper < cfg.min_paper_level:
            # not on the sheet: a mark on a darker surface of the room; unless the sheet
            # is in a shadow: smooth paper all round that runs into bright paper
            if paper < cfg.min_shadow_level or cfg.max_ramp_resid <= 0:
                return None, None, False
            if _plane_misfit(b.background[ry0:ry1, rx0:rx1], paper) > 1.01 * cfg.max_ramp_resid:
                return None, None, False  # no plane fits: most marks off the sheet end here, unfitted
            ramp = _ramp(b.background[ry0:ry1, rx0:rx1], paper)
            if ramp[1] > cfg.max_ramp_resid or not self._sheet(b)[by0:by0 + bh, bx0:bx0 + bw].any():
                return None, None, False
        # a pen line's core is far darker than its paper; shading (a nose, a fold in
        # cloth, a shadow) only dims it
        peak = work_peak = (paper - cv2.minMaxLoc(b.small[by0:by0 + bh, bx0:bx0 + bw])[0]) / max(1.0, paper)
        if peak < cfg.min_peak_contrast and peak * paper >= cfg.min_peak_depth:
            # a thin line (a pencil's, a fine pen's) loses a third of its contrast in the
            # reduced, smoothed work image; shading, a fold, a weave is as faint at full
            # resolution. So the share is also read on the frame's own pixels (3x3-smoothed
            # against single-pixel noise): pencil digits of a moving sheet failed it. (The
            # depth in grey levels stays the work image's: the edge of a dark disc on a dark
            # surface, 29 levels deep there and 30 at full resolution, became a "1")
            peak = max(peak, _full_peak(gray, fx, fy, fw, fh, paper, cfg.polarity == "light"))
        if (peak < cfg.min_peak_contrast or work_peak * paper < cfg.min_peak_depth
                or (stroke * s / (bh * s) > 0.2 and peak < 0.4)):
            return None, None, False  # too faint for ink, or thick and faint: shading, a fold, a weave
        if cfg.min_edge > 0 and _edge_sharpness(b.small[by0:by0 + bh, bx0:bx0 + bw], piece,
                                                 work_peak * paper) < cfg.min_edge:
            return None, None, False  # soft all round: the knots of a weave, a fold's shading, not ink
        ring = b.small[ry0:ry1, rx0:rx1]
        own = (slice(by0 - ry0, by0 - ry0 + bh), slice(bx0 - rx0, bx0 - rx0 + bw))
        dark_ring = _dark_share(ring, paper * (1.0 - cfg.contrast_rel) - 4, own, tot - own_box, ring_area)
        if dark_ring > cfg.max_dark_ring and cfg.max_ramp_resid > 0 and (
                ramp is not None or _plane_misfit(b.background[ry0:ry1, rx0:rx1], paper)
                <= 1.01 * cfg.max_ramp_resid):
            # a shadow's gradient across the ring is darker than the symbol's paper but
            # no object: where a plane fits the paper round it, dark is judged against
            # the plane (a fingertip or the room past the sheet's edge is a step no
            # plane fits; the closed-form misfit above turns most of those away unfitted)
            ramp = ramp or _ramp(b.background[ry0:ry1, rx0:rx1], paper)
            if ramp[1] <= cfg.max_ramp_resid:
                dark_ring = _dark_share(ring, ramp[0] * (1.0 - cfg.contrast_rel) - 4, own, tot - own_box,
                                        ring_area)
        if dark_ring > cfg.max_dark_ring:
            return None, None, False
        box = (int(round(fx)), int(round(fy)), max(1, int(round(fw))), max(1, int(round(fh))))
        contrast = paper
        return Region(box=box, extra={
            "aspect": round(aspect, 3), "density": round(density, 3),
            "stroke": round(stroke * s, 2), "ring_ink": round(float(ring_ink), 3),
            "strokes": len(g), "split": split, "paper": round(contrast, 1),
            "group": int(ids[g[0]]),  # pieces cut from one touching run share it
            "dark_ring": round(float(dark_ring), 3), "peak": round(peak, 3),
            "_mask": piece, "_work": (bx0, by0, bw, bh),
        }), None, False

    def _sheet(self, b: Binarised) -> np.ndarray:
        """Work pixels of smooth paper connected to the brightest paper in view (lit paper:
        paper that passes ``min_paper`` and ``min_paper_level``).

        Light falls off gently across a sheet (a hand's shadow has a soft edge at
        camera distance), while the sheet's border against the room is a step: the
        paper level changing by at most ``ramp_grad`` of itself per pixel joins a
        shadowed part of the sheet to its lit part, never the room to the sheet.
        """
        if b.sheet is None:
            bg = b.background.astype(np.float32)
            grad = cv2.magnitude(cv2.Sobel(bg, cv2.CV_32F, 1, 0), cv2.Sobel(bg, cv2.CV_32F, 0, 1))
            smooth = (grad <= 8.0 * self.cfg.ramp_grad * np.maximum(bg, 1.0)).view(np.uint8)
            _, lab = cv2.connectedComponents(smooth, connectivity=4, ltype=cv2.CV_32S)
            lit = np.zeros(int(lab.max()) + 1, bool)
            # (lit paper passes both paper tests: a frame of dark cloth has no lit part)
            lit[lab[(bg >= max(self.cfg.min_paper * b.bright, self.cfg.min_paper_level)) & (smooth > 0)]] = True
            lit[0] = False
            b.sheet = lit[lab]
        return b.sheet

    def crop_of(self, region: Region, turn: float = 0.0) -> np.ndarray:
        """The crop of a region of the last frame segmented with ``make_crops=False``."""
        gray, b = self._last
        return self.crop(gray, region, b, turn)

    def crop(self, gray: np.ndarray, region: Region, b: Binarised, turn: float = 0.0) -> np.ndarray:
        """The 28x28 network input: full-resolution grey crop and its own stroke mask
        (:meth:`stroke_of`).

        ``turn``: degrees the strokes are turned by first (counter-clockwise as shown; a
        sheet held turned: the network knows upright digits).
        """
        from vidrec.crop import normalize_crop

        x, y, w, h = region.box
        g = gray[y:y + h, x:x + w]
        stroke = self._stroke(gray, region, b)
        # A margin of empty paper round the symbol: the crop function treats marks that
        # hug its picture's border as sheet edges, and this crop is tight by construction.
        m = max(2, int(0.15 * max(w, h)))
        stroke = cv2.copyMakeBorder(stroke, m, m, m, m, cv2.BORDER_CONSTANT, value=0)
        g = cv2.copyMakeBorder(g, m, m, m, m, cv2.BORDER_REPLICATE)
        if turn:
            stroke = _turn(stroke * 255, turn)
            return normalize_crop(g, mask=stroke)  # (the image is not read when a mask is given)
        return normalize_crop(g, mask=stroke * 255)

    def stroke_of(self, region: Region) -> np.ndarray:
        """The stroke mask (uint8 0/1, the box's size) of a region of the last frame segmented
        with ``make_crops=False``."""
        gray, b = self._last
        return self._stroke(gray, region, b)

    def _stroke(self, gray: np.ndarray, region: Region, b: Binarised) -> np.ndarray:
        """The symbol's strokes at full resolution: the mask is re-thresholded against the
        (upsampled) paper estimate, restricted to the symbol's own components, so a
        neighbour's strokes never enter and thin pen strokes keep their shape."""
        work_mask = region.extra["_mask"]
        if b.scale <= 1.0:
            return work_mask
        x, y, w, h = region.box
        g = gray[y:y + h, x:x + w]
        own = cv2.resize(work_mask, (w, h), interpolation=cv2.INTER_NEAREST)
        own = cv2.dilate(own, SQUARE3)
        bx0, by0, bw, bh = region.extra["_work"]
        bg = cv2.resize(b.background[by0:by0 + bh, bx0:bx0 + bw], (w, h), interpolation=cv2.INTER_LINEAR)
        src = 255 - g if self.cfg.polarity == "light" else g
        ink = cv2.subtract(bg, src)
        thr = np.maximum(self.cfg.contrast_abs, self.cfg.contrast_rel * bg.astype(np.float32))
        # the same hysteresis as the binarisation: ``own`` holds only components anchored
        # by sure ink, and a faint pixel counts where it holds half its local peak
        half_peak = cv2.dilate(ink, self._kernel(5)) >> 1
        faint = (ink > self.cfg.hysteresis * thr) & (ink >= half_peak)
        return (((ink > thr) | faint) & (own > 0)).view(np.uint8)


def _frame_box(s: float, x, y, w, h) -> tuple[int, int, int, int]:
    """A box in work pixels, in full-frame pixels (``s``: frame px per work px), at least 1x1."""
    return (int(round(x * s)), int(round(y * s)), max(1, int(round(w * s))), max(1, int(round(h * s))))


def _turn(mask: np.ndarray, degrees: float) -> np.ndarray:
    """A 0/255 mask turned by ``degrees`` (counter-clockwise as shown) about its centre, on a
    canvas large enough that no stroke is cut off."""
    h, w = mask.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(rot[0, 0]), abs(rot[0, 1])
    nw, nh = int(np.ceil(h * s + w * c)) + 2, int(np.ceil(h * c + w * s)) + 2
    rot[0, 2] += nw / 2 - w / 2
    rot[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(mask, rot, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
    return cv2.threshold(out, 127, 255, cv2.THRESH_BINARY)[1]


def _enclosed_paper(sub: np.ndarray) -> np.ndarray:
    """The background a 0/1 (or boolean) mask encloses: OpenCV statistics rows (x, y, w, h,
    area) of each hole, 4-connected, x and y one more than in the mask (its added border)."""
    h, w = sub.shape
    bg = cv2.copyMakeBorder((sub == 0).view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    st = cv2.connectedComponentsWithStats(bg, connectivity=4)[2][1:]
    # the paper round the strokes reaches the added border; a hole does not
    inner = (st[:, 0] > 0) & (st[:, 1] > 0) & (st[:, 0] + st[:, 2] < w + 2) & (st[:, 1] + st[:, 3] < h + 2)
    return st[inner]


def _encloses_paper(labels: np.ndarray, stat: np.ndarray, label: int, min_area: int = 4) -> bool:
    """Whether a component's strokes close round some paper (a loop of at least ``min_area``
    work pixels: a 0, 6, 8 or 9 has one, the open strokes of a 4 or a 7 do not)."""
    x, y, w, h = (int(v) for v in stat[:4])
    holes = _enclosed_paper(labels[y:y + h, x:x + w] == label)
    return bool(len(holes)) and int(holes[:, 4].max()) >= min_area


def _solid(labels: np.ndarray, stat: np.ndarray, label: int, min_solidity: float = 0.85) -> bool:
    """Whether a component fills its convex hull like a blob: a bold digit whose loops the
    binarisation closed (a marker 8 or 0 at work resolution) does; the open strokes of a 4,
    a diagonal and a bar with paper between them, do not."""
    x, y, w, h = (int(v) for v in stat[:4])
    sub = (labels[y:y + h, x:x + w] == label).view(np.uint8)
    contours = cv2.findContours(sub, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    if not contours:
        return False
    hull = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    return hull > 0 and float(stat[4]) >= min_solidity * hull


def _full_peak(gray: np.ndarray, x: float, y: float, w: float, h: float, paper: float, light: bool) -> float:
    """The darkest ink of a box (frame pixels) against ``paper``, as a share of it, read off the
    frame itself after a 3x3 Gaussian (single-pixel noise is no ink)."""
    x0, y0 = max(0, int(x)), max(0, int(y))
    box = gray[y0:int(np.ceil(y + h)), x0:int(np.ceil(x + w))]
    if box.size == 0:
        return 0.0
    darkest = cv2.minMaxLoc(cv2.GaussianBlur(box, (3, 3), 0))[1 if light else 0]
    return ((darkest - (255 - paper)) if light else (paper - darkest)) / max(1.0, paper)


def _hole_columns(sub: np.ndarray) -> int:
    """How many columns of a 0/1 mask hold paper between two inked pixels (two runs of ink or
    more): at least as many as its widest hole is wide, a cheap test before labelling holes.

    A hole reaches neither the top nor the bottom of the mask, so above and below each of its
    pixels its column is inked; its columns are one run of such columns. (A symbol's holes
    are seldom that wide: this saves the background's labelling on almost every wide mask.)
    """
    # changes down each column, the picture's top and bottom framed empty: two per run of ink
    fr = cv2.copyMakeBorder(sub, 1, 1, 0, 0, cv2.BORDER_CONSTANT, value=0)
    changes = cv2.reduce(cv2.absdiff(fr[1:], fr[:-1]), 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    return cv2.countNonZero(cv2.compare(changes, 4, cv2.CMP_GE))


def _edge_sharpness(sub: np.ndarray, mask: np.ndarray, depth: float) -> float:
    """How steeply the ink's sharpest edges rise: the 90th percentile of the grey gradient
    (Sobel / 8, grey levels per work pixel) on and just around the strokes, over the ink's depth.

    A pen line seen by a focused camera goes from paper to ink in a pixel or two, at least
    along some of its edges (motion blur smears only those across the motion). The dark
    knots of a woven fabric, a fold's shadow or a nose are soft all round: their darkness
    ramps over many pixels, so even their steepest edges rise by a small share of their depth.
    """
    if depth <= 0 or mask.shape != sub.shape:
        return 0.0
    # both 3x3 Sobel derivatives in one pass, as exact integers (the values Sobel gives on a
    # float copy, border reflected the same way)
    gx, gy = cv2.spatialGradient(sub)
    # (a 0/1 mask dilates to 0/1: viewed as bool, no comparison pass)
    g = cv2.magnitude(gx.astype(np.float32), gy.astype(np.float32))[cv2.dilate(mask, SQUARE3).view(bool)]
    if g.size == 0:
        return 0.0
    return float(np.partition(g, int(0.9 * (g.size - 1)))[int(0.9 * (g.size - 1))]) / 8.0 / depth


def _dark_share(ring: np.ndarray, level, own: tuple[slice, slice], ring_ink: int, ring_area: int) -> float:
    """The share of the ring round a symbol (its own box, ``own``, left out) darker than
    ``level`` (a number, or the plane of a shadowed sheet per pixel) and not ink."""
    dark = ring < level
    n_dark = int(np.count_nonzero(dark)) - int(np.count_nonzero(dark[own]))
    return max(0, n_dark - ring_ink) / max(1, ring_area)


def _ramp(bg: np.ndarray, paper: float) -> tuple[np.ndarray, float]:
    """The plane that best fits a window of paper, and its RMS misfit as a share of ``paper``.

    Uneven light (a shadow's soft edge, light falling off across the sheet) is close to a
    plane over a symbol's surroundings; a fingertip, the room past the sheet's edge or a
    textured surface is not.
    """
    h, w = bg.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.stack([np.ones(h * w, np.float32), xx.ravel(), yy.ravel()], 1)
    z = bg.astype(np.float32).ravel()
    coef = np.linalg.lstsq(a, z, rcond=None)[0]
    plane = (a @ coef).reshape(h, w)
    return plane, float(np.sqrt(np.mean((z - plane.ravel()) ** 2))) / max(1.0, paper)


def _plane_misfit(bg: np.ndarray, paper: float) -> float:
    """:func:`_ramp`'s misfit in closed form, at a small share of its cost (no solver, no copy).

    On a full pixel grid the centred x and y are orthogonal to each other and to the
    constant, so the least-squares plane needs no solver: the misfit follows from the
    window's sum, its sum of squares and its row and column sums (exact integers from
    OpenCV's uint8 reductions; the rest in float64). No plane fits better than the best
    one, so :func:`_ramp` (float32 SVD) never reports a misfit much below this one: a
    window clearly over the limit here is over it there, and only windows near or under
    the limit pay for the exact fit whose plane is used.
    """
    h, w = bg.shape
    n = h * w
    cols = cv2.reduce(bg, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel().astype(np.float64)
    rows = cv2.reduce(bg, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel().astype(np.float64)
    total = float(cols.sum())
    ss = cv2.norm(bg, cv2.NORM_L2SQR) - total * total / n
    if w > 1:
        xc = np.arange(w, dtype=np.float64) - 0.5 * (w - 1)
        ss -= float(np.dot(cols, xc)) ** 2 / (h * float(np.dot(xc, xc)))
    if h > 1:
        yc = np.arange(h, dtype=np.float64) - 0.5 * (h - 1)
        ss -= float(np.dot(rows, yc)) ** 2 / (w * float(np.dot(yc, yc)))
    return float(np.sqrt(max(0.0, ss) / n)) / max(1.0, paper)


def _percentile_u8(a: np.ndarray, q: float) -> float:
    """The ``q`` quantile of a uint8 picture (np.partition's k-th value), read off its
    histogram: half the cost of np.partition, a tenth of np.median's."""
    hist = cv2.calcHist([a], [0], None, [256], [0, 256]).ravel()
    return float(np.searchsorted(np.cumsum(hist), int(q * (a.size - 1)), side="right"))


def paper_chroma(image: np.ndarray, box, gray: np.ndarray | None = None, level: float | None = None) -> float:
    """How coloured the surface under ``box`` is: (max - min) / max of its mean colour, 0 for
    grey. The surface: the box grown by a quarter of its larger side, where its grey level is
    within 12% of the paper's, ``level`` (by default the median there; the ink, darker, and
    whatever lies beyond the paper's edge are left out). ``gray``: the picture's grey version,
    when it is at hand.

    Close round the box, at the paper's level: a stroke on a green patch beside a white sheet
    is on green (the brighter half of a ring half the box wide reached the white sheet and
    read 0.08 for such a stroke in an empty scene; this reads 0.65).
    """
    x, y, w, h = (int(v) for v in box)
    H, W = image.shape[:2]
    m = max(w, h) // 4 + 2
    x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(W, x + w + m), min(H, y + h + m)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    patch = image[y0:y1, x0:x1]
    g = gray[y0:y1, x0:x1] if gray is not None else cv2.cvtColor(np.ascontiguousarray(patch[..., :3]),
                                                                   cv2.COLOR_BGR2GRAY)
    if level is None:
        level = _percentile_u8(g, 0.5)
    # (OpenCV's masked mean: microseconds, where numpy's median of the patch took 150)
    paper = cv2.mean(patch, mask=cv2.inRange(g, 0.88 * level, 1.12 * level + 1))[:3]
    top = max(paper)
    return (top - min(paper)) / top if top > 0 else 0.0


def _gray_of(frame: Frame | np.ndarray) -> np.ndarray:
    if isinstance(frame, Frame):
        return frame.gray
    img = np.asarray(frame)
    if img.ndim == 2:
        return img
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def segment(frame: Frame | np.ndarray, **options) -> list[Region]:
    """One-off convenience: a fresh :class:`Segmenter` with ``options``."""
    return Segmenter(**options).segment(frame)
