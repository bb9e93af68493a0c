"""THE crop normalisation: any picture of one handwritten symbol -> an MNIST-like 28x28.

A model only ever sees inputs made here, at training and at run time alike, so
photos (``vidrec predict``), live and recorded video crops, the Greek data and
evaluation all go through :func:`normalize_crop`. MNIST digits are white strokes
on black, about 2-3 px thick, fitted into a 20x20 box keeping the aspect ratio,
anti-aliased, and centred by their centre of mass in 28x28; real photos are
none of that, and a network fed raw squashed crops saturates and its confidence
means nothing.

How (every step is chosen so that it does not depend on the absolute size,
brightness or polarity of the input):

1. Grey, float, at a working resolution (long side ``WORK``). Reducing with
   INTER_AREA keeps the ink mass of a thin pen line on a 2000-px photo (it
   becomes fainter, not gone); tiny inputs (28x28) are enlarged so morphology
   has room.
2. Polarity from the grey-level histogram: ink is the minority, so the
   histogram's long tail points toward it (this works for a hairline covering
   1% of a photo). The picture's centre overrules the whole when it is clearly
   one-sided and the whole disagrees: a light sheet held in a darker scene.
3. Ink = local background minus image (a black-hat / white-hat transform with
   a kernel a quarter of the picture wide): this removes uneven light, grey or
   beige paper, shadows and large dark surroundings in one go, since only
   structures narrower than the kernel survive.
4. Threshold with Otsu on the ink map plus hysteresis (weak pixels kept where
   they touch strong ones), so faint parts of thin strokes stay; the stroke's
   edge is then put where the ink falls to half its local peak, so a blurred
   stroke is not fattened.
5. Connected components: the main stroke plus the nearby pieces of the same
   symbol (a 5's bar, a 4 in two strokes, a dot); specks and border-hugging
   lines (paper edges, frame borders) are dropped.
6. Second pass on the symbol's own box at full working resolution when the
   symbol is small in a large picture.
7. Stroke width is measured (distance transform on the ridge) and dilated or
   eroded toward MNIST's width at the 20-px scale, then the binary stroke mask
   is reduced with INTER_AREA (which gives MNIST's grey anti-aliased edges),
   fitted into 20x20 and centred by centre of mass to whole pixels, as MNIST.

With a ``mask`` (the video segmenter's stroke pixels) steps 2-4 are skipped and
the mask is used as the stroke mask; from there the path is the same, so a
video crop and a photo of the same symbol look alike.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import cv2
import numpy as np

from vidrec.errors import VidrecError

SIZE = 28
BOX = 20
WORK = 192  # working resolution (long side) for the ink map and components
# MNIST's median stroke width in pixels at the 20-px box scale, measured with
# stroke_width() on MNIST digits (tests/test_crop.py checks it against MNIST).
TARGET_WIDTH = 2.0
BLUR = 0.3  # anti-aliasing blur before the reduction, in final pixels
WIDTH_BAND = (0.8, 1.2)  # strokes thinner or thicker than this (times the target) are brought to it
# (Placing the centre of mass to 1/8 px instead of whole pixels, as MNIST did,
# was neutral on MNIST round trips and one image better on the real digits,
# but lowered the multi-digit video bar in tests/test_multidigit.py.)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm", ".pbm")


# ---------------------------------------------------------------- reading


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 -> gray uint8, whichever way the alpha channel is used.

    Two kinds of drawing carry alpha: an opaque sheet with a few transparent
    pixels (composite onto the sheet's own colour), and strokes painted on a
    transparent canvas, where the strokes may be any colour (even white) and
    only alpha tells them apart: then alpha itself is the picture, light
    strokes on dark.
    """
    a = rgba[..., 3].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    opaque = a > 0.5
    if a.min() >= 0.98:
        return np.clip(gray + 0.5, 0, 255).astype(np.uint8)
    if opaque.mean() < 0.5:
        return rgba[..., 3].copy()
    bg = float(np.median(gray[opaque])) if opaque.any() else 255.0
    out = gray * a + bg * (1 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read any still image file as uint8: gray HxW or BGR HxWx3 (OpenCV's order).

    Uses Pillow (installed with matplotlib) because it reads palette, 16-bit and
    alpha PNGs and applies the JPEG EXIF orientation of phone photos, which
    ``cv2.imread`` does not all do. Anything unreadable raises VidrecError
    naming the file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise VidrecError(f"{p}: no such file")
    if p.is_dir():
        raise VidrecError(f"{p}: is a folder, not an image")
    if p.stat().st_size == 0:
        raise VidrecError(f"{p}: empty file (0 bytes), not an image")
    try:
        with Image.open(p) as im:
            im.load()
            try:
                im = ImageOps.exif_transpose(im)
            except Exception:  # a broken EXIF block must not lose the picture
                pass
            return _pil_to_array(im)
    except UnidentifiedImageError:
        raise VidrecError(f"{p}: not an image file (or a format this tool cannot read)") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise VidrecError(f"{p}: unreadable image ({str(e)[:100]})") from None


def _pil_to_array(im) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im).astype(np.float64)
        hi = 65535.0 if arr.max() > 255 else 255.0
        return np.clip(arr * 255.0 / hi + 0.5, 0, 255).astype(np.uint8)
    if mode == "1":
        return np.asarray(im.convert("L"))
    if mode == "L":
        return np.asarray(im).copy()
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        return _flatten_alpha(np.asarray(im.convert("RGBA")))
    rgb = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(rgb[..., ::-1])


# ---------------------------------------------------------------- helpers


def to_gray(image: np.ndarray) -> np.ndarray:
    """Gray, BGR or BGRA (uint8, uint16, bool or float in [0, 1]) -> float32 gray in 0-255."""
    img = np.asarray(image)
    if img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    elif img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif img.dtype.kind == "f":
        img = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if img.size and float(img.max()) <= 1.0 else 1.0
        img = np.clip(img * scale + 0.5, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = _flatten_alpha(np.ascontiguousarray(img[..., [2, 1, 0, 3]]))
    elif img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2GRAY)
    if img.ndim != 2:
        raise VidrecError(f"expected a gray, BGR or BGRA image, got shape {img.shape}")
    return img.astype(np.float32)


def _resize_long(img: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, size, interpolation=interp), s


def dark_ink_prior(gray: np.ndarray) -> float:
    """Evidence (> 0: dark strokes on light paper) from the grey-level distribution alone.

    Ink is the minority, so the histogram's long tail points toward the ink:
    how far the darkest pixels lie below the median against how far the
    brightest lie above it. Works for a hairline covering 1% of a photo,
    where percentile midpoints do not.
    """
    lo, med, hi = np.percentile(gray, [0.5, 50, 99.5])
    return float((med - lo) - (hi - med)) / max(float(hi - lo), 1.0)


def _polarity(work: np.ndarray) -> bool:
    """True for dark strokes on light paper, from the whole picture and its centre.

    The whole picture's histogram is right unless a darker scene around a
    light sheet outnumbers the paper; then the centre (where a photographed
    symbol sits) is almost pure paper and ink, and its histogram is nearly
    one-sided. The centre overrules the whole only when it is that clear, since
    the centre of a tight crop of a bold symbol is mostly ink.
    """
    whole = dark_ink_prior(work)
    h, w = work.shape
    centre = work[h // 4 : h - h // 4, w // 4 : w - w // 4]
    if centre.size < 64:
        return whole >= 0
    mid = dark_ink_prior(centre)
    if (mid >= 0) != (whole >= 0) and abs(mid) >= 0.85:
        return mid >= 0
    return whole >= 0


def _thinness(mask: np.ndarray) -> float:
    """Stroke width over the symbol's size: about 0.1 for writing, near 1 for a blob."""
    bb = _bbox(mask)
    if bb is None:
        return np.inf
    return stroke_width(mask) / max(bb[2] - bb[0], bb[3] - bb[1], 1)


def _find(work: np.ndarray, dark: bool) -> np.ndarray:
    return select_symbol(threshold_ink(ink_map(work, dark), min_contrast=12.0))


def _largest(mask: np.ndarray) -> np.ndarray:
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 2:
        return mask
    return (lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)


def _spans(mask: np.ndarray) -> bool:
    """Whether the mask reaches across the whole picture (a bold symbol in a tight crop, not a sheet)."""
    x0, y0, x1, y1 = _bbox(mask)
    h, w = mask.shape
    return x1 - x0 >= 0.95 * w and y1 - y0 >= 0.95 * h


def _blob(mask: np.ndarray) -> bool:
    """A solid patch (a sheet, a hand), not writing: fills most of its box and a tenth of the picture."""
    bb = _bbox(mask)
    if bb is None:
        return False
    box = (bb[2] - bb[0]) * (bb[3] - bb[1])
    area = float(mask.sum())
    return area > 0.75 * box and area > 0.10 * mask.size


def ink_map(gray: np.ndarray, dark: bool) -> np.ndarray:
    """Stroke strength (>= 0, float32): local background minus image.

    The background is a grey closing (dark ink) or opening (light ink) with a
    square kernel a quarter of the picture wide, smoothed; anything wider than
    that (paper, uneven light, a dark surround) is background.
    """
    h, w = gray.shape
    k = max(3, (max(h, w) // 4) | 1)
    g = cv2.GaussianBlur(gray, (0, 0), 1.0)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    op = cv2.MORPH_CLOSE if dark else cv2.MORPH_OPEN
    bg = cv2.morphologyEx(g, op, kernel, borderType=cv2.BORDER_REPLICATE)
    # smooth the blocky closing, but never past it: a blur would carry a bright
    # sheet's level out over the dark scene around it and draw a ring of "ink"
    smooth = cv2.blur(bg, (k // 2 | 1, k // 2 | 1), borderType=cv2.BORDER_REPLICATE)
    bg = np.maximum(np.minimum(smooth, bg), g) if dark else np.minimum(np.maximum(smooth, bg), g)
    return (bg - g) if dark else (g - bg)


def threshold_ink(ink: np.ndarray, min_contrast: float = 12.0) -> np.ndarray:
    """Binary stroke mask from the ink map: Otsu plus hysteresis; empty if no contrast."""
    top = float(np.percentile(ink, 99.7))
    if top < min_contrast:
        return np.zeros(ink.shape, np.uint8)
    scaled = np.clip(ink * (255.0 / top), 0, 255).astype(np.uint8)
    t, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    t = max(t, 0.25 * 255)  # paper texture alone must not pass
    strong = scaled > t
    weak = (scaled > 0.5 * t).astype(np.uint8)
    n, lab = cv2.connectedComponents(weak, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(lab[strong])] = True
    keep[0] = False
    mask = keep[lab]
    # the stroke's edge is where the ink falls to half of the stroke's own
    # contrast (its local peak), not where it first rises above the paper:
    # otherwise soft, blurred or anti-aliased strokes come out fatter than the
    # same strokes given as a mask
    peak = cv2.dilate(scaled, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    return (mask & (scaled.astype(np.float32) >= 0.5 * peak)).astype(np.uint8)


def select_symbol(mask: np.ndarray, drop_border: bool = True) -> np.ndarray:
    """Keep the components that make up the symbol; drop specks and border lines.

    The main component is the largest one that does not hug the border (paper
    edges and frame lines lie along it); pieces are then added while they are
    close to what is kept (a 5's bar, a two-stroke 4, a dot), bigger pieces
    allowed further away than small ones. If every component hugs the border
    (a tight crop), hugging is no reason to drop anything. ``drop_border``
    False keeps strokes along the picture's edge and drops only specks, for a
    caller whose mask is known to hold the symbol alone (video masks keep the
    default: pieces of neighbouring symbols reach into a region at its edge).
    """
    h, w = mask.shape
    # One component (almost every video crop) is kept whatever the tests below
    # say; labelling without statistics costs a quarter as much, so the
    # statistics are only computed when there is a choice to make.
    n, lab = cv2.connectedComponents(mask, connectivity=8)
    if n <= 1:
        return mask
    if n == 2:
        return np.not_equal(mask, 0).view(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    m = max(2, round(0.03 * min(h, w)))
    band = np.zeros((h, w), bool)
    band[:m] = band[-m:] = True
    band[:, :m] = band[:, -m:] = True
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    hug_px = np.bincount(lab[band].ravel(), minlength=n)[1:]
    hug = hug_px / np.maximum(areas, 1)
    frame_like = hug > 0.4  # a thin line along the border: paper edge, frame
    if not drop_border:
        frame_like[:] = False
    # a thick strip along the border (the dark scene between a sheet and the
    # picture's edge): most of it lies within its own thickness of the border
    ring = np.zeros((h, w), bool)
    ring[0] = ring[-1] = True
    ring[:, 0] = ring[:, -1] = True
    touching = np.bincount(lab[ring].ravel(), minlength=n)[1:] > 0
    if drop_border and touching.any():
        # (a mask with no background pixel at all gets huge distances: cap them)
        dt = np.minimum(cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3), max(h, w))
        half = np.zeros(n, np.float32)
        np.maximum.at(half, lab.ravel(), dt.ravel())
        yy, xx = np.mgrid[0:h, 0:w]
        to_edge = np.minimum(np.minimum(yy, h - 1 - yy), np.minimum(xx, w - 1 - xx))
        for i in np.where(touching)[0]:
            sel = lab == i + 1
            near = (to_edge[sel] < max(m, 2.5 * half[i + 1])).mean()
            frame_like[i] |= near > 0.6
    total = areas.sum()
    cand = np.where(~frame_like & (areas >= 0.02 * total))[0]
    if len(cand) == 0:
        cand = np.arange(n - 1)
        frame_like[:] = False
    # prefer big and central
    cx = stats[1:, cv2.CC_STAT_LEFT] + stats[1:, cv2.CC_STAT_WIDTH] / 2
    cy = stats[1:, cv2.CC_STAT_TOP] + stats[1:, cv2.CC_STAT_HEIGHT] / 2
    dist = np.hypot((cx - w / 2) / w, (cy - h / 2) / h)  # 0 .. ~0.7
    score = areas * (1.0 - 0.6 * dist)
    main = cand[np.argmax(score[cand])]
    kept = {main}
    x0, y0 = stats[main + 1, 0], stats[main + 1, 1]
    x1, y1 = x0 + stats[main + 1, 2], y0 + stats[main + 1, 3]
    main_area = areas[main]
    changed = True
    while changed:
        changed = False
        size = max(x1 - x0, y1 - y0)
        for i in range(n - 1):
            if i in kept or frame_like[i]:
                continue
            a = areas[i]
            if a < 0.015 * main_area or a < 3:
                continue
            bx0, by0 = stats[i + 1, 0], stats[i + 1, 1]
            bx1, by1 = bx0 + stats[i + 1, 2], by0 + stats[i + 1, 3]
            gap = max(0, max(bx0 - x1, x0 - bx1, by0 - y1, y0 - by1))
            allowed = size * (0.15 + 0.5 * min(1.0, a / main_area))
            if gap <= allowed:
                kept.add(i)
                x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
                changed = True
    keep = np.zeros(n, bool)
    keep[[k + 1 for k in kept]] = True
    return keep[lab].astype(np.uint8)


SQUARE3 = np.ones((3, 3), np.uint8)  # the 3x3 square (segment and gate use it too)


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the distance transform on the stroke ridges."""
    if not mask.any():
        return 0.0
    m = cv2.copyMakeBorder(mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    dt = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    # (dt > 0 is m > 0: every stroke pixel is at least 1 from the background)
    ridge = (dt >= cv2.dilate(dt, SQUARE3)) & (dt > 0)
    vals = dt[ridge]
    if vals.size == 0:
        vals = dt[m > 0]
    return float(2.0 * median(vals))


def median(v: np.ndarray):
    """np.median of a 1-d array (the same value), without its generic-path overhead
    (a tenth of the segmenter's time went to np.median's generic path)."""
    k = v.size // 2
    if v.size % 2:
        return np.partition(v, k)[k]
    p = np.partition(v, (k - 1, k))
    return np.mean(p[k - 1:k + 1])


def _bbox(mask: np.ndarray):
    """(x0, y0, x1, y1) of the nonzero pixels, or None.

    cv2.boundingRect on the mask itself: no index arrays (np.nonzero on the
    160-px canonical mask was a fifth of a video crop's time)."""
    m = np.asarray(mask)
    if m.dtype == np.bool_:
        m = m.view(np.uint8)
    elif m.dtype != np.uint8:
        m = (m > 0).view(np.uint8)
    x, y, w, h = cv2.boundingRect(m)
    if w == 0 or h == 0:
        return None
    return x, y, x + w, y + h


def _disk(r: float) -> np.ndarray:
    d = max(1, int(round(2 * r)) | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))


_BANDS: dict[int, list[np.ndarray]] = {}


def _erode_disk(m: np.ndarray, r: float) -> np.ndarray:
    """``cv2.erode(m, _disk(r))`` of ``m`` bordered by empty pixels, cropped back to ``m``.

    No border is made: pixels outside ``m`` count as empty. That is the same
    pixel for pixel, whatever the border's width: a window reaching past the
    border also covers a border pixel (the disk's rows and columns are unbroken
    and centred), so its minimum is 0 either way. Large disks are eroded as the
    union of the rectangles their rows make (one per distinct row width, each as
    tall as the rows at least that wide): erosion by a union is the minimum of
    the erosions, and OpenCV erodes by a rectangle much faster than by an
    arbitrary shape of the same size.
    """
    k = _disk(r)
    d = k.shape[0]
    if d == 1:
        return m
    border = dict(borderType=cv2.BORDER_CONSTANT, borderValue=0)
    if d < 15:
        return cv2.erode(m, k, **border)
    bands = _BANDS.get(d)
    if bands is None:
        c = d // 2
        half = [int(np.flatnonzero(row).max()) - c if row.any() else -1 for row in k]
        bands = []
        for hw in sorted({v for v in half if v >= 0}):
            tall = max(abs(i - c) for i, v in enumerate(half) if v >= hw)
            bands.append(cv2.getStructuringElement(cv2.MORPH_RECT, (2 * hw + 1, 2 * tall + 1)))
        _BANDS[d] = bands
    out = cv2.erode(m, bands[0], **border)
    for b in bands[1:]:
        cv2.min(out, cv2.erode(m, b, **border), dst=out)
    return out


# (render's canonical masks are 160 px long, a little more after dilation, less after
# erosion, and reduce to 20 px: several hundred (length, reduced length) pairs occur, ~14 kB
# each at most; :func:`warm_up` builds the usual ones)
@functools.lru_cache(maxsize=2048)
def _blur_reduce(n: int, out: int, sigma: float) -> np.ndarray:
    """The (out, n) float32 matrix of ``cv2.resize(cv2.GaussianBlur(v, (0, 0), sigma), ...,
    interpolation=cv2.INTER_AREA)`` along one axis of length ``n`` made ``out`` long.

    Both steps are linear and separable, so together they are one such matrix
    per axis: the blur's from OpenCV's own kernel (of OpenCV's default size
    for float images) with its border (BORDER_REFLECT_101), the reduction's by
    reducing an identity matrix. Valid when the image's two axes are both
    reduced or both enlarged (OpenCV interpolates differently when they are
    mixed), as with :func:`render`'s one scale for both.
    """
    a = cv2.resize(np.eye(n, dtype=np.float32), (n, out), interpolation=cv2.INTER_AREA)
    if n > 1:  # (OpenCV does not blur along an axis of length 1)
        ksize = int(round(sigma * 4 * 2 + 1)) | 1
        k = cv2.getGaussianKernel(ksize, sigma, cv2.CV_32F).ravel()
        # blur[i, j]: the weight of pixel j in blurred pixel i; taps that fall
        # outside are reflected back in (BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n-2 n-1 | n-2 ...)
        j = np.arange(n)[:, None] + np.arange(ksize) - ksize // 2
        j = np.abs(j) % (2 * n - 2)
        j = np.where(j < n, j, 2 * n - 2 - j)
        blur = np.zeros((n, n), np.float32)
        np.add.at(blur, (np.arange(n).repeat(ksize), j.ravel()), np.tile(k, n))
        a = a @ blur
    a.flags.writeable = False  # shared by every caller through the cache
    return a


# the long sides a canonical mask has after its stroke width is adjusted (160 px, grown by
# up to a target stroke width when dilated, shrunk when a marker stroke is eroded): measured
# 128-168 px over the committed clips and held-out real, MNIST and empty ones
_WARM_LONG_SIDES = range(120, 181)
_CANON = BOX * 8  # render's canonical resolution: 8 px per final pixel


def warm_up() -> None:
    """Build :func:`render`'s reduction matrices for the sizes crops usually come in (once).

    Why: each (length, reduced length) pair's matrix is built on its first use, ~0.1 ms
    each, and a frame of a dozen new symbols needs two dozen new pairs: ~2.5 ms more
    on the first frame of a run, the one a user waits for. 779 pairs, ~60 ms, paid by a
    recogniser while it loads. A size outside these is built when it comes, as before.
    """
    global _warmed
    if _warmed:
        return
    sigma = BLUR * (_CANON / BOX)  # render's blur in canonical pixels, computed as there
    for long_side in _WARM_LONG_SIDES:
        s = BOX / long_side
        for n in range(1, long_side + 1):
            _blur_reduce(n, max(1, round(n * s)), sigma)
    _warmed = True


_warmed = False


def render(mask: np.ndarray, target_width: float = TARGET_WIDTH) -> np.ndarray:
    """Binary stroke mask (any size) -> MNIST-style float32 28x28 in [0, 1].

    The stroke width is brought toward MNIST's (``target_width`` px at the
    20-px scale) before the reduction, so a hairline survives and a marker
    stroke does not fill the box.
    """
    small = _reduced(mask, (BOX, BOX), target_width)
    return np.zeros((SIZE, SIZE), np.float32) if small is None else place_by_mass(small)


def render_wide(mask: np.ndarray, height: int = BOX, max_width: int = 2 * SIZE - 4,
                size: tuple[int, int] = (SIZE, 2 * SIZE), target_width: float = TARGET_WIDTH) -> np.ndarray:
    """A mark that may be two digits side by side -> float32 ``size`` (28x56) in [0, 1].

    As :func:`render`, but scaled by its height (``height`` px, MNIST's digit height)
    rather than its long side, up to ``max_width`` px wide: two digits keep their
    single digits' scale and stroke width (see :mod:`vidrec.pairs`).
    """
    small = _reduced(mask, (height, max_width), target_width)
    return np.zeros(size, np.float32) if small is None else place_by_mass(small, size)


def _reduced(mask: np.ndarray, box: tuple[int, int], target_width: float) -> np.ndarray | None:
    """The mask's ink brought to a canonical resolution (8 px per final px at the largest
    scale that fits ``box``, height and width), its stroke width toward ``target_width``
    final px, then blurred and area-reduced to fit ``box``: float32 in [0, 1], or None
    when the mask is empty."""
    bb = _bbox(mask)
    if bb is None:
        return None
    x0, y0, x1, y1 = bb
    m = mask[y0:y1, x0:x1].astype(np.uint8)
    bh, bw = box
    # bring the symbol to a canonical resolution (8 px per final px) first
    s = min(8 * bh / m.shape[0], 8 * bw / m.shape[1])
    if abs(s - 1) > 1e-9:
        size = (max(1, round(m.shape[1] * s)), max(1, round(m.shape[0] * s)))
        if s < 1:
            # keep thin lines: area-reduce, then anything a third covered is stroke
            m = np.greater(cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_AREA), 0.3).view(np.uint8)
        else:
            m = np.greater(cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_LINEAR), 0.5).view(np.uint8)
    px = _CANON / BOX  # canonical pixels per final pixel
    w = stroke_width(m)
    want = target_width * px
    if w < WIDTH_BAND[0] * want:
        pad = int(want) + 2
        m = cv2.copyMakeBorder(m, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        m = cv2.dilate(m, _disk((want - w) / 2))
    elif w > WIDTH_BAND[1] * want:
        r = (w - WIDTH_BAND[1] * want) / 2
        er = _erode_disk(m, r)
        # never erode a piece away entirely
        if cv2.countNonZero(er) > 0.3 * cv2.countNonZero(m):
            m = er
    bb = _bbox(m)
    x0, y0, x1, y1 = bb
    m = m[y0:y1, x0:x1].astype(np.float32)
    h, w_ = m.shape
    s = min(bh / h, bw / w_)
    size = (max(1, round(w_ * s)), max(1, round(h * s)))
    # anti-aliasing blur, then area reduction, as two small matrix products
    # (:func:`_blur_reduce`): the same picture to float rounding, in a fifth of the time
    small = _blur_reduce(h, size[1], BLUR * px) @ m @ _blur_reduce(w_, size[0], BLUR * px).T
    return np.clip(small, 0, 1)


def place_by_mass(small: np.ndarray, size: tuple[int, int] = (SIZE, SIZE)) -> np.ndarray:
    """A symbol at most ``size`` (28x28) -> float32 ``size`` with its centre of mass at the
    centre (kept inside the picture), as MNIST places its digits; all zeros for an empty one."""
    H, W = size
    out = np.zeros((H, W), np.float32)
    tot = small.sum()
    if tot <= 0:
        return out
    s64 = small.astype(np.float64)
    cy = s64.sum(axis=1) @ np.arange(small.shape[0], dtype=np.float64) / tot
    cx = s64.sum(axis=0) @ np.arange(small.shape[1], dtype=np.float64) / tot
    oy = int(round(H / 2 - cy))
    ox = int(round(W / 2 - cx))
    oy = min(max(oy, 0), H - small.shape[0])
    ox = min(max(ox, 0), W - small.shape[1])
    out[oy : oy + small.shape[0], ox : ox + small.shape[1]] = small
    return out


def stroke_mask(image: np.ndarray) -> np.ndarray:
    """Binary mask (uint8 0/1, at the image's own size) of the symbol's strokes."""
    gray = to_gray(image)
    m = _symbol_mask(gray)
    return cv2.resize(m, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)


def _symbol_mask(gray: np.ndarray, depth: int = 0) -> np.ndarray:
    """The symbol's stroke mask at working resolution (not the image's size).

    Polarity comes from the histogram's tail (:func:`dark_ink_prior`). When
    what is found is a solid patch, it is a light sheet held in a darker scene
    (the surround outnumbers the paper and fools the histogram): look again on
    the sheet alone. Then, when the symbol is small in the picture, redo the
    ink map on its neighbourhood, so a small digit in a big photo is measured
    at full detail.
    """
    H, W = gray.shape
    if H == 0 or W == 0:
        return np.zeros((H, W), np.uint8)
    work, s = _resize_long(gray, WORK)
    dark = _polarity(work)
    mask = _find(work, dark)
    if depth == 0 and _blob(mask) and not _spans(mask):
        x0, y0, x1, y1 = _bbox(_largest(mask))  # the sheet itself, not specks beside it
        mx, my = 0.03 * (x1 - x0), 0.03 * (y1 - y0)
        X0, Y0 = int((x0 + mx) / s), int((y0 + my) / s)
        X1, Y1 = int(np.ceil((x1 - mx) / s)), int(np.ceil((y1 - my) / s))
        if X1 - X0 > 4 and Y1 - Y0 > 4:
            return _symbol_mask(gray[Y0:Y1, X0:X1], depth + 1)
    if _thinness(mask) > 0.35:
        # no pen stroke is that fat: pieces of paper found with the wrong
        # polarity (a sheet bigger than the background kernel); try the other
        other = _find(work, not dark)
        if _thinness(other) < 0.5 * _thinness(mask):
            dark, mask = not dark, other
    bb = _bbox(mask)
    if bb is None:
        return np.zeros(work.shape, np.uint8)
    x0, y0, x1, y1 = (v / s for v in bb)
    size = max(x1 - x0, y1 - y0)
    if size < 0.6 * max(H, W):
        pad = 0.35 * size + 2
        X0, Y0 = int(max(0, x0 - pad)), int(max(0, y0 - pad))
        X1, Y1 = int(min(W, x1 + pad + 1)), int(min(H, y1 + pad + 1))
        work2, _ = _resize_long(gray[Y0:Y1, X0:X1], WORK)
        m2 = _find(work2, dark)
        if m2.any():
            return m2
    return mask


def _mask_at_work(mask: np.ndarray) -> np.ndarray:
    m = (np.asarray(mask) > 0).astype(np.uint8)
    if m.ndim == 3:
        m = m[..., 0]
    h, w = m.shape
    if max(h, w) > WORK:
        s = WORK / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        m = (cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.2).astype(np.uint8)
    return m


def normalize_crop(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """One symbol's picture -> float32 (28, 28) in [0, 1], white strokes on black, MNIST-style.

    ``image``: uint8 gray, BGR or BGRA, any size, either polarity. ``mask``:
    optional uint8/bool HxW marking the stroke pixels (the video segmenter has
    it); then no threshold is applied. Returns all zeros when no symbol is found
    (a blank or featureless picture): callers treat that as "nothing there".
    """
    if mask is not None:
        m = _mask_at_work(mask)
        if m.shape[:2] and m.any():
            m = select_symbol(m)
        return render(m)
    img = np.asarray(image)
    if img.size == 0:
        return np.zeros((SIZE, SIZE), np.float32)
    return render(_symbol_mask(to_gray(img)))


def to_model_input(crops, info, size: tuple[int, int] = (SIZE, SIZE)) -> "torch.Tensor":
    """Crops of ``size`` (28x28; the pair reader's 28x56) in [0, 1] (list or array) ->
    normalised float32 tensor [N, 1, *size] for ``info``'s model."""
    import torch

    arr = np.asarray(crops, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or arr.shape[1:] != tuple(size):
        raise ValueError(f"expected {size[0]}x{size[1]} crops, got shape {arr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(arr)).unsqueeze(1)
    return (x - float(info.mean)) / float(info.std)
