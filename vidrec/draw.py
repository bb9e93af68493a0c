"""Drawing helpers the plugins and the window share, so every overlay looks alike.

Sizes scale with the frame (a label readable at 640x480 is a speck at 4K), and
everything is clipped to the canvas: a box at the frame edge must not raise.
"""

from __future__ import annotations

import numpy as np

FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX, without importing cv2 at module level


def scale_for(canvas: np.ndarray) -> float:
    """Font scale relative to a 640x480 frame."""
    return max(0.4, min(canvas.shape[0], canvas.shape[1] * 0.75) / 480.0)


def box_label(canvas: np.ndarray, box, label: str, color=(0, 200, 0), text_color=(0, 0, 0),
              thickness: int | None = None, font_scale: float | None = None,
              taken: list | None = None) -> tuple[int, int, int, int] | None:
    """A rectangle with its label on a filled background above it (below at the top edge).

    Returns the label's rectangle ``(x0, y0, x1, y1)`` (None without a label).

    ``taken``: rectangles ``(x0, y0, x1, y1)`` a label must not cover (labels already
    drawn, the other boxes); the label goes above the box, else below it, wherever it
    covers none of them (else above, as without ``taken``: labels of digits written
    side by side would otherwise cover each other), and its rectangle is added to the list.
    """
    import cv2

    s = scale_for(canvas)
    t = thickness or max(1, round(2 * s))
    fs = font_scale or 0.6 * s
    x, y, w, h = (int(v) for v in box)
    cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), color, t)
    if not label:
        return None
    (tw, th), base = cv2.getTextSize(label, FONT, fs, max(1, t // 2 + 1))
    H, W = canvas.shape[:2]
    tx = min(max(0, x), max(0, W - tw - 2))
    above, below, inside = y - 2, y + h + th + base + 2, y + th + base + 2
    spots = [ty for ty in (above, below, inside) if th + base <= ty <= H - 1]
    ty = spots[0] if spots else min(H - 1, max(th + base, above))
    if taken is not None:
        def free(ty):
            r = (tx, ty - th - base, tx + tw + 2, ty)
            return all(r[2] <= a[0] or a[2] <= r[0] or r[3] <= a[1] or a[3] <= r[1] for a in taken)

        ty = next((c for c in spots[:2] if c != inside and free(c)), ty)
        taken.append((tx, ty - th - base, tx + tw + 2, ty))
    cv2.rectangle(canvas, (tx, ty - th - base), (tx + tw + 2, ty), color, -1)
    cv2.putText(canvas, label, (tx + 1, ty - base), FONT, fs, text_color, max(1, t // 2 + 1), cv2.LINE_AA)
    return (tx, ty - th - base, tx + tw + 2, ty)


def inset(canvas: np.ndarray, image: np.ndarray, corner: str = "tr", size: int | None = None,
          border=(255, 255, 255), margin: int | None = None) -> None:
    """Paste ``image`` (uint8 or float in [0,1], gray or BGR, e.g. the 28x28 model input) in a corner.

    Enlarged with nearest-neighbour so the pixels the model saw stay visible.
    ``corner``: "tl", "tr", "bl" or "br".
    """
    import cv2

    s = scale_for(canvas)
    size = size or int(112 * s)
    margin = margin if margin is not None else int(8 * s)
    img = image
    if img.dtype != np.uint8:
        img = np.clip(img * 255.0, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    h0, w0 = img.shape[:2]
    f = size / max(h0, w0)
    img = cv2.resize(img, (max(1, round(w0 * f)), max(1, round(h0 * f))), interpolation=cv2.INTER_NEAREST)
    H, W = canvas.shape[:2]
    h, w = min(img.shape[0], H - 2 * margin), min(img.shape[1], W - 2 * margin)
    if h <= 0 or w <= 0:
        return
    x = margin if corner[1] == "l" else W - margin - w
    y = margin if corner[0] == "t" else H - margin - h
    canvas[y:y + h, x:x + w] = img[:h, :w]
    cv2.rectangle(canvas, (x - 1, y - 1), (x + w, y + h), border, 1)


def text_lines(canvas: np.ndarray, lines: list[str], origin: str = "tl", color=(255, 255, 255),
               background=(0, 0, 0)) -> None:
    """A block of text lines on a filled background, in a corner."""
    import cv2

    if not lines:
        return
    s = scale_for(canvas)
    fs, t = 0.5 * s, max(1, round(s))
    sizes = [cv2.getTextSize(line, FONT, fs, t) for line in lines]
    lh = max(sz[0][1] + sz[1] for sz in sizes) + int(4 * s)
    bw = max(sz[0][0] for sz in sizes) + int(8 * s)
    bh = lh * len(lines) + int(4 * s)
    H, W = canvas.shape[:2]
    x0 = 0 if origin[1] == "l" else max(0, W - bw)
    y0 = 0 if origin[0] == "t" else max(0, H - bh)
    cv2.rectangle(canvas, (x0, y0), (min(W - 1, x0 + bw), min(H - 1, y0 + bh)), background, -1)
    for i, line in enumerate(lines):
        cv2.putText(canvas, line, (x0 + int(4 * s), y0 + (i + 1) * lh - int(2 * s)), FONT, fs, color, t,
                    cv2.LINE_AA)


def stats_overlay(canvas: np.ndarray, fps: float | None, ms: dict[str, float], dropped: int = 0,
                  extra: list[str] | None = None) -> None:
    """FPS, dropped frames and per-stage milliseconds in the bottom-left corner."""
    lines = []
    head = f"{fps:5.1f} fps" if fps else "-- fps"
    if dropped:
        head += f"  dropped {dropped}"
    lines.append(head)
    stages = [k for k in ("capture", "preprocess", "segment", "classify", "render") if k in ms]
    if stages:
        lines.append("  ".join(f"{k[:4]} {ms[k]:.1f}" for k in stages) + " ms")
    lines.extend(extra or [])
    text_lines(canvas, lines, origin="bl")
