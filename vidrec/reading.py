"""What a frame reads: symbols grouped into lines and numbers, for the JSON Lines ``text``.

The convention (the same for every recogniser, whatever its symbols):

- lines are ordered top to bottom and joined with ``"\\n"``;
- within a line symbols are ordered left to right;
- symbols whose gap is wider than ``space`` times their height are separated
  by one space (``"271 8"``: two numbers), closer ones are written together.

Lines are found by chaining each symbol to its nearest right-hand neighbour at
about the same height, following the direction the chain already has, rather
than by cutting the frame into horizontal bands: a sheet held at a slant puts
the end of one row lower than the start of the next, and bands would mix them.
"""

from __future__ import annotations

import math
from statistics import median
from typing import Sequence

Box = tuple[float, float, float, float]


def chains(boxes: Sequence[Box], max_gap: float = 6.0, max_dy: float = 0.55, slope0: float = 0.0) -> list[list[int]]:
    """Indices of ``boxes`` grouped into lines (top to bottom), each left to right.

    A symbol's successor is the nearest box to its right whose centre lies within
    ``max_dy`` heights of the line's running direction and whose gap is at most
    ``max_gap`` heights; a box is claimed by at most one predecessor (the closest), and a
    symbol whose nearest is claimed by a closer one takes its next nearest.
    ``slope0`` is the direction a line starts with (dy/dx; 0: level).
    """
    n = len(boxes)
    if n == 0:
        return []
    cx = [b[0] + b[2] / 2 for b in boxes]
    cy = [b[1] + b[3] / 2 for b in boxes]
    order = sorted(range(n), key=lambda i: cx[i])
    succ: dict[int, tuple[float, int]] = {}
    pred: dict[int, tuple[float, int]] = {}
    slope = {i: slope0 for i in range(n)}
    cands: dict[int, list[tuple[float, int]]] = {}

    def link(i: int) -> None:
        """Give ``i`` its best candidate that no closer predecessor holds (taking it from a
        worse one, which then looks for its own next best: a 1 between a 0 and an 8, a
        little off the line's direction, lost the 8 to the 1 but was skipped by the 0,
        and "20 188" read as two lines)."""
        for score, j in cands[i]:
            if j in pred and pred[j][0] <= score:
                continue
            loser = pred[j][1] if j in pred else None
            if loser is not None:
                succ.pop(loser, None)
            pred[j] = (score, i)
            succ[i] = (score, j)
            s = (cy[j] - cy[i]) / max(1.0, cx[j] - cx[i])
            # one pair's slope is weak evidence (two symbols of different heights, a digit cut
            # short by the segmenter, tilt their centres): the first link counts half, later
            # links average in
            slope[j] = 0.5 * slope[i] + 0.5 * max(slope0 - 0.4, min(slope0 + 0.4, s))
            if loser is not None:
                link(loser)
            return

    for i in order:  # left to right, so a chain's slope is known before it is extended
        xi, yi, wi, hi = boxes[i]
        opts = []
        for j in order:
            if cx[j] <= cx[i] or j == i:
                continue
            xj, yj, wj, hj = boxes[j]
            h = max(hi, hj)
            gap = xj - (xi + wi)
            if gap > max_gap * h or gap < -0.6 * min(wi, wj):
                continue
            dy = cy[j] - (cy[i] + slope[i] * (cx[j] - cx[i]))
            if slope0 and abs(dy) > max_dy * h:
                # on a turned sheet a symbol in line with the sheet's own direction joins too:
                # one pair's slope may be far off it ("67 2" turned -22 degrees: the 7 standing
                # high beside the 6 set the line off at -36 degrees, and the 2 fell outside it)
                dy = cy[j] - (cy[i] + slope0 * (cx[j] - cx[i]))
            if abs(dy) > max_dy * h:
                continue
            opts.append((max(gap, 0.0) + 3.0 * abs(dy), j))
        opts.sort()
        cands[i] = opts
        link(i)
    lines = []
    for i in order:
        if i in pred:
            continue
        line = [i]
        while line[-1] in succ:
            line.append(succ[line[-1]][1])
        lines.append(line)
    # top to bottom across the lines' direction: by where a line crosses the frame's left edge
    # along ``slope0``, not by its centres' height (on a sheet turned 25 degrees a short
    # line's centres, at the left, were higher than those of the long line above it)
    lines.sort(key=lambda ln: sum(cy[k] - slope0 * cx[k] for k in ln) / len(ln))
    return lines


def lines(boxes: Sequence[Box], turn: float = 5.0) -> list[list[int]]:
    """:func:`chains`, found again starting in the lines' own direction when they are turned
    by ``turn`` degrees or more (a sheet held turned: the first link of a line, across a
    wide gap, would otherwise fall outside a level start's reach and split the line)."""
    found = chains(boxes)
    angle = _angle(found, boxes)
    if angle is not None and abs(angle) >= turn:
        found = chains(boxes, slope0=math.tan(math.radians(angle)))
    return found


def read_text(boxes: Sequence[Box], labels: Sequence[str], space: float = 0.6) -> str:
    """The text the symbols read: lines joined by "\\n", a space between far-apart symbols."""
    out = []
    for line in lines(boxes):
        s = labels[line[0]]
        for a, b in zip(line, line[1:]):
            xa, _, wa, ha = boxes[a]
            xb, _, _, hb = boxes[b]
            gap = xb - (xa + wa)
            if gap > space * 0.5 * (ha + hb):
                s += " "
            s += labels[b]
        out.append(s)
    return "\n".join(out)


def line_words(boxes: Sequence[Box], space: float = 0.6) -> list[list[list[int]]]:
    """The words (runs of closely spaced symbols: numbers, or words of printed text) of each
    line, as index lists: lines top to bottom, each line's words left to right."""
    out = []
    for line in lines(boxes):
        ws = [[line[0]]]
        for a, b in zip(line, line[1:]):
            xa, _, wa, ha = boxes[a]
            xb, _, _, hb = boxes[b]
            if xb - (xa + wa) > space * 0.5 * (ha + hb):
                ws.append([])
            ws[-1].append(b)
        out.append(ws)
    return out


def line_angle(boxes: Sequence[Box], min_symbols: int = 3) -> float | None:
    """How far the lines of ``boxes`` are turned, in degrees (positive: falling to the right,
    as a sheet turned clockwise shows them), or None when no line holds ``min_symbols``.

    Each line of at least ``min_symbols`` symbols (:func:`chains`) is fitted by least
    squares through its centres; the median over those lines is the sheet's turn
    (a handwritten line's own drift and a stray mark chained in move one line, not
    the median of several).
    """
    return _angle(chains(boxes), boxes, min_symbols)


def _angle(found: list[list[int]], boxes: Sequence[Box], min_symbols: int = 3) -> float | None:
    angles = []
    for line in found:
        if len(line) < min_symbols:
            continue
        slope = line_slope(boxes, line)
        if slope is not None:
            angles.append(math.degrees(math.atan(slope)))
    return float(median(angles)) if angles else None


def line_slope(boxes: Sequence[Box], line: Sequence[int]) -> float | None:
    """dy/dx of the straight line fitted by least squares through the centres of ``line``
    (indices of ``boxes``), or None when they all stand in one column."""
    xs = [boxes[k][0] + boxes[k][2] / 2 for k in line]
    ys = [boxes[k][1] + boxes[k][3] / 2 for k in line]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
